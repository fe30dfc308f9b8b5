"""The validating proxy (`mockserver --upstream`) in front of each broken variant of the mock,
each served as a process: in the traffic an ordinary consumer sends, the proxy finds the
violation the variant makes, or `EXPECTED` says why no check of single exchanges can see it.

Every upstream gets one fixed scenario (`ordinary_traffic`): the requests a consumer of the API
ordinarily sends, with a valid token, two ordinary mistakes among them (a create with an invalid
body, a request without its token). In every run the proxy must find those two mistakes; beyond
them it must find nothing against a true mock, the rules `EXPECTED` names against a variant it
`Shows`, and nothing against a variant `Hidden` from it (so the table must change if the proxy
ever can see one: what hides those is a rule across requests, such as a cascade, a lifecycle,
the quota or pagination, which only `contract-tests`' stateful checks find, a mock-only feature,
or a rule the contract states in prose and the spec's schemas do not).
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import broken_mocks
import httpx
import pytest
from broken_wrapper import ACCOUNT, OTHER_ACCOUNT, TOKEN
from fixture_ids import HA, MYSQL, PERCONA, PERCONA_BACKUP, SCHEDULABLE, SHUTDOWN
from proxy_support import serving_proxy
from support import MockProcess

pytestmark = pytest.mark.slow

API = f"/v1.0/{ACCOUNT}"
COPIES = f"/iad{API}"  # the region the scenario copies to (the mock's own is DFW)
UNKNOWN_BACKUP = "00000000-0000-4000-8000-000000000000"
STARTING = 60.0  # seconds a variant's process may take to start
STARTING_AT_ONCE = 3  # processes starting at once (each imports the mock: CPU-bound)
SCENARIOS_AT_ONCE = 6  # scenarios run at once (their proxies share this process)


@dataclass(frozen=True)
class Shows:
    """The proxy finds these rules broken in the scenario's traffic (others may appear)."""

    rules: frozenset[str]


@dataclass(frozen=True)
class Hidden:
    """Why no passive check of single exchanges can see what the variant breaks."""

    reason: str


def shows(*rules: str) -> Shows:
    return Shows(frozenset(rules))


EXPECTED: dict[str, Shows | Hidden] = {
    "wrong-success-status": shows("answer-undocumented-status"),  # 200 for a POST's 202
    "missing-field": shows("answer-schema"),
    "wrong-type": shows("answer-schema"),
    "no-cascade": Hidden(
        "a cascade: the delete's 202 is valid; only listing after it shows the incremental "
        "backups kept (as full ones, each a valid backup)"
    ),
    "deleted-backup-still-visible": Hidden(
        "a lifecycle: a 200 with a valid backup; only the delete before it says it is a 404"
    ),
    "auth-ignored": shows("answer-served-without-token"),
    "wrong-fault-shape": shows("answer-schema"),  # every fault's body, 400 to 422
    "undocumented-status": shows("answer-undocumented-status"),  # 409 for a create's 422
    "pagination-skips-an-item": Hidden(
        "pagination: a page short of an item is a valid page; only the pages beside the whole "
        "list show the item lost"
    ),
    "ha-state-unchanged-while-backing-up": Hidden(
        "a lifecycle: ACTIVE is a valid state; only the backup an earlier request started says "
        "it is BACKUP"
    ),
    "running-backup-delete-accepted": Hidden(
        "202 is a documented answer to a delete; only the backup's state, which another "
        "request shows, says it is a 422"
    ),
    "new-backup-missing-from-its-instance-list": Hidden(
        "a list without the newest backup is a valid list; only the create before it says "
        "the backup belongs in it"
    ),
    "instance-stays-busy-after-its-backup": Hidden(
        "a lifecycle: BACKUP is a valid status; only the backup's end on the clock says the "
        "instance is ACTIVE again"
    ),
    "no-quota": Hidden(
        "quota: a 202 past the quota is a documented answer; only counting the account's "
        "backups shows it (and ordinary traffic stays far below the quota)"
    ),
    "cross-account-read": Hidden(
        "which account holds a backup is state: another account's backup is a valid backup, "
        "and ordinary traffic asks an account only for ids it listed there"
    ),
    "non-ascii-description-500": shows("answer-server-error"),
    "incremental-flag-ignored": Hidden(
        "a full backup is a valid answer to a create; that `incremental: 1` makes an "
        "incremental one is the contract's prose, not the schema's"
    ),
    "prefer-ignored": Hidden(
        "`Prefer: code=` is a mock-only feature: ordinary traffic never sends it, and a real "
        "service answers as usual"
    ),
    "first-violation-only": Hidden(
        "a 400 naming one violation is a valid fault; that its message names every one is "
        "the contract's prose"
    ),
    "no-body-limit": Hidden(
        "ordinary traffic sends no body over 64 KiB, and the 413 for one is the contract's "
        "prose, not the schema's (a 202 is documented)"
    ),
    "schedules-refused": Hidden(
        "422 is a documented refusal of a schedule; which datastores may be scheduled is the "
        "contract's prose and the instance's state"
    ),
    "run-now-ignored": Hidden(
        "the answer to `run_now` is a valid schedule; only the backups listed after it show "
        "that no run was made"
    ),
    "second-schedule-accepted": Hidden(
        "a 202 with a valid schedule; only the schedule made before it says the target has one "
        "(and ordinary traffic makes one schedule per target)"
    ),
    "next-run-not-recomputed": Hidden(
        "`next_run` is a valid timestamp either way; that it follows the update is the "
        "contract's prose, seen across requests"
    ),
    "scheduled-backups-not-automated": Hidden(
        "`is_automated` 0 is a valid value; only knowing which backups a schedule made says "
        "they are 1"
    ),
    "no-runs-on-the-clock": Hidden(
        "a lifecycle: runs on the clock answer no request; only lists over time show none made"
    ),
    "scheduled-runs-all-full": Hidden(
        "a full backup is a valid backup; that a daily run is incremental shows only over days "
        "of the clock's runs"
    ),
    "no-retention": Hidden(
        "retention deletes on the clock over weeks of runs: no single exchange shows a backup "
        "kept too long"
    ),
    "schedule-delete-takes-its-backups": Hidden(
        "a cascade: the delete's 202 is valid; only listing after it shows the backups gone"
    ),
    "schedule-never-running": Hidden(
        "a lifecycle: `running` false is valid; only the run an earlier request started says "
        "it is true"
    ),
    "restore-never-active": Hidden(
        "a lifecycle: BUILD is a valid status; only the clock says the restore has ended"
    ),
    "restore-ignores-the-backups-datastore": Hidden(
        "a valid datastore; only the backup restored, which another request shows, says which "
        "one it is"
    ),
    "instance-delete-takes-its-backups": Hidden(
        "a cascade: the delete's 202 is valid; only listing the backups after it shows them gone"
    ),
    "deleted-instance-still-shown": Hidden(
        "a lifecycle: a 200 with a valid instance; only the delete before it says it is a 404"
    ),
    "restore-of-an-unfinished-backup-accepted": Hidden(
        "a 200 with a valid instance; only the backup's state says the restore is a 422 (and "
        "ordinary traffic restores a backup it saw end)"
    ),
    "backup-of-a-building-instance-accepted": Hidden(
        "a 202 with a valid backup; only the instance's state, which another request shows, "
        "says it is a 422"
    ),
    "copy-not-made": Hidden(
        "the copy's 202 is the documented answer; only the target region's list after it "
        "shows no copy"
    ),
    "copy-made-in-the-source-region": Hidden(
        "the copy's 202 is the documented answer; only the regions' lists after it show where "
        "the copy went"
    ),
    "copy-keeps-the-original-id": Hidden(
        "a copy under its original's id is a valid backup; only the two regions side by side "
        "show the id taken twice"
    ),
    "copy-parent-not-remapped": Hidden(
        "a `parent_id` is a valid id either way; only the target region's backups say which it "
        "names (and a copied chain is seen across requests)"
    ),
    "incremental-with-uncopied-parent-copied": Hidden(
        "the copy's 202 is the documented answer; only the target region's state says the "
        "parent has no copy there"
    ),
    "copy-to-lon-accepted": Hidden(
        "the copy's 202 is the documented answer; that LON takes no copy is the contract's "
        "prose (and ordinary traffic copies where copies are made)"
    ),
    "running-backup-copied": Hidden(
        "the copy's 202 is the documented answer; only the backup's state says it is a 422"
    ),
    "copy-answered-200-with-a-body": shows("answer-undocumented-status"),
    "deleting-the-original-deletes-the-copy": Hidden(
        "a cascade across regions: the delete's 202 is valid; only the other region's list "
        "shows the copy gone"
    ),
    "copy-to-its-own-region-accepted": Hidden(
        "the copy's 202 is the documented answer; that the target is another region than the "
        "request's is the contract's prose"
    ),
    "copy-completes-without-its-size": Hidden(
        "the schema lets `size` be null (as it is before COMPLETED); that a COMPLETED copy has "
        "its original's is the contract's prose"
    ),
    "deleting-the-copy-deletes-the-original": Hidden(
        "a cascade across regions: the delete's 202 is valid; only the original region's list "
        "shows the original gone"
    ),
}


@dataclass(frozen=True)
class Sent:
    """One request of the scenario, its status, and the rules it breaks on purpose."""

    method: str
    path: str
    status: int
    mistakes: frozenset[str] = frozenset()


@dataclass
class Traffic:
    """What the scenario sent, and what the proxy found in it."""

    sent: list[Sent] = field(default_factory=list)
    journal: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # what no answer gave an id for

    def found(self) -> list[tuple[Sent, set[str]]]:
        """Each request sent, beside the rules the proxy found broken in its exchange."""
        assert len(self.journal) == len(self.sent), self.report()
        pairs = []
        for sent, entry in zip(self.sent, self.journal, strict=True):
            assert (entry["method"], entry["status"]) == (sent.method, sent.status), entry
            pairs.append((sent, {violation["rule"] for violation in entry["violations"]}))
        return pairs

    def surprises(self) -> set[str]:
        """Every rule found broken beyond the scenario's own mistakes."""
        return {rule for sent, rules in self.found() for rule in rules - sent.mistakes}

    def missed_mistakes(self) -> list[Sent]:
        """The scenario's own mistakes the proxy did not find."""
        return [sent for sent, rules in self.found() if not sent.mistakes <= rules]

    def report(self) -> str:
        """The groups of `GET /__mock/violations`, one a line."""
        lines = [
            f"{group['operation']} {group['rule']} x{group['count']}: {group['examples']}"
            for group in self.summary.get("groups", [])
        ]
        return "\n".join(lines) or "no violation"


class Consumer:
    """A client of the API through the proxy, which moves the upstream's clock directly."""

    def __init__(self, client: httpx.Client, proxy: str, upstream: str) -> None:
        self.client = client
        self.proxy = proxy
        self.upstream = upstream
        self.traffic = Traffic()

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: bool = True,
        mistakes: frozenset[str] = frozenset(),
    ) -> httpx.Response:
        headers = {"X-Auth-Token": TOKEN} if token else {}
        answer = self.client.request(method, self.proxy + path, headers=headers, json=body)
        self.traffic.sent.append(Sent(method, path, answer.status_code, mistakes))
        return answer

    def create(self, path: str, body: Any, member: str) -> str | None:
        """The id of what a create made (None: its answer names none)."""
        try:
            made = str(self.send("POST", path, body).json()[member]["id"])
        except (ValueError, KeyError, TypeError):
            made = None
        return self.note(f"the {member} of POST {path}", made)

    def note(self, what: str, found: str | None) -> str | None:
        """`found`, noted as skipped when None (the steps that need it are left out)."""
        if found is None:
            self.traffic.skipped.append(what)
        return found

    def advance(self, seconds: float) -> None:
        """Move the upstream's clock (its control API, which every variant passes through)."""
        answer = self.client.post(
            f"{self.upstream}/__mock/clock", json={"advance_seconds": seconds}
        )
        answer.raise_for_status()


def next_marker(page: httpx.Response) -> str | None:
    """The marker of a page's `next` link (None: no page follows)."""
    try:
        links = page.json().get("links", [])
        href = next(link["href"] for link in links if link.get("rel") == "next")
        marker = httpx.URL(href).params.get("marker")
    except (ValueError, AttributeError, StopIteration, KeyError, TypeError):
        return None
    return str(marker) if marker else None


def first_backup(listed: httpx.Response) -> str | None:
    try:
        return str(listed.json()["backups"][0]["id"])
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def ordinary_traffic(consumer: Consumer) -> None:
    """What a consumer ordinarily sends: it reads and pages backups, backs up (full,
    incremental, of an HA instance), watches a backup end, copies it to another region,
    restores it, schedules backups and deletes; among the answers, ordinary refusals (a backup
    of an instance that is not ACTIVE, the delete of a running backup, an unknown backup), and
    two ordinary mistakes of its own (an invalid create, a forgotten token)."""
    send, create = consumer.send, consumer.create
    send("GET", f"{API}/backups")
    marker = consumer.note("a next page", next_marker(send("GET", f"{API}/backups?limit=1")))
    if marker is not None:
        send("GET", f"{API}/backups?limit=1&marker={marker}")
    send("GET", f"{API}/backups/{PERCONA_BACKUP}")

    # Backups of instances and of an HA instance, watched until they end.
    made = create(
        f"{API}/backups",
        {"backup": {"name": "nightly", "instance": MYSQL, "description": "before the upgrade"}},
        "backup",
    )
    if made is not None:
        send("GET", f"{API}/backups/{made}")
        send("DELETE", f"{API}/backups/{made}")  # still running: refused
    send("GET", f"{API}/instances/{MYSQL}")
    send("GET", f"{API}/instances/{MYSQL}/backups")
    send("POST", f"{API}/backups", {"backup": {"name": "stopped", "instance": SHUTDOWN}})
    description = "vor dem Update, nächtlich"  # not ASCII: as a consumer may write it
    nightly = {"name": "nightly", "instance": PERCONA, "description": description}
    send("POST", f"{API}/backups", {"backup": nightly})
    incremental = {"name": "hourly", "instance": SCHEDULABLE, "incremental": 1}
    hourly = create(f"{API}/backups", {"backup": incremental}, "backup")
    ha_backup = {"name": "ha-nightly", "source": {"type": "ha", "id": HA}}
    send("POST", f"{API}/backups", {"backup": ha_backup})
    send("GET", f"{API}/ha/{HA}")
    send("GET", f"{API}/ha/{HA}/backups")
    consumer.advance(10)
    for backup in (made, hourly):
        if backup is not None:
            send("GET", f"{API}/backups/{backup}")
    send("GET", f"{API}/instances/{MYSQL}")
    send("GET", f"{API}/instances/{MYSQL}/backups")
    send("GET", f"{API}/ha/{HA}")
    send("GET", f"{API}/ha/{HA}/backups")

    # An incremental backup on top of the new one.
    child = create(
        f"{API}/backups",
        {"backup": {"name": "nightly-incremental", "instance": MYSQL, "parent_id": made}},
        "backup",
    )
    consumer.advance(10)
    if child is not None:
        send("GET", f"{API}/backups/{child}")

    # A copy to another region, watched until it ends.
    if made is not None:
        copy_backup = {"copy-backup": {"target_backup_region": "IAD"}}
        send("POST", f"{API}/backups/{made}/action", copy_backup)
    consumer.advance(10)
    copy = consumer.note("the copy", first_backup(send("GET", f"{COPIES}/backups")))
    if copy is not None:
        send("GET", f"{COPIES}/backups/{copy}")

    # A restore, backed up too soon, watched until it is ACTIVE, then deleted.
    if made is not None:
        instance = {
            "name": "restored",
            "flavorRef": "2",
            "volume": {"size": 2},
            "restorePoint": {"backupRef": made},
        }
        restored = create(f"{API}/instances", {"instance": instance}, "instance")
        if restored is not None:
            send("GET", f"{API}/instances/{restored}")
            send("POST", f"{API}/backups", {"backup": {"name": "early", "instance": restored}})
            consumer.advance(10)
            send("GET", f"{API}/instances/{restored}")
            send("DELETE", f"{API}/instances/{restored}")
            send("GET", f"{API}/instances/{restored}")

    # A schedule, run at once, then deleted.
    send("GET", f"{API}/schedules")
    weekly = {"instance_id": SCHEDULABLE, "action": "backup", "day_of_week": 0, "hour": 14}
    schedule = create(f"{API}/schedules", {"schedule": {**weekly, "minute": 30}}, "schedule")
    if schedule is not None:
        send("GET", f"{API}/schedules/{schedule}")
        send("PUT", f"{API}/schedules/{schedule}", {"schedule": {"run_now": True}})
        send("GET", f"{API}/schedules/{schedule}")
        consumer.advance(10)
        send("GET", f"{API}/schedules/{schedule}")
        send("GET", f"{API}/instances/{SCHEDULABLE}/backups")
        send("DELETE", f"{API}/schedules/{schedule}")
    send("GET", f"{API}/schedules")

    # Deletes: a backup with an incremental child (a cascade), then its copy.
    if made is not None:
        send("DELETE", f"{API}/backups/{made}")
        send("GET", f"{API}/backups/{made}")
    if copy is not None:
        send("DELETE", f"{COPIES}/backups/{copy}")
    send("GET", f"{API}/backups")

    # An unknown backup, and the consumer's own two mistakes.
    send("GET", f"{API}/backups/{UNKNOWN_BACKUP}")
    invalid = {"backup": {"name": 7, "instance": MYSQL}}
    send("POST", f"{API}/backups", invalid, mistakes=frozenset({"request-body"}))
    send("GET", f"{API}/backups", token=False, mistakes=frozenset({"request-token-missing"}))


def through_a_proxy(upstream: str) -> Traffic:
    """The scenario sent through a proxy in front of `upstream`, and what the proxy found."""
    with serving_proxy(upstream) as (_, proxy), httpx.Client(timeout=30) as client:
        consumer = Consumer(client, proxy, upstream)
        ordinary_traffic(consumer)
        traffic = consumer.traffic
        traffic.journal = client.get(f"{proxy}/__mock/requests").json()["requests"]
        traffic.summary = client.get(f"{proxy}/__mock/violations").json()
    return traffic


@contextmanager
def serving_variant(variant: str, starting: threading.Semaphore) -> Iterator[str]:
    """The URL of a variant served by a process of its own (`python tests/broken_mocks.py
    <variant>`: it prints its URL, and stops when its standard input closes); only a few
    processes start at once (`starting`), beside the scenarios of those already started."""
    server = None
    try:
        with starting:
            server = subprocess.Popen(
                [sys.executable, broken_mocks.__file__, variant],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert server.stdout is not None
            # The URL, or nothing if the variant cannot start: never a wait without end.
            ready, _, _ = select.select([server.stdout], [], [], STARTING)
            url = server.stdout.readline().strip() if ready else ""
        assert url.startswith("http://"), f"the {variant} variant did not start"
        yield url
        assert server.stdin is not None
        server.stdin.close()  # the variant's signal to stop
        server.wait(30)
    finally:
        if server is not None:
            stop(server)


def stop(server: subprocess.Popen[str]) -> None:
    try:
        if server.poll() is None:
            server.kill()
            server.wait(10)
    finally:
        for stream in (server.stdin, server.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def true_mock_traffic(tmp_path_factory: pytest.TempPathFactory) -> Traffic:
    """The scenario against a true mock process, with the variants' token table."""
    tokens = tmp_path_factory.mktemp("tokens") / "tokens.json"
    tokens.write_text(json.dumps({TOKEN: [ACCOUNT, OTHER_ACCOUNT]}), encoding="utf-8")
    with MockProcess("--frozen-clock", "--tokens", str(tokens)) as mock:
        traffic = through_a_proxy(mock.url)
        mock.stop()
    return traffic


@pytest.fixture(scope="module")
def variant_traffic() -> dict[str, Traffic | Exception]:
    """Every variant's traffic, or what kept its scenario from running (raised by its test):
    a few variants at a time (this machine has two cores)."""
    starting = threading.Semaphore(STARTING_AT_ONCE)

    def run(variant: str) -> Traffic | Exception:
        try:
            with serving_variant(variant, starting) as url:
                return through_a_proxy(url)
        except Exception as error:  # one variant's failure is its own test's, not every test's
            return error

    names = list(broken_mocks.VARIANTS)
    with ThreadPoolExecutor(max_workers=SCENARIOS_AT_ONCE) as pool:
        return dict(zip(names, pool.map(run, names), strict=True))


def traffic_of(variant_traffic: dict[str, Traffic | Exception], variant: str) -> Traffic:
    run = variant_traffic[variant]
    if isinstance(run, Exception):
        raise run
    return run


def test_every_broken_variant_is_classified() -> None:
    assert set(EXPECTED) == set(broken_mocks.VARIANTS)


def test_a_true_mock_breaks_nothing_in_ordinary_traffic(true_mock_traffic: Traffic) -> None:
    traffic = true_mock_traffic
    assert traffic.missed_mistakes() == []
    assert traffic.surprises() == set(), traffic.report()
    assert traffic.skipped == []  # every step of the scenario was taken


SHOWN = [name for name, expected in EXPECTED.items() if isinstance(expected, Shows)]
HIDDEN = [name for name, expected in EXPECTED.items() if isinstance(expected, Hidden)]


@pytest.mark.parametrize("variant", SHOWN)
def test_the_proxy_finds_in_ordinary_traffic_what_each_variant_breaks(
    variant_traffic: dict[str, Traffic | Exception], variant: str
) -> None:
    traffic = traffic_of(variant_traffic, variant)
    expected = EXPECTED[variant]
    assert isinstance(expected, Shows)
    assert traffic.missed_mistakes() == []
    assert expected.rules <= traffic.surprises(), traffic.report()


@pytest.mark.parametrize("variant", HIDDEN)
def test_the_proxy_finds_nothing_in_ordinary_traffic_from_a_variant_hidden_from_it(
    variant_traffic: dict[str, Traffic | Exception], variant: str
) -> None:
    traffic = traffic_of(variant_traffic, variant)
    expected = EXPECTED[variant]
    assert isinstance(expected, Hidden)
    assert traffic.missed_mistakes() == []
    assert traffic.surprises() == set(), f"hidden, as {expected.reason}?\n{traffic.report()}"
