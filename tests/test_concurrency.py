"""32 clients create, list and delete at once, for many rounds, against a mock process: every
backup acknowledged is accounted for, ids are unique, the quota holds at every moment, deletes
take a backup's whole chain or nothing, and the journal stays within its bound."""

from __future__ import annotations

import copy
import random
import threading
import time
import uuid
from collections import Counter
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


@dataclass
class Record:
    """What the clients were told, in the order they were told it."""

    created: dict[str, str | None] = field(default_factory=dict)  # id -> parent id
    create_order: list[str] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
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


def client(url: str, seed: int, record: Record, errors: list[BaseException]) -> None:
    chance = random.Random(seed)
    try:
        with httpx.Client(base_url=url, headers=TOKEN, timeout=30) as http:
            for _ in range(ROUNDS):
                target = chance.choice(TARGETS)
                backup = {"name": f"c{seed}", **target, "incremental": chance.random() < 0.6}
                record.note("create", http.post("/v1.0/1234/backups", json={"backup": backup}))
                listed = http.get("/v1.0/1234/backups")
                record.note("list", listed)
                assert len(listed.json()["backups"]) <= 20
                candidates = [b["id"] for b in listed.json()["backups"]]
                if (
                    candidates and chance.random() < 0.4
                ):  # fewer deletes than creates: the quota fills
                    victim = chance.choice(candidates)
                    record.note("delete", http.delete(f"/v1.0/1234/backups/{victim}"))
    except BaseException as error:  # reported by the test, not lost in the thread
        errors.append(error)


def watch(url: str, stop: threading.Event, counts: list[int], errors: list[BaseException]) -> None:
    """Count account 1234's backups, over and over, while the clients run."""
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            while not stop.is_set():
                state = http.get("/__mock/state").json()
                counts.append(len(state["accounts"]["1234"]["backups"]))
                time.sleep(0.02)
    except BaseException as error:
        errors.append(error)


def backups_of(http: httpx.Client) -> list[dict[str, Any]]:
    backups: list[dict[str, Any]] = http.get("/__mock/state").json()["accounts"]["1234"]["backups"]
    return backups


def lineage(parents: dict[str, str | None], backup_id: str) -> list[str]:
    """The backup, its parent, its parent's parent... as far as they are known."""
    chain = [backup_id]
    while (parent := parents.get(chain[-1])) is not None and parent not in chain:
        chain.append(parent)
    return chain


@pytest.mark.slow
def test_32_clients_at_once_lose_nothing_and_break_no_rule() -> None:
    options = ("--quota", str(QUOTA), "--journal-size", str(JOURNAL))
    # Backups run for 50 ms: some creates and some deletes meet a running one (422).
    timing = ("--new-seconds", "0", "--building-seconds", "0.05")
    with MockProcess(*options, *timing) as server:
        assert httpx.put(f"{server.url}/__mock/state", json=STATE).status_code == 200
        record, errors, counts = Record(), [], []
        stop = threading.Event()
        watcher = threading.Thread(target=watch, args=(server.url, stop, counts, errors))
        clients = [
            threading.Thread(target=client, args=(server.url, seed, record, errors))
            for seed in range(CLIENTS)
        ]
        watcher.start()
        for thread in clients:
            thread.start()
        for thread in clients:
            thread.join(120)
        stop.set()
        watcher.join(30)
        # A client still running would go on changing what the assertions below look at.
        assert not any(thread.is_alive() for thread in [*clients, watcher]), "a client hung"
        assert not errors, errors
        with httpx.Client(base_url=server.url, timeout=30) as http:
            deadline = time.monotonic() + 60
            while any(b["status"] in RUNNING for b in backups_of(http)):
                assert time.monotonic() < deadline, "a backup is still running after 60 s"
                time.sleep(0.02)  # every lifecycle over: the backups end on the mock's clock
            final = backups_of(http)
            journal = http.get("/__mock/requests").json()["requests"]
        assert server.stop() == 0

    # Ids are unique; the quota held at every moment it was looked at, and at the end.
    assert len(record.create_order) == len(set(record.create_order))
    assert counts and max(counts) <= QUOTA
    assert len(final) <= QUOTA

    # Every backup acknowledged is there, or went with an acknowledged delete of itself or of a
    # backup it was made from; nothing else went, and nothing else appeared.
    parents = {b["id"]: b["parent_id"] for b in FIXTURE["backups"]} | record.created
    present = {b["id"] for b in final}
    for backup_id in parents:
        gone_with = set(lineage(parents, backup_id)) & record.deleted
        assert (backup_id in present) != bool(gone_with), (backup_id, gone_with)
    assert present <= set(parents)

    # No backup outlives the backup it was made from.
    assert all(b["parent_id"] is None or b["parent_id"] in present for b in final)

    # The journal keeps its bound, however many requests went through.
    requests = sum(record.statuses.values()) + len(counts)
    assert requests > JOURNAL and len(journal) == JOURNAL

    # Every answer is a documented one, and each kind of answer happened.
    assert all(status in DOCUMENTED[op] for op, status in record.statuses), record.statuses
    kinds = [("create", 202), ("create", 413), ("create", 422), ("delete", 202), ("delete", 422)]
    for expected in kinds:
        assert record.statuses[expected] > 0, (expected, record.statuses)


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
