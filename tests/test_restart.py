"""--state-file: nothing acknowledged before a SIGTERM (or SIGINT) is lost across a restart; after a
hard kill, at most the last --save-interval is; a state file that cannot be used is refused with
a clear error and left as it is, never replaced."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import FIXTURES, MockProcess, read_json

from mockserver import Settings, create_app
from mockserver.cli import main, save_periodically
from mockserver.state.persistence import StateFile

TOKEN = {"X-Auth-Token": "restart"}
INSTANCES = [
    "d4603f69-ec7e-4e9b-803f-600b9205576f",
    "f4aaba46-fb5f-4316-988d-88da77759968",
    "44b277eb-39be-4921-be31-3d61b43651d7",
]
HA = "130922a2-b9ab-4e95-86be-9c5d79171b5e"
INSTANT = ("--new-seconds", "0", "--building-seconds", "0")


def create(
    http: httpx.Client, backup: dict[str, Any], parents: dict[str, Any] | None = None
) -> str:
    response = http.post("/v1.0/1234/backups", json={"backup": backup}, headers=TOKEN)
    assert response.status_code == 202, response.text
    created = response.json()["backup"]
    if parents is not None:
        parents[created["id"]] = created["parent_id"]
    backup_id: str = created["id"]
    return backup_id


def delete(http: httpx.Client, backup_id: str) -> None:
    response = http.delete(f"/v1.0/1234/backups/{backup_id}", headers=TOKEN)
    assert response.status_code == 202, response.text


def backup_ids(http: httpx.Client) -> set[str]:
    state = http.get("/__mock/state").json()
    return {backup["id"] for backup in state["accounts"]["1234"]["backups"]}


def some_work(http: httpx.Client, rounds: int) -> tuple[set[str], set[str]]:
    """Full and incremental backups of three instances and the HA instance, some of them
    deleted. The ids acknowledged as created, and those removed by acknowledged deletes (the
    backup deleted and every backup made from it)."""
    parents: dict[str, str | None] = {}
    ha = {"instance": None, "source": {"type": "ha", "id": HA}}
    for round_ in range(rounds):
        for instance in INSTANCES:
            backup = {"name": f"r{round_}", "instance": instance, "incremental": round_ % 3 != 0}
            create(http, backup, parents)
        create(http, {"name": f"ha{round_}", **ha}, parents)
    removed: set[str] = set()
    for backup_id in list(parents)[::7]:
        if backup_id not in removed:
            delete(http, backup_id)
            removed |= family(parents, backup_id)
    return set(parents), removed


def saved_state(path: Path) -> Any:
    """The state document in `path` (whole: saves are atomic), or None before the first save."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def wait_until_saved(path: Path, state: dict[str, Any], timeout: float = 60.0) -> None:
    """Until a periodic save has written `state` to `path`: how soon depends on the machine's
    load as well as on --save-interval, so the test waits for the save, not for a time."""
    deadline = time.monotonic() + timeout
    while saved_state(path) != state:
        assert time.monotonic() < deadline, f"no periodic save of the state within {timeout:g} s"
        time.sleep(0.05)


def family(parents: dict[str, str | None], root: str) -> set[str]:
    """The backup and every backup made from it, recursively."""
    found = {root}
    while grown := {child for child, parent in parents.items() if parent in found} - found:
        found |= grown
    return found


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_nothing_acknowledged_before_a_graceful_stop_is_lost(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    state_file = tmp_path / "state" / "mock.json"  # neither the file nor its directory exists yet
    options = ("--state-file", str(state_file), "--save-interval", "0", *INSTANT)
    with MockProcess(*options) as server, httpx.Client(base_url=server.url) as http:
        created, removed = some_work(http, rounds=4)
        before = http.get("/__mock/state").json()
        server.process.send_signal(stop_signal)
        server.process.wait(15)
        assert server.stop() == 0  # already stopped by stop_signal: this only collects it
    assert json.loads(state_file.read_text(encoding="utf-8")) == before
    with MockProcess(*options) as server, httpx.Client(base_url=server.url) as http:
        after = http.get("/__mock/state").json()
        ids = backup_ids(http)
        assert server.stop() == 0
    assert after == before
    assert removed and created - removed <= ids
    assert not ids & removed


@pytest.mark.slow
def test_a_backup_running_at_a_stop_goes_on_running_after_the_restart(tmp_path: Path) -> None:
    options = ("--state-file", str(tmp_path / "mock.json"), "--save-interval", "0")
    timing = ("--new-seconds", "0.5", "--building-seconds", "0.5")
    with MockProcess(*options, *timing) as server, httpx.Client(base_url=server.url) as http:
        backup_id = create(http, {"name": "across", "instance": INSTANCES[1]})
        assert server.stop() == 0
    with MockProcess(*options, *timing) as server, httpx.Client(base_url=server.url) as http:
        path = f"/v1.0/1234/backups/{backup_id}"
        deadline = time.monotonic() + 10
        while http.get(path, headers=TOKEN).json()["backup"]["status"] != "COMPLETED":
            assert time.monotonic() < deadline, "the backup never completed after the restart"
            time.sleep(0.1)
        instance = http.get(f"/v1.0/1234/instances/{INSTANCES[1]}", headers=TOKEN).json()
        assert instance["instance"]["status"] == "ACTIVE"
        assert server.stop() == 0


@pytest.mark.slow
def test_every_region_is_kept_across_a_restart_and_a_file_without_regions_still_loads(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "mock.json"
    options = ("--state-file", str(state_file), "--save-interval", "0", "--frozen-clock")
    with MockProcess(*options) as server, httpx.Client(base_url=server.url) as http:
        copied = http.post(
            "/v1.0/1234/backups/d9f56b04-e17d-41f0-ae92-30a3b47b8d29/action",
            json={"copy-backup": {"target_backup_region": "IAD", "name": "kept"}},
            headers=TOKEN,
        )
        assert copied.status_code == 202, copied.text
        iad = http.get("/iad/v1.0/1234/backups", headers=TOKEN).json()["backups"]
        assert [b["name"] for b in iad] == ["kept"]
        assert server.stop() == 0
    saved = json.loads(state_file.read_text(encoding="utf-8"))
    assert saved["region"] == "DFW"
    assert saved["regions"]["IAD"]["accounts"]["1234"]["backups"][0]["copy_of"] == {
        "region": "DFW",
        "id": "d9f56b04-e17d-41f0-ae92-30a3b47b8d29",
    }
    with MockProcess(*options) as server, httpx.Client(base_url=server.url) as http:
        after = http.get("/iad/v1.0/1234/backups", headers=TOKEN).json()["backups"]
        assert [b["id"] for b in after] == [iad[0]["id"]]
        assert server.stop() == 0
    # A file saved before regions existed: its accounts are the own region's, the others empty.
    del saved["regions"], saved["region"]
    state_file.write_text(json.dumps(saved), encoding="utf-8")
    with (
        MockProcess(*options, "--region", "ORD") as server,
        httpx.Client(base_url=server.url) as http,
    ):
        own = http.get("/v1.0/1234/backups", headers=TOKEN).json()["backups"]
        assert len(own) == len(saved["accounts"]["1234"]["backups"])
        assert http.get("/dfw/v1.0/1234/backups", headers=TOKEN).json()["backups"] == []
        assert http.get("/iad/v1.0/1234/backups", headers=TOKEN).json()["backups"] == []
        assert server.stop() == 0


@pytest.mark.slow
def test_a_hard_kill_loses_at_most_the_last_save_interval(tmp_path: Path) -> None:
    interval = 0.5
    state_file = tmp_path / "mock.json"
    options = ("--state-file", str(state_file), "--save-interval", str(interval), *INSTANT)
    with MockProcess(*options) as server, httpx.Client(base_url=server.url) as http:
        created, removed = some_work(http, rounds=3)
        wait_until_saved(state_file, http.get("/__mock/state").json())  # an interval went by
        create(http, {"name": "late", "instance": INSTANCES[2]})  # may be lost: the last interval
        server.kill()  # SIGKILL: no chance to save
    saved = json.loads(state_file.read_text(encoding="utf-8"))  # whole: saves are atomic
    with MockProcess(*options) as server, httpx.Client(base_url=server.url) as http:
        ids = backup_ids(http)
        assert http.get("/__mock/state").json() == saved
        assert server.stop() == 0
    assert removed and created - removed <= ids
    assert not ids & removed


# -- state files that cannot be used -----------------------------------------------------------

VALID = (FIXTURES / "state.json").read_bytes()


def bad_state(**change: Any) -> bytes:
    state = read_json(FIXTURES / "state.json")
    backups = state["accounts"]["1234"]["backups"]
    backups[0].update(change)
    if change.get("id") == "twice":
        backups[0]["id"] = backups[1]["id"]
    return json.dumps(state).encode()


CORRUPT = {
    "garbage": b"\x00\x01 not a state file at all",
    "truncated JSON": VALID[: len(VALID) // 2],
    "empty": b"",
    "invalid UTF-8": b'{"accounts": {"\xff\xfe": {}}}',
    "a JSON list": b"[1, 2, 3]",
    "no accounts": b'{"datastores": ["mysql"]}',
    "accounts not an object": b'{"accounts": ["1234"]}',
    "a status the API does not have": bad_state(status="EXPLODED"),
    "an id that is not a UUID": bad_state(id="not-a-uuid"),
    "a size that is not a number": bad_state(size="large"),
    "the same backup twice": bad_state(id="twice"),
    "a parent that is not there": bad_state(parent_id="00000000-0000-4000-8000-000000000000"),
    "running without a lifecycle": bad_state(status="BUILDING"),
    "a timestamp without Z": bad_state(created="2015-08-31 22:16:25"),
}


@pytest.fixture
def never_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() in this process: should it accept the file, it must fail rather than serve."""

    def serve(*_: object) -> None:
        raise AssertionError("the mock started over a state file it should have refused")

    monkeypatch.setattr("mockserver.cli.serve", serve)
    monkeypatch.setattr("mockserver.cli.signal.signal", lambda *_: None)


@pytest.mark.usefixtures("never_serves")
@pytest.mark.parametrize("content", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_state_file_is_refused_and_left_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    state_file = tmp_path / "mock.json"
    state_file.write_bytes(content)
    modified = state_file.stat().st_mtime_ns
    assert main(["--state-file", str(state_file), "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("mockserver: error: ") and str(state_file) in error
    assert state_file.read_bytes() == content
    assert state_file.stat().st_mtime_ns == modified
    assert sorted(tmp_path.iterdir()) == [state_file]  # no temporary file or replacement


@pytest.mark.usefixtures("never_serves")
@pytest.mark.parametrize("kind", ["a directory", "under a file"])
def test_an_unreadable_state_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    if kind == "a directory":
        state_file = tmp_path / "mock.json"
        state_file.mkdir()
    else:
        (tmp_path / "file").write_text("{}", encoding="utf-8")
        state_file = tmp_path / "file" / "mock.json"
    assert main(["--state-file", str(state_file), "--port", "0"]) == 2
    error = capsys.readouterr().err
    assert (
        error.startswith("mockserver: error: cannot read state file") and str(state_file) in error
    )


@pytest.mark.slow
def test_the_command_refuses_a_corrupt_state_file_with_exit_status_2(tmp_path: Path) -> None:
    state_file = tmp_path / "mock.json"
    state_file.write_bytes(CORRUPT["truncated JSON"])
    command = [sys.executable, "-m", "mockserver", "--port", "0", "--state-file", str(state_file)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert finished.returncode == 2
    assert "is not valid JSON" in finished.stderr and "left as it is" in finished.stderr
    assert state_file.read_bytes() == CORRUPT["truncated JSON"]


# -- two saves at once: the newest state is the one that stays ---------------------------------


def test_a_slow_save_never_overwrites_a_newer_one(tmp_path: Path) -> None:
    # A periodic save (in a thread) may still be writing when the last save on shutdown runs.
    # Whatever the order they finish in, the file must end with the newer state.
    revision = 0
    first_started = threading.Event()
    second_saved = threading.Event()

    def snapshot() -> dict[str, Any]:
        nonlocal revision
        revision += 1
        taken = {"accounts": {}, "revision": revision}
        if revision == 1:
            first_started.set()
            second_saved.wait(0.5)  # slow: the second save has every chance to finish first
        return taken

    state_file = StateFile(tmp_path / "mock.json", snapshot)
    periodic = threading.Thread(target=state_file.save)
    periodic.start()
    assert first_started.wait(5)
    state_file.save()  # the last save, on shutdown
    second_saved.set()
    periodic.join(5)
    assert json.loads(state_file.path.read_text(encoding="utf-8"))["revision"] == 2


def test_a_periodic_save_that_fails_is_tried_again_at_the_next_interval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mock = create_app(Settings(frozen_clock=True))
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    state_file = StateFile(tmp_path / "a-file" / "mock.json", mock.store.snapshot)  # unwritable
    saved = tmp_path / "mock.json"

    def failed_saves() -> int:
        return sum(r.getMessage().startswith("cannot save the state") for r in caplog.records)

    async def until(condition: Callable[[], bool], what: str) -> None:
        # Saves run in a thread, at intervals of the loop: waited for, however slow the machine.
        deadline = time.monotonic() + 60
        while not condition():
            assert time.monotonic() < deadline, f"waited 60 s for {what}"
            await asyncio.sleep(0.01)

    async def scenario() -> None:
        saver = asyncio.create_task(save_periodically(mock, state_file, 0.02))
        await asyncio.sleep(0)  # the saver starts, and notes the revision it has saved
        mock.store.replace(mock.store.snapshot())  # a change to save
        await until(lambda: failed_saves() >= 2, "a failed save, and another at the next interval")
        assert not saver.done()  # the saves fail (the log says so), the saver goes on
        state_file.path = saved  # the disk is back
        await until(saved.exists, "a save once the disk is back")
        saver.cancel()

    asyncio.run(scenario())
    assert json.loads(saved.read_text(encoding="utf-8")) == mock.store.snapshot()
