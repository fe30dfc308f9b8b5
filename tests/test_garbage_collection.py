"""What keeps a mock of 100,000 backups small and its tail latency flat (issue: performance).

A full collection walks every object the garbage collector tracks; at 100,000 backups it paused
the mock for 30 to 110 ms. CPython runs one when the objects promoted to the oldest generation
since the last one reach a quarter of those already there, so a steady stream of reads must
promote nothing; and what a backup holds must not repeat what other backups hold.
"""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import MutableMapping
from typing import Any

from support import FIXTURES, read_json

from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.control.journal import Entry, Journal
from mockserver.state.models import BackupRequest

STATE = read_json(FIXTURES / "state.json")
ACCOUNT = "1234"
ACTIVE = [
    i["id"]
    for i in STATE["accounts"][ACCOUNT]["instances"]
    if i["status"] == "ACTIVE" and not i.get("ha_id")
]
BACKUP = STATE["accounts"][ACCOUNT]["backups"][0]["id"]


def _get(mock: Mock, path: str) -> int:
    """One GET through the whole ASGI app; its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8779"), (b"x-auth-token", b"token")],
        "client": ("127.0.0.1", 5555),
        "server": ("127.0.0.1", 8779),
        "state": {},
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        await mock(scope, receive, send)

    asyncio.run(call())
    return int(sent[0]["status"])


def test_steady_reads_promote_nothing_to_the_oldest_generation() -> None:
    mock = create_app(Settings(journal_size=500), state=STATE)
    paths = [f"/v1.0/{ACCOUNT}/backups", f"/v1.0/{ACCOUNT}/backups/{BACKUP}"]
    assert _get(mock, paths[0]) == 200  # what the first request builds lives on
    # Everything made so far out of the collector's sight, as the CLI does once serving: what
    # the oldest generation holds afterwards is what the requests left there.
    gc.collect()
    gc.freeze()
    try:
        for number in range(600):  # more than the journal keeps: it fills and turns over
            assert _get(mock, paths[number % 2]) == 200
        gc.collect(1)  # the young generations, as the collector runs them between requests
        gc.collect(1)
        left = gc.get_objects(generation=2)
    finally:
        gc.unfreeze()
    # A journal of dataclasses left its 500 entries there, and their dicts; its rows of plain
    # values are untracked before they get old.
    assert len(left) < 100, sorted({type(o).__name__ for o in left})
    assert len(mock.journal) == 500


def test_journal_entries_read_back_as_recorded() -> None:
    journal = Journal(3)
    entry = Entry(
        "POST",
        "/v1.0/1234/backups",
        "limit=2",
        {"x-auth-token": "***(5 characters)", "content-type": "application/json"},
        b'{"backup": {"name": "n"}}',
        502,
        1_700_000_000.25,
        ("fields",),
        "DFW",
        answered_by="proxy",
        violations=({"rule": "status", "message": "502 is not documented"},),
        unchecked=("the body: not JSON",),
        upstream={"status": None, "error": "refused"},
        operation="createBackup",
    )
    journal.record(entry)
    (document,) = journal.entries()
    assert document == entry.document(0)
    assert document["headers"]["content-type"] == "application/json"
    assert document["violations"] == [{"rule": "status", "message": "502 is not documented"}]
    assert document["upstream"] == {"status": None, "error": "refused"}
    assert document["ignored_query"] == ["fields"]


def test_backups_made_through_the_api_share_what_they_repeat() -> None:
    mock = create_app(Settings(quota=10_000, new_seconds=0, building_seconds=0), state=STATE)
    store = mock.store
    count = 3000

    def make(first: int) -> None:
        for number in range(first, first + count):
            request = BackupRequest(name=f"b{number:06d}", instance=ACTIVE[number % len(ACTIVE)])
            store.create_backup(ACCOUNT, request)

    make(0)  # every index and account structure already exists when measuring
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        make(count)
        store.list_backups(ACCOUNT)  # every one COMPLETED: its size and location set
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Measured: about 740 bytes a backup (the Backup, its id, name and location, its key in the
    # three indexes). A source and a datastore dict of its own added about 370 more.
    assert grown / count < 850, f"{grown / count:.0f} bytes a backup"


def test_an_entry_with_a_lone_surrogate_is_journaled() -> None:
    # A violation quotes the body, which may hold one ("\ud800" is valid JSON); orjson refuses it.
    journal = Journal(2)
    violation = {"rule": "request-body", "message": "body/backup/name: '\ud800' is too short"}
    journal.record(Entry("POST", "/p", "", {}, b"", 400, 1.0, violations=(violation,)))
    assert journal.entries()[0]["violations"] == [violation]
