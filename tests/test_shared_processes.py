"""Three mock processes that share one state through a real Redis (`--store redis://...`),
started with the same options, behave as one mock: the 32 clients of test_concurrency spread
over them break no rule and the processes agree on the state exactly; a due schedule runs once;
a fault rule's count, the journal and the coverage are shared; and nothing acknowledged is lost
when a process is killed, or when Redis restarts, under load. No read is answered at an instant
before a clock move that was acknowledged."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis
from fixture_ids import MYSQL, PERCONA, SCHEDULABLE
from redis_support import RedisServer
from support import MockProcess
from test_concurrency import (
    OPTIONS,
    STATE,
    TIMING,
    TOKEN,
    Record,
    check_rules,
    every_kind_seen,
    run_clients,
    settle,
)

from mockserver.state.clock import parse_timestamp

PROCESSES = 3
ROUNDS = 6  # of the 32 clients (test_concurrency's one process: 12)
WAIT_SECONDS = 30.0  # for a condition polled (these machines are slow and loaded)
POLL = 0.02


@contextmanager
def mocks(url: str, *options: str, count: int = PROCESSES) -> Iterator[list[MockProcess]]:
    """`count` mock processes on the Redis at `url`, with the same options, started at once;
    killed at the end (their output printed when the test failed, for its report)."""
    with ThreadPoolExecutor(count) as pool:
        futures = [pool.submit(MockProcess, "--store", url, *options) for _ in range(count)]
    started = [future.result() for future in futures if future.exception() is None]
    try:
        for future in futures:
            future.result()  # a process that did not start fails the test here
        yield started
    except BaseException:
        for number, server in enumerate(started):
            print(f"--- mock process {number} ({server.url}), its last lines:")
            print("".join(server.output[-30:]))
        raise
    finally:
        for server in started:
            server.kill()


def wait_for(condition: Callable[[], Any], what: str, seconds: float = WAIT_SECONDS) -> Any:
    """`condition()` once it is true, polled; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(POLL)
    return result


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    """Every call at once, each in a thread of its own, started together; their results."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait(WAIT_SECONDS)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


# -- the 32 clients ----------------------------------------------------------------------------


@pytest.mark.slow
def test_32_clients_over_3_processes_lose_nothing_and_the_processes_agree(redis_url: str) -> None:
    with mocks(redis_url, *OPTIONS, *TIMING) as servers:
        urls = [server.url for server in servers]
        assert httpx.put(f"{urls[0]}/__mock/state", json=STATE).status_code == 200
        record, counts = run_clients(urls, ROUNDS, meanwhile=every_kind_seen)
        state, journal = settle(urls)  # the same documents from every process
    check_rules(record, counts, state, journal)
    assert not record.unsure_creates and not record.unsure_deletes  # no 503 either


# -- a schedule, a fault rule and the journal, shared ------------------------------------------


@pytest.mark.slow
def test_a_due_schedule_runs_once_whichever_processes_read_it(redis_url: str) -> None:
    with mocks(redis_url, *TIMING) as servers:
        urls = [server.url for server in servers]
        member = {"action": "backup", "day_of_week": 7, "hour": 3, "minute": 15}
        body = {"schedule": member | {"instance_id": SCHEDULABLE}}
        made = httpx.post(f"{urls[0]}/v1.0/1234/schedules", json=body, headers=TOKEN)
        assert made.status_code == 202, made.text
        schedule = made.json()["schedule"]
        # The clock moved, on another process, to just past the first run.
        now = httpx.get(f"{urls[1]}/__mock/clock").json()["epoch"]
        due = parse_timestamp(schedule["next_run"]) - now + 1
        moved = httpx.post(f"{urls[1]}/__mock/clock", json={"advance_seconds": due})
        assert moved.status_code == 200, moved.text
        made_by = f"Made by schedule {schedule['id']}."
        names: set[str] = set()

        def scheduled(url: str) -> list[str]:
            listed = httpx.get(f"{url}/v1.0/1234/backups", headers=TOKEN, timeout=30)
            assert listed.status_code == 200, listed.text
            mine = [b for b in listed.json()["backups"] if b["description"] == made_by]
            names.update(b["name"] for b in mine)
            return [b["id"] for b in mine]

        # Every process reads the run at once, 8 times over: whichever read comes first makes it.
        # (Reads only: with writes beside them, a read may answer before the clock move, see
        # test_no_read_is_answered_before_a_clock_move_that_was_acknowledged.)
        seen = in_parallel([lambda url=url: scheduled(url) for url in urls * 8])
        state, _ = settle(urls)  # and the processes agree on everything
    assert all(len(ids) == 1 for ids in seen), seen
    assert len({ids[0] for ids in seen}) == 1, seen
    assert names == {f"scheduled-{schedule['next_run'][:16]}Z"}, names
    runs = [b["id"] for b in state["accounts"]["1234"]["backups"] if b["description"] == made_by]
    assert runs == seen[0], (runs, seen[0])


@pytest.mark.slow
def test_a_fault_rule_counted_once_over_the_processes(redis_url: str) -> None:
    with mocks(redis_url) as servers:
        urls = [server.url for server in servers]
        rule = {"path": "/v1.0/1234/backups", "method": "GET", "status": 503, "count": 5}
        added = httpx.post(f"{urls[0]}/__mock/faults", json=rule)
        assert added.status_code == 201, added.text

        def get(url: str) -> tuple[int, str]:
            answer = httpx.get(f"{url}/v1.0/1234/backups", headers=TOKEN, timeout=30)
            return answer.status_code, answer.text

        answers = in_parallel([lambda url=url: get(url) for url in urls * 20])
        rules = [httpx.get(f"{url}/__mock/faults").json()["rules"] for url in urls]
    statuses = Counter(status for status, _ in answers)
    assert statuses == {503: 5, 200: 55}, statuses
    injected = "Injected fault: 503 for GET /v1.0/1234/backups."
    assert all(injected in text for status, text in answers if status == 503), answers
    assert rules == [[]] * PROCESSES, rules  # used up, everywhere


@pytest.mark.slow
def test_the_journal_has_every_request_of_every_process(redis_url: str) -> None:
    with mocks(redis_url, "--journal-size", "1000") as servers:
        urls = [server.url for server in servers]
        # Reads of 60 paths no other request has, and 30 creates (replayed by every process:
        # recorded once all the same).
        reads = [(url, "GET", f"/v1.0/1234/backups/{uuid.uuid4()}") for url in urls * 20]
        writes = [(url, "POST", "/v1.0/1234/backups") for url in urls * 10]
        body = {"backup": {"name": "journal", "instance": SCHEDULABLE}}

        def send(url: str, method: str, path: str) -> tuple[str, str, int]:
            sent = body if method == "POST" else None
            answer = httpx.request(method, url + path, json=sent, headers=TOKEN, timeout=30)
            return method, path, answer.status_code

        calls = [*reads, *writes]
        answers = in_parallel([lambda call=call: send(*call) for call in calls])
        assert {status for _, _, status in answers} <= {202, 404, 422}, answers

        def journal(url: str) -> list[dict[str, Any]]:
            found = httpx.get(f"{url}/__mock/requests", params={"path": "/v1.0/*"})
            assert found.status_code == 200, found.text
            entries: list[dict[str, Any]] = found.json()["requests"]
            return entries

        # An entry is recorded once its answer is sent: read until the last are there.
        wait_for(lambda: len(journal(urls[0])) >= len(calls), "every request journaled")
        journals = [journal(url) for url in urls]
        coverages = [httpx.get(f"{url}/__mock/coverage").json() for url in urls]
    for entries in journals:
        assert Counter((e["method"], e["path"], e["status"]) for e in entries) == Counter(answers)
        numbers = [e["seq"] for e in entries]
        assert numbers == sorted(set(numbers)), numbers  # unique, oldest first
        assert entries == journals[0]
    # The coverage is one too: every answer counted once.
    assert all(coverage == coverages[0] for coverage in coverages), coverages
    assert sum(o["answers"] for o in coverages[0]["operations"]) == len(calls), coverages[0]


@pytest.mark.slow
def test_no_read_is_answered_before_a_clock_move_that_was_acknowledged(redis_url: str) -> None:
    with mocks(redis_url, *TIMING, count=2) as (first, second):
        made = httpx.post(
            f"{first.url}/v1.0/1234/backups",
            json={"backup": {"name": "made before", "instance": MYSQL}},
            headers=TOKEN,
        )
        assert made.status_code == 202, made.text
        # The next create answers 1.5 s late (latency only): its process holds the lock so long.
        rule = {"method": "POST", "path": "/v1.0/1234/backups", "status": None}
        rule |= {"latency_ms": 1500, "count": 1}
        assert httpx.post(f"{first.url}/__mock/faults", json=rule).status_code == 201
        assert httpx.get(f"{second.url}/__mock/clock").status_code == 200  # has the rule
        moved = httpx.post(f"{first.url}/__mock/clock", json={"advance_seconds": 3600})
        assert moved.status_code == 200, moved.text
        # The second process, which has had no request since, makes the slow create; once it
        # holds the write lock (a read before would raise the shared clock past the move, and
        # hide the bug), the first process is read all the while.
        with ThreadPoolExecutor(1) as slow, redis.Redis.from_url(redis_url) as store:
            create = slow.submit(
                httpx.post,
                f"{second.url}/v1.0/1234/backups",
                json={"backup": {"name": "slow", "instance": PERCONA}},
                headers=TOKEN,
                timeout=30,
            )
            wait_for(lambda: store.exists("mockserver:lock") or create.done(), "the slow write")
            instants = []
            while not create.done():
                instants.append(httpx.get(f"{first.url}/__mock/clock").json()["epoch"])
            assert create.result().status_code == 202
    assert min(instants) >= moved.json()["epoch"], (min(instants), moved.json()["epoch"])


# -- a process killed, Redis restarted -----------------------------------------------------------

# With a process or Redis gone for a while, these answers happen all the same (422s may not).
FAILING_KINDS = [("create", 202), ("create", 413), ("delete", 202)]
# Answers that were no 503 before a process or Redis goes, and after it went (or came back):
# the clients go on past their rounds until then.
LOAD_BEFORE = 100
LOAD_AFTER = 50


def acknowledged(record: Record) -> int:
    """The answers that were no 503."""
    with record.lock:
        return sum(n for (_, status), n in record.statuses.items() if status != 503)


@pytest.mark.slow
def test_a_process_killed_under_load_loses_nothing_acknowledged(redis_url: str) -> None:
    with mocks(redis_url, *OPTIONS, *TIMING) as servers:
        urls = [server.url for server in servers]
        assert httpx.put(f"{urls[0]}/__mock/state", json=STATE).status_code == 200

        def kill_one(record: Record) -> None:
            wait_for(lambda: acknowledged(record) >= LOAD_BEFORE, f"{LOAD_BEFORE} answers")
            servers[2].kill()  # SIGKILL, while its clients (a third) are busy
            # The load goes on, on the survivors.
            wanted = acknowledged(record) + LOAD_AFTER
            wait_for(lambda: acknowledged(record) >= wanted, f"{wanted} answers")

        record, counts = run_clients(urls, ROUNDS, tolerant=True, meanwhile=kill_one)
        survivors = urls[:2]
        state, journal = settle(survivors)  # they agree
        # The clients of the killed process met it cut off, then gone.
        assert record.broken, "the kill broke no connection"
        check_rules(record, counts, state, journal, allowed={503}, kinds=FAILING_KINDS)
        # A process started afterwards, with the same options, replays the log to the same state
        # (and reads the same journal).
        with mocks(redis_url, *OPTIONS, *TIMING, count=1) as (late,):
            settle([*survivors, late.url])


@pytest.mark.slow
def test_redis_restarted_under_load_loses_nothing_acknowledged(
    redis_server: RedisServer, redis_url: str
) -> None:
    with mocks(redis_url, *OPTIONS, *TIMING) as servers:
        urls = [server.url for server in servers]
        assert httpx.put(f"{urls[0]}/__mock/state", json=STATE).status_code == 200

        def restart_redis(record: Record) -> None:
            # Stopped (SIGTERM), killed (SIGKILL: every write it acknowledged is in its
            # append-only file), stopped again; each time started again on its port and files,
            # once the clients had more answers. Three outages, three chances to cut a write
            # off between its lock and its log: its fate unknown, its process starts over.
            wanted = LOAD_BEFORE
            for stop in (redis_server.stop, redis_server.kill, redis_server.stop):
                wait_for(lambda: acknowledged(record) >= wanted, f"{wanted} answers")  # noqa: B023
                refused = sum(record.unavailable.values())
                stop()
                try:
                    wait_for(lambda: sum(record.unavailable.values()) > refused, "a 503")  # noqa: B023
                finally:
                    redis_server.start()
                wanted = acknowledged(record) + LOAD_AFTER
            # The processes recover by themselves: the clients are answered again.
            wait_for(lambda: acknowledged(record) >= wanted, f"{wanted} answers, at the end")

        record, counts = run_clients(urls, ROUNDS, tolerant=True, meanwhile=restart_redis)
        state, journal = settle(urls)  # every process answers, and they agree
    assert set(record.unavailable) == {"serviceUnavailable"}, record.unavailable
    assert not record.broken, record.broken  # the mocks stayed up: every request was answered
    check_rules(record, counts, state, journal, allowed={503}, kinds=FAILING_KINDS)


@pytest.mark.slow
def test_workers_serve_one_port_and_a_killed_worker_is_started_again(redis_url: str) -> None:
    def workers(server: MockProcess) -> list[int]:
        found = (re.search(r"Started server process \[(\d+)\]", line) for line in server.output)
        return [int(match.group(1)) for match in found if match]

    announced = r"mockserver listening on (http://\S+)"
    with MockProcess("--workers", "2", "--store", redis_url, ready_line=announced) as server:
        wait_for(lambda: len(workers(server)) == 2, "two workers started")
        made = httpx.post(
            f"{server.url}/v1.0/1234/backups",
            json={"backup": {"name": "by a worker", "instance": MYSQL}},
            headers=TOKEN,
        )
        assert made.status_code == 202, made.text
        backup = made.json()["backup"]["id"]
        os.kill(workers(server)[0], signal.SIGKILL)
        wait_for(lambda: len(workers(server)) == 3, "the killed worker started again")
        assert any("starting it again" in line for line in server.output)
        # Whichever worker answers (the new one replays the log), the backup is there.
        for _ in range(20):
            shown = httpx.get(f"{server.url}/v1.0/1234/backups/{backup}", headers=TOKEN)
            assert shown.status_code == 200, shown.text
        assert server.stop() == 0
