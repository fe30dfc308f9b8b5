"""32 clients create, list and delete at once, for many rounds, against a mock process: every
backup acknowledged is accounted for, ids are unique, the quota holds at every moment, deletes
take a backup's whole chain or nothing, and the journal stays within its bound.

The scenario (`run_clients`, `settle`, `check_rules`) takes a list of base URLs and spreads the
clients over them round-robin; test_shared_processes.py runs it against processes that share
one state through Redis, where a process or Redis itself may also go away mid-run (`tolerant`).
"""

from __future__ import annotations

import copy
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from support import FIXTURES, MockProcess, read_json

CLIENTS = 32
ROUNDS = 12
QUOTA = 25
JOURNAL = 200
TOKEN = {"X-Auth-Token": "concurrency"}
RUNNING = {"NEW", "BUILDING"}
TIMEOUT = 30.0  # seconds a client waits for one answer
SETTLE_SECONDS = 60.0  # for every lifecycle to end once the clients are done
JOIN_SECONDS = 120.0  # for the clients to be done
BACKOFF = 0.1  # seconds a tolerant client pauses after a broken connection or a 503


def many_instances(count: int) -> dict[str, Any]:
    """The fixture state, with `count` more ACTIVE instances in account 1234 to back up."""
    state = read_json(FIXTURES / "state.json")
    instances = state["accounts"]["1234"]["instances"]
    for _ in range(count):
        instances.append(copy.deepcopy(instances[0]) | {"id": str(uuid.uuid4())})
    return state


STATE = many_instances(30)
FIXTURE = STATE["accounts"]["1234"]
TARGETS: list[dict[str, Any]] = [
    *(
        {"instance": i["id"]}
        for i in FIXTURE["instances"]
        if i["status"] == "ACTIVE" and "ha_id" not in i
    ),
    {"instance": None, "source": {"type": "ha", "id": FIXTURE["ha_instances"][0]["id"]}},
]
DOCUMENTED = {
    "create": {202, 413, 422},
    "list": {200},
    "delete": {202, 404, 422},
}
# Each kind of answer the scenario must have met (a running backup meets creates and deletes).
KINDS = [("create", 202), ("create", 413), ("create", 422), ("delete", 202), ("delete", 422)]
# The options of the scenario's mock: backups run for 50 ms, so that some creates and some
# deletes meet a running one (422).
OPTIONS = ("--quota", str(QUOTA), "--journal-size", str(JOURNAL))
TIMING = ("--new-seconds", "0", "--building-seconds", "0.05")


@dataclass
class Record:
    """What the clients were told, in the order they were told it; and what they were not told.

    A write whose answer never came (the connection broke) or was a 503 (the shared state could
    not be reached) may or may not have happened: it is not acknowledged, and its backup may be
    there or not."""

    created: dict[str, str | None] = field(default_factory=dict)  # id -> parent id
    create_order: list[str] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    # Every backup a list showed: id -> parent id (the parents of backups no create told of).
    seen: dict[str, str | None] = field(default_factory=dict)
    unsure_creates: Counter[str] = field(default_factory=Counter)  # by the backup's name
    unsure_deletes: set[str] = field(default_factory=set)
    broken: Counter[tuple[str, str]] = field(default_factory=Counter)  # (operation, error)
    unavailable: Counter[str] = field(default_factory=Counter)  # the 503s' fault names
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, operation: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[operation, response.status_code] += 1
            if operation.endswith("create") and response.status_code == 202:
                backup = response.json()["backup"]
                self.create_order.append(backup["id"])
                self.created[backup["id"]] = backup["parent_id"]
            elif operation == "delete" and response.status_code == 202:
                self.deleted.add(response.request.url.path.rsplit("/", 1)[1])
            elif operation == "list" and response.status_code == 200:
                self.seen.update((b["id"], b["parent_id"]) for b in response.json()["backups"])
            elif response.status_code == 503:
                self.unavailable.update(response.json().keys())
                self._unsure(operation, response.request)

    def lost(self, operation: str, request: httpx.Request, error: httpx.TransportError) -> None:
        with self.lock:
            self.broken[operation, type(error).__name__] += 1
            self._unsure(operation, request)

    def _unsure(self, operation: str, request: httpx.Request) -> None:
        if operation == "create":
            self.unsure_creates[json.loads(request.content)["backup"]["name"]] += 1
        elif operation == "delete":
            self.unsure_deletes.add(request.url.path.rsplit("/", 1)[1])


def ask(
    http: httpx.Client,
    record: Record,
    tolerant: bool,
    operation: str,
    method: str,
    path: str,
    body: Any = None,
) -> httpx.Response | None:
    """The answer, noted; None when the connection broke and `tolerant` (noted as lost)."""
    request = http.build_request(method, path, json=body)
    try:
        response = http.send(request)
    except httpx.TransportError as error:
        if not tolerant or isinstance(error, httpx.TimeoutException):
            raise  # a mock that hangs is never tolerated
        record.lost(operation, request, error)
        time.sleep(BACKOFF)
        return None
    record.note(operation, response)
    if tolerant and response.status_code == 503:
        time.sleep(BACKOFF)
    return response


def client(
    url: str,
    seed: int,
    record: Record,
    errors: list[BaseException],
    rounds: int = ROUNDS,
    tolerant: bool = False,
    going_on: threading.Event | None = None,
) -> None:
    """`rounds` rounds of a create, a list and sometimes a delete; more while `going_on` is set."""
    chance = random.Random(seed)
    try:
        with httpx.Client(base_url=url, headers=TOKEN, timeout=TIMEOUT) as http:
            done = 0
            while done < rounds or (going_on is not None and going_on.is_set()):
                done += 1
                target = chance.choice(TARGETS)
                backup = {"name": f"c{seed}", **target, "incremental": chance.random() < 0.6}
                body = {"backup": backup}
                ask(http, record, tolerant, "create", "POST", "/v1.0/1234/backups", body)
                listed = ask(http, record, tolerant, "list", "GET", "/v1.0/1234/backups")
                if listed is None or listed.status_code != 200:
                    continue  # an answer the test looks at once the clients are done
                assert len(listed.json()["backups"]) <= 20
                candidates = [b["id"] for b in listed.json()["backups"]]
                if (
                    candidates and chance.random() < 0.4
                ):  # fewer deletes than creates: the quota fills
                    victim = chance.choice(candidates)
                    ask(http, record, tolerant, "delete", "DELETE", f"/v1.0/1234/backups/{victim}")
    except BaseException as error:  # reported by the test, not lost in the thread
        errors.append(error)


def watch(
    urls: Sequence[str],
    stop: threading.Event,
    counts: list[int],
    errors: list[BaseException],
    tolerant: bool = False,
) -> None:
    """Count account 1234's backups, over and over, while the clients run (each state read from
    the next URL in turn)."""
    https = [httpx.Client(base_url=url, timeout=TIMEOUT) for url in urls]
    try:
        turn = 0
        while not stop.is_set():
            http = https[turn % len(https)]
            turn += 1
            try:
                answer = http.get("/__mock/state")
            except httpx.TransportError as error:
                if not tolerant or isinstance(error, httpx.TimeoutException):
                    raise
                time.sleep(0.02)
                continue
            if tolerant and answer.status_code == 503:
                continue
            assert answer.status_code == 200, (str(http.base_url), answer.status_code, answer.text)
            counts.append(len(answer.json()["accounts"]["1234"]["backups"]))
            time.sleep(0.02)
    except BaseException as error:
        errors.append(error)
    finally:
        for http in https:
            http.close()


def every_kind_seen(record: Record, kinds: Sequence[tuple[str, int]] = KINDS) -> None:
    """Wait until every kind of answer happened (the clients go on until then): on a loaded
    machine a backup may end before any delete meets it running, in the rounds alone."""
    deadline = time.monotonic() + JOIN_SECONDS / 2
    while time.monotonic() < deadline:
        with record.lock:
            if all(record.statuses[kind] > 0 for kind in kinds):
                return
        time.sleep(0.05)


def run_clients(
    urls: Sequence[str],
    rounds: int = ROUNDS,
    *,
    tolerant: bool = False,
    meanwhile: Callable[[Record], None] | None = None,
) -> tuple[Record, list[int]]:
    """CLIENTS clients, client n on urls[n % len(urls)], and a watcher that reads the state from
    each URL in turn: what the clients were told, and every count of backups the watcher read.
    `meanwhile(record)` runs while they do, and they go on with more rounds until it returned.
    With `tolerant`, a broken connection and a 503 are expected (noted, never acknowledged); a
    timeout never is."""
    record, errors, counts = Record(), [], []
    stop, going_on = threading.Event(), threading.Event()
    if meanwhile is not None:
        going_on.set()
    watcher = threading.Thread(target=watch, args=(urls, stop, counts, errors, tolerant))
    clients = [
        threading.Thread(
            target=client,
            args=(urls[seed % len(urls)], seed, record, errors, rounds, tolerant, going_on),
        )
        for seed in range(CLIENTS)
    ]
    watcher.start()
    for thread in clients:
        thread.start()
    try:
        if meanwhile is not None:
            meanwhile(record)
    finally:
        going_on.clear()
        deadline = time.monotonic() + JOIN_SECONDS
        for thread in clients:
            thread.join(max(0.0, deadline - time.monotonic()))
        stop.set()
        watcher.join(30)
    # A client still running would go on changing what the assertions look at.
    assert not any(thread.is_alive() for thread in [*clients, watcher]), "a client hung"
    assert not errors, errors
    return record, counts


def state_of(http: httpx.Client) -> dict[str, Any]:
    answer = http.get("/__mock/state")
    assert answer.status_code == 200, (str(http.base_url), answer.status_code, answer.text)
    state: dict[str, Any] = answer.json()
    return state


def backups_of(http: httpx.Client) -> list[dict[str, Any]]:
    backups: list[dict[str, Any]] = state_of(http)["accounts"]["1234"]["backups"]
    return backups


def settle(urls: Sequence[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Once every lifecycle is over (the backups end on the mock's clock): the state document
    and the journal, which every URL must answer alike."""
    with httpx.Client(base_url=urls[0], timeout=TIMEOUT) as http:
        deadline = time.monotonic() + SETTLE_SECONDS
        while any(b["status"] in RUNNING for b in backups_of(http)):
            assert time.monotonic() < deadline, (
                f"a backup is still running after {SETTLE_SECONDS} s"
            )
            time.sleep(0.02)
    states, journals = [], []
    for url in urls:
        with httpx.Client(base_url=url, timeout=TIMEOUT) as http:
            states.append(state_of(http))
            journal = http.get("/__mock/requests")
            assert journal.status_code == 200, (url, journal.status_code, journal.text)
            journals.append(journal.json()["requests"])
    for url, state, journal in zip(urls[1:], states[1:], journals[1:], strict=True):
        assert state == states[0], f"{url} and {urls[0]} answer different states"
        assert journal == journals[0], f"{url} and {urls[0]} answer different journals"
    return states[0], journals[0]


def lineage(parents: dict[str, str | None], backup_id: str) -> list[str]:
    """The backup, its parent, its parent's parent... as far as they are known."""
    chain = [backup_id]
    while (parent := parents.get(chain[-1])) is not None and parent not in chain:
        chain.append(parent)
    return chain


def check_rules(
    record: Record,
    counts: list[int],
    state: dict[str, Any],
    journal: list[dict[str, Any]],
    *,
    allowed: Collection[int] = (),
    kinds: Sequence[tuple[str, int]] = KINDS,
) -> None:
    """The scenario's rules, on what the clients were told and the state at the end. `allowed`:
    statuses any operation may also answer; `kinds`: the answers that must have happened."""
    final: list[dict[str, Any]] = state["accounts"]["1234"]["backups"]
    # Ids are unique; the quota held at every moment it was looked at, and at the end.
    assert len(record.create_order) == len(set(record.create_order))
    assert counts and max(counts) <= QUOTA, max(counts, default=None)
    assert len(final) <= QUOTA

    # Every backup acknowledged is there, or went with an acknowledged delete of itself or of a
    # backup it was made from (or with a delete whose answer was lost); nothing else went, and
    # nothing else appeared but what a create whose answer was lost may have made.
    fixture = {b["id"]: b["parent_id"] for b in FIXTURE["backups"]}
    known = fixture | record.created
    present = {b["id"] for b in final}
    parents = record.seen | {b["id"]: b["parent_id"] for b in final} | known
    for backup_id in known:
        chain = set(lineage(parents, backup_id))
        gone_with = chain & record.deleted
        if backup_id in present:
            assert not gone_with, (backup_id, gone_with)
        else:
            assert gone_with or chain & record.unsure_deletes, (backup_id, "went")
    assert not present & record.deleted, present & record.deleted
    appeared = Counter(b["name"] for b in final if b["id"] not in known)
    for name, number in appeared.items():
        assert number <= record.unsure_creates[name], (name, number, "appeared")
    for backup in final:
        if backup["id"] in known:
            assert backup["parent_id"] == known[backup["id"]], backup

    # No backup outlives the backup it was made from.
    assert all(b["parent_id"] is None or b["parent_id"] in present for b in final)

    # The journal keeps its bound, however many requests went through.
    # (A mock that cannot reach the shared state answers 503 without journaling the request.)
    requests = sum(n for (_, status), n in record.statuses.items() if status != 503)
    assert requests > JOURNAL and len(journal) == JOURNAL, (requests, len(journal))

    # Every answer is a documented one, and each kind of answer happened.
    for (operation, status), number in record.statuses.items():
        assert status in DOCUMENTED[operation] or status in allowed, (operation, status, number)
    for expected in kinds:
        assert record.statuses[expected] > 0, (expected, record.statuses)


@pytest.mark.slow
def test_32_clients_at_once_lose_nothing_and_break_no_rule() -> None:
    with MockProcess(*OPTIONS, *TIMING) as server:
        assert httpx.put(f"{server.url}/__mock/state", json=STATE).status_code == 200
        record, counts = run_clients([server.url], meanwhile=every_kind_seen)
        state, journal = settle([server.url])
        assert server.stop() == 0
    check_rules(record, counts, state, journal)


# -- copies into one region (contract section 12) ----------------------------------------------

COPY_CLIENTS = 16
COPY_ROUNDS = 6
COPY_QUOTA = 10


def regions_state() -> dict[str, Any]:
    """The fixture state, with 20 more COMPLETED backups in DFW to copy, and in IAD account
    1234's instances (ACTIVE) to back up there, and no backup."""
    state = read_json(FIXTURES / "state.json")
    account = state["accounts"]["1234"]
    template = next(b for b in account["backups"] if b["instance_id"])
    for number in range(20):
        backup = dict(template, id=str(uuid.uuid4()), name=f"to copy {number}")
        backup["locationRef"] = template["locationRef"].replace(template["id"], backup["id"])
        account["backups"].append(backup)
    iad = {"instances": copy.deepcopy(account["instances"]), "ha_instances": [], "backups": []}
    state["regions"] = {"IAD": {"accounts": {"1234": iad}}}
    return state


REGIONS_STATE = regions_state()
DFW_BACKUPS = [b["id"] for b in REGIONS_STATE["accounts"]["1234"]["backups"]]
IAD_INSTANCES = [
    i["id"]
    for i in REGIONS_STATE["regions"]["IAD"]["accounts"]["1234"]["instances"]
    if i["status"] == "ACTIVE" and "ha_id" not in i
]


def in_region(state: dict[str, Any], region: str) -> list[dict[str, Any]]:
    account = state["regions"].get(region, {}).get("accounts", {}).get("1234", {})
    backups: list[dict[str, Any]] = account.get("backups", [])
    return backups


def copier(url: str, seed: int, record: Record, errors: list[BaseException]) -> None:
    """Copies to IAD (most), to ORD, and backups made in IAD itself, all at once."""
    chance = random.Random(seed)
    try:
        with httpx.Client(base_url=url, headers=TOKEN, timeout=30) as http:
            for _ in range(COPY_ROUNDS):
                roll = chance.random()
                if roll < 0.25:
                    body = {
                        "backup": {"name": f"c{seed}", "instance": chance.choice(IAD_INSTANCES)}
                    }
                    record.note("IAD create", http.post("/iad/v1.0/1234/backups", json=body))
                    continue
                region = "ORD" if roll < 0.4 else "IAD"
                backup = chance.choice(DFW_BACKUPS)
                copy_body = {"copy-backup": {"target_backup_region": region}}
                answer = http.post(f"/v1.0/1234/backups/{backup}/action", json=copy_body)
                record.note(f"{region} copy", answer)
    except BaseException as error:
        errors.append(error)


def watch_regions(
    url: str, stop: threading.Event, counts: list[tuple[int, int]], errors: list[BaseException]
) -> None:
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                state = http.get("/__mock/state").json()
                counts.append((len(in_region(state, "IAD")), len(in_region(state, "ORD"))))
                time.sleep(0.01)
    except BaseException as error:
        errors.append(error)


@pytest.mark.slow
def test_concurrent_copies_and_creates_never_pass_a_regions_quota() -> None:
    timing = ("--new-seconds", "0", "--building-seconds", "0")
    with MockProcess("--quota", str(COPY_QUOTA), *timing) as server:
        put = httpx.put(f"{server.url}/__mock/state", json=REGIONS_STATE)
        assert put.status_code == 200, put.text
        record, errors, counts = Record(), [], []
        stop = threading.Event()
        watcher = threading.Thread(target=watch_regions, args=(server.url, stop, counts, errors))
        clients = [
            threading.Thread(target=copier, args=(server.url, seed, record, errors))
            for seed in range(COPY_CLIENTS)
        ]
        watcher.start()
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(60)
        stop.set()
        watcher.join(30)
        assert not any(thread.is_alive() for thread in [*clients, watcher]), "a client hung"
        assert not errors, errors
        final = httpx.get(f"{server.url}/__mock/state").json()
        assert server.stop() == 0

    statuses = record.statuses
    assert set(statuses) <= {
        (operation, status)
        for operation in ("IAD create", "IAD copy", "ORD copy")
        for status in (202, 413, 422)
    }, statuses
    # The quota of each region held at every moment, and is used up exactly: far more requests
    # than the quota went to IAD, and as many succeeded as it allows, copies and creates alike.
    assert counts and max(iad for iad, _ in counts) <= COPY_QUOTA
    assert max(ord_ for _, ord_ in counts) <= COPY_QUOTA
    iad, ord_ = in_region(final, "IAD"), in_region(final, "ORD")
    made_in_iad = statuses["IAD create", 202] + statuses["IAD copy", 202]
    assert statuses["IAD create", 413] + statuses["IAD copy", 413] > 0, statuses
    assert made_in_iad == len(iad) == COPY_QUOTA, statuses
    ord_tries = sum(n for (operation, _), n in statuses.items() if operation == "ORD copy")
    assert statuses["ORD copy", 202] == len(ord_) == min(ord_tries, COPY_QUOTA), statuses
    # Ids are unique across the regions; the backups copied are where they were.
    ids = [b["id"] for b in [*final["accounts"]["1234"]["backups"], *iad, *ord_]]
    assert len(ids) == len(set(ids))
    assert {b["id"] for b in final["accounts"]["1234"]["backups"]} == set(DFW_BACKUPS)
    created = {b["id"] for b in iad} & set(record.create_order)
    assert len(created) == statuses["IAD create", 202]
