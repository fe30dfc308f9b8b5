"""A state shared through Redis (`--store`), with two mocks in this process on one real Redis:
what one answers, the other sees; Redis down is a documented 503 that heals by itself; a write
whose fate in the log is unknown is not half-kept; an emptied Redis starts every mock over."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
import redis
from fixture_ids import SCHEDULABLE
from redis_support import RedisServer
from starlette.testclient import TestClient

import mockserver.app
import mockserver.shared.wire
from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.cli import main, settings_from
from mockserver.options import UsageError
from mockserver.shared import PREFIX
from mockserver.shared.log import START, CommandLog, OtherRules
from mockserver.shared.renewer import Renewer
from mockserver.shared.replica import Replica
from mockserver.shared.tickets import Tickets
from mockserver.shared.wire import Wire
from mockserver.state.clock import Clock
from mockserver.state.ids import Ids

TOKEN = {"X-Auth-Token": "t"}
BASE = "/v1.0/1234"
FROZEN_AT = 1_800_000_000.0


def active_instance(client: TestClient) -> str:
    instances = client.get(f"{BASE}/instances", headers=TOKEN).json()["instances"]
    return next(i["id"] for i in instances if i["status"] == "ACTIVE" and "ha_id" not in i)


def create(client: TestClient, instance: str) -> Any:
    body = {"backup": {"name": "shared", "instance": instance}}
    return client.post(f"{BASE}/backups", json=body, headers=TOKEN)


@pytest.fixture
def pair(redis_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    """Two mocks on one emptied Redis, each with a client."""
    settings = Settings(frozen_clock=True, store=redis_url)
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        yield one, two


def replica_of(mock: Mock) -> Replica:
    assert mock.replica is not None
    return mock.replica


def test_a_backup_created_through_one_mock_is_seen_and_moves_on_in_the_other(
    pair: tuple[TestClient, TestClient],
) -> None:
    one, two = pair
    backup = create(one, active_instance(one)).json()["backup"]
    shown = two.get(f"{BASE}/backups/{backup['id']}", headers=TOKEN).json()["backup"]
    assert shown == backup  # NEW, at the same instant, with the same id
    assert two.post("/__mock/clock", json={"advance_seconds": 5}).status_code == 200
    assert one.get(f"{BASE}/backups/{backup['id']}", headers=TOKEN).json()["backup"]["status"] == (
        "COMPLETED"
    )
    assert one.get("/__mock/state").json() == two.get("/__mock/state").json()


def test_frozen_mocks_share_one_frozen_instant(pair: tuple[TestClient, TestClient]) -> None:
    one, two = pair
    assert one.get("/__mock/clock").json() == two.get("/__mock/clock").json()


def test_a_refused_write_is_not_logged_and_a_fault_rule_counts_across_mocks(
    pair: tuple[TestClient, TestClient],
) -> None:
    one, two = pair
    before = one.get("/__mock/state").json()
    assert create(two, "00000000-0000-4000-8000-000000000000").status_code == 404
    rule = {"path": f"{BASE}/backups", "method": "GET", "status": 503, "count": 3}
    assert one.post("/__mock/faults", json=rule).status_code == 201
    statuses = [c.get(f"{BASE}/backups", headers=TOKEN).status_code for c in (two, one) * 3]
    assert statuses == [503, 503, 503, 200, 200, 200]
    assert one.get("/__mock/faults").json()["rules"] == []
    assert two.get("/__mock/faults").json()["rules"] == []
    assert two.get("/__mock/state").json() == before


def test_rate_limits_count_the_requests_of_both_mocks(redis_url: str) -> None:
    settings = Settings(frozen_clock=True, store=redis_url, rate_limits=True)
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        unknown = f"{BASE}/backups/00000000-0000-4000-8000-000000000000"
        statuses = [c.delete(unknown, headers=TOKEN).status_code for c in (one, two) * 11]
    assert statuses == [404] * 20 + [413, 413]  # deletes: 20 a minute, for both together


def test_the_journal_is_one_for_both_mocks_and_numbered_in_order(
    pair: tuple[TestClient, TestClient],
) -> None:
    one, two = pair
    assert one.delete("/__mock/requests").status_code == 204
    for client in (one, two, one, two):
        client.get(f"{BASE}/backups", headers=TOKEN)
    entries = two.get("/__mock/requests", params={"path": f"{BASE}/backups"}).json()["requests"]
    assert len(entries) == 4
    seqs = [entry["seq"] for entry in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4


def test_a_read_waits_for_one_round_trip_and_sends_its_journal_entry_without_waiting(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock = create_app(Settings(frozen_clock=True, store=redis_url))
    wire = replica_of(mock).tickets.wire
    with TestClient(mock) as client:
        backup = create(client, active_instance(client)).json()["backup"]["id"]
        waited: list[object] = []
        later: list[object] = []
        monkeypatch.setattr(wire, "run", partial(counted, waited, wire.run))
        monkeypatch.setattr(wire, "later", partial(counted, later, wire.later))
        assert client.get(f"{BASE}/backups/{backup}", headers=TOKEN).status_code == 200
    assert len(waited) == 1  # the sync
    assert len(later) == 1  # the journal entry


def counted(calls: list[object], call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    calls.append(args)
    return call(*args, **kwargs)


def test_a_read_answered_before_the_journal_is_read_is_in_it_though_its_entry_is_late(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(frozen_clock=True, store=redis_url)
    late, other = create_app(settings), create_app(settings)
    wire = replica_of(late).tickets.wire
    flush = wire.flush
    # The entry reaches Redis well after the answer left, as from a process that stalls.
    monkeypatch.setattr(wire, "flush", lambda batch: threading.Timer(0.5, flush, [batch]).start())
    with TestClient(late) as one, TestClient(other) as two:
        assert one.get(f"{BASE}/flavors", headers=TOKEN).status_code == 200
        entries = two.get("/__mock/requests").json()["requests"]
        assert entries[-1]["path"] == f"{BASE}/flavors"


def test_a_read_whose_entry_never_comes_holds_up_the_journal_for_a_moment_only(
    redis_url: str, pair: tuple[TestClient, TestClient]
) -> None:
    one, two = pair
    assert one.get(f"{BASE}/flavors", headers=TOKEN).status_code == 200
    # A read's sync took a ticket, and its process was killed before its entry was sent.
    direct = redis.Redis.from_url(redis_url)
    lost = Tickets(Wire(direct), PREFIX)
    log = CommandLog(direct, lost.wire, [], lost.keys, PREFIX)
    ticket = log.sync(START, time.time(), ticket=True).ticket
    assert ticket is not None and direct.hexists(lost.keys[1], ticket)
    entries = two.get("/__mock/requests").json()["requests"]
    assert entries[-1]["path"] == f"{BASE}/flavors"
    assert not direct.hexists(lost.keys[1], ticket)  # given up, for every later reader


def test_entries_still_waiting_to_be_sent_are_sent_when_the_mock_shuts_down(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mockserver.shared.wire, "FLUSH_AFTER", 3600.0)  # only at shutdown
    settings = Settings(frozen_clock=True, store=redis_url)
    with TestClient(create_app(settings)) as client:
        assert client.get(f"{BASE}/flavors", headers=TOKEN).status_code == 200
    with TestClient(create_app(settings)) as client:
        entries = client.get("/__mock/requests").json()["requests"]
    assert entries[-1]["path"] == f"{BASE}/flavors"


def test_an_entry_sent_without_waiting_is_recorded_after_redis_forgot_its_script(
    redis_url: str,
) -> None:
    with TestClient(create_app(Settings(frozen_clock=True, store=redis_url))) as client:
        assert client.get(f"{BASE}/flavors", headers=TOKEN).status_code == 200
        redis.Redis.from_url(redis_url).script_flush()  # as a restarted Redis has
        assert client.get(f"{BASE}/backups", headers=TOKEN).status_code == 200
        entries = client.get("/__mock/requests").json()["requests"]
        assert [entry["path"] for entry in entries[-2:]] == [f"{BASE}/flavors", f"{BASE}/backups"]


def test_the_coverage_counts_the_answers_of_both_mocks(
    pair: tuple[TestClient, TestClient],
) -> None:
    one, two = pair
    assert one.delete("/__mock/coverage").status_code == 204
    for client in (one, two, two):
        client.get(f"{BASE}/backups", headers=TOKEN)
    one.get("/v1.0/1234/nowhere", headers=TOKEN)
    create(two, "00000000-0000-4000-8000-000000000000")  # 404, a write's entry
    for client in (one, two):
        coverage = client.get("/__mock/coverage").json()
        rows = {row["operation"]: row for row in coverage["operations"]}
        assert rows["getBackups"]["statuses"]["200"] == 3
        assert rows["createBackup"]["statuses"]["404"] == 1
        assert coverage["unmatched"]["count"] == 1
        assert coverage["unmatched"]["examples"][0]["path"] == "/v1.0/1234/nowhere"


def test_redis_down_is_a_documented_503_and_the_mock_recovers_by_itself(
    redis_server: RedisServer, redis_url: str
) -> None:
    with TestClient(create_app(Settings(frozen_clock=True, store=redis_url))) as client:
        instance = active_instance(client)
        redis_server.stop()
        try:
            for answer in (client.get(f"{BASE}/backups", headers=TOKEN), create(client, instance)):
                assert answer.status_code == 503
                fault = answer.json()["serviceUnavailable"]
                assert fault["code"] == 503 and "Redis" in fault["message"]
        finally:
            redis_server.start()
        # Back by itself: no restart of the mock (its pause after a failure is short).
        created = poll(lambda: create(client, instance), lambda r: r.status_code == 202)
        assert client.get(f"{BASE}/backups/{created.json()['backup']['id']}", headers=TOKEN)


def test_a_write_that_outlives_its_lock_is_kept_nowhere(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(frozen_clock=True, store=redis_url)
    slow, other = create_app(settings), create_app(settings)
    with TestClient(slow) as one, TestClient(other) as two:
        instance = active_instance(one)
        rule = {"path": f"{BASE}/backups", "method": "POST", "latency_ms": 300, "count": 1}
        assert one.post("/__mock/faults", json=rule).status_code == 201
        # The lock expires while the fault's latency holds the write, its renewal held off as
        # if the process had stalled.
        replica_of(slow).commands.lock_ms = 50
        monkeypatch.setattr(Renewer, "hold", lambda self, token: None)
        answer = create(one, instance)
        assert answer.status_code == 503
        # Not in the log: not in the other mock, and the one that made it started over.
        assert one.get("/__mock/state").json() == two.get("/__mock/state").json()
        assert create(two, instance).status_code == 202  # the instance was never BACKUP


def test_a_write_longer_than_its_lock_keeps_it_by_renewing_it(redis_url: str) -> None:
    settings = Settings(frozen_clock=True, store=redis_url)
    slow, other = create_app(settings), create_app(settings)
    # Renewed every 1/3 s through 2.5 s: a loaded machine may delay a renewal by 2/3 s.
    replica_of(slow).commands.lock_ms = 1000
    with TestClient(slow) as one, TestClient(other) as two:
        rule = {"path": f"{BASE}/backups", "method": "POST", "latency_ms": 2500, "count": 1}
        assert one.post("/__mock/faults", json=rule).status_code == 201
        answer = create(one, active_instance(one))
        assert answer.status_code == 202, answer.text
        backup = answer.json()["backup"]["id"]
        assert two.get(f"{BASE}/backups/{backup}", headers=TOKEN).status_code == 200


def test_a_write_that_holds_the_event_loop_keeps_its_lock(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large state replaced holds the loop for seconds: the lock is renewed from a thread."""
    settings = Settings(frozen_clock=True, store=redis_url)
    slow, other = create_app(settings), create_app(settings)
    replica_of(slow).commands.lock_ms = 1000  # renewed every 1/3 s, as above
    replace = slow.regions.replace

    def blocking(document: dict[str, Any]) -> None:
        time.sleep(2.5)  # the loop held, as by a state of many backups
        replace(document)

    with TestClient(slow) as one, TestClient(other) as two:
        document = one.get("/__mock/state").json()
        document["accounts"]["1234"]["backups"] = []
        monkeypatch.setattr(slow.regions, "replace", blocking)
        assert one.put("/__mock/state", json=document).status_code == 200
        assert two.get(f"{BASE}/backups", headers=TOKEN).json()["backups"] == []


def test_an_emptied_redis_starts_every_mock_over(
    redis_server: RedisServer, pair: tuple[TestClient, TestClient]
) -> None:
    one, two = pair
    fresh = one.get("/__mock/state").json()
    create(one, active_instance(one))
    assert two.get("/__mock/state").json() != fresh
    redis_server.flush()
    assert one.get("/__mock/state").json() == two.get("/__mock/state").json() == fresh


def test_a_mock_started_later_replays_the_log_from_its_start(redis_url: str) -> None:
    settings = Settings(frozen_clock=True, store=redis_url)
    with TestClient(create_app(settings)) as first:
        for _ in range(3):
            create(first, active_instance(first))
            first.post("/__mock/clock", json={"advance_seconds": 10})
        with TestClient(create_app(settings)) as late:
            assert late.get("/__mock/state").json() == first.get("/__mock/state").json()
            assert late.get("/__mock/clock").json() == first.get("/__mock/clock").json()


def test_a_mock_with_other_options_than_the_shared_state_is_refused(
    redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    create_app(Settings(store=redis_url, quota=50))
    with pytest.raises(OtherRules, match="other options"):
        create_app(Settings(store=redis_url, quota=3))
    for workers in ("1", "2"):  # with workers, refused before any is started
        argv = ["--store", redis_url, "--quota", "3", "--port", "0", "--workers", workers]
        assert main(argv) == 2
        assert "FLUSHDB" in capsys.readouterr().err


def test_a_replay_that_fails_where_it_succeeded_is_logged(
    pair: tuple[TestClient, TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    one, two = pair
    app = two.app
    assert isinstance(app, Mock)
    app.regions.quota = 0  # as if started with another quota, behind the digest's back
    create(one, active_instance(one))
    with caplog.at_level("ERROR", logger="mockserver"):
        two.get(f"{BASE}/backups", headers=TOKEN)
    assert "answered 413 here, where it succeeded" in caplog.text


def test_a_scheduled_run_has_the_same_id_whenever_and_wherever_it_is_made() -> None:
    """Runs belong to no request: any process may be the first to make one (`ids.derived`).
    Two mocks on clocks frozen at one instant hold the same schedule; one is read 8 days later
    (its first full backup made, on its day of the week), the other 10 days later: the runs of
    the first are the same backups in the second."""
    mocks = []
    for _ in range(2):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(mockserver.app, "Clock", partial(Clock, source=lambda: FROZEN_AT))
            mocks.append(create_app(Settings(frozen_clock=True)))
    with TestClient(mocks[0]) as first, TestClient(mocks[1]) as second:
        schedule = {"action": "backup", "day_of_week": 0, "hour": 1, "minute": 0}
        body = {"schedule": {**schedule, "instance_id": SCHEDULABLE}}
        made = first.post(f"{BASE}/schedules", json=body, headers=TOKEN)
        assert made.status_code == 202, made.text
        assert second.put("/__mock/state", json=first.get("/__mock/state").json()).is_success
        runs = []
        for client, days in ((first, 8), (second, 10)):
            client.post("/__mock/clock", json={"advance_seconds": days * 86_400})
            listed = client.get(f"{BASE}/instances/{SCHEDULABLE}/backups", headers=TOKEN)
            runs.append([b["id"] for b in listed.json()["backups"] if b["is_automated"]])
    assert runs[0] and set(runs[0]) < set(runs[1])


def test_seeded_ids_are_the_same_every_time() -> None:
    ids = Ids()
    with ids.seeded(42):
        first = [ids.new(), ids.new()]
    with ids.seeded(42):
        assert [ids.new(), ids.new()] == first
    assert ids.new() not in first


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "2"], "--workers 2 needs --store"),
        (["--workers", "0", "--store", "redis://x"], "--workers must be at least 1"),
        (["--store", "http://x"], "expected redis://"),
        (["--store", "redis://x", "--upstream", "http://y"], "cannot be used together"),
        (["--store", "redis://x", "--state-file", "s.json"], "PUT /__mock/state"),
    ],
)
def test_shared_state_options_that_cannot_work_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        settings_from(argv, {})


def poll(call: Callable[[], Any], done: Callable[[Any], bool], seconds: float = 20.0) -> Any:
    """Call until `done(answer)`, for at most `seconds`; the last answer."""
    deadline = time.monotonic() + seconds
    while True:
        answer = call()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def test_the_write_lock_goes_to_waiters_in_the_order_they_asked(redis_url: str) -> None:
    mock = create_app(Settings(store=redis_url))
    commands = replica_of(mock).commands
    assert commands.lock(START, 0.0, "first") is not None
    assert commands.lock(START, 0.0, "second") is None  # queued
    assert commands.lock(START, 0.0, "third") is None  # queued behind it
    commands.unlock("first")
    assert commands.lock(START, 0.0, "third") is None  # free, but not its turn
    assert commands.lock(START, 0.0, "second") is not None
    commands.unlock("second")
    assert commands.lock(START, 0.0, "third") is not None


def test_a_waiter_that_stopped_asking_loses_its_turn(redis_url: str) -> None:
    mock = create_app(Settings(store=redis_url))
    commands = replica_of(mock).commands
    assert commands.lock(START, 0.0, "holder") is not None
    assert commands.lock(START, 0.0, "gone") is None  # queued, then never asks again
    commands.unlock("holder")
    # A second after its last asking, the next one takes the lock.
    assert poll(lambda: commands.lock(START, 0.0, "next"), lambda got: got is not None, 10.0)
