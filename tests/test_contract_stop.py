"""A stopped run ends within seconds, whatever it was doing (schemathesis' phases, a lifecycle
wait, the state machine, a schedule's run, a restore, a copy, a request in flight), having cleaned
up on a mock (its schedules and the backups they made, the instances it restored and the copies
it made in another region, included);
against backups that never end, cleanup waits at most --cleanup-timeout and names what it left;
a second signal ends the process at once, without a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import broken_mocks
import fixture_ids
import httpx
import pytest
from support import FIXTURES, read_json

from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.plugin.threaded import ThreadedServer

pytestmark = pytest.mark.slow
COMMAND = Path(sys.executable).with_name("contract-tests")
ACCOUNT = broken_mocks.ACCOUNT
INSTANCE = fixture_ids.MYSQL
HA = fixture_ids.HA
# Read from the state itself: every backup and instance of the account, whatever it holds.
_FIXTURE_ACCOUNT = read_json(FIXTURES / "state.json")["accounts"][ACCOUNT]
FIXTURE_BACKUPS = {backup["id"] for backup in _FIXTURE_ACCOUNT["backups"]}
FIXTURE_INSTANCES = {instance["id"] for instance in _FIXTURE_ACCOUNT["instances"]}
STOP_WITHIN = 10.0  # seconds from the signal to the exit, on a mock (the promise)


class Running:
    """`contract-tests` as a process; its output is read as it comes, so it never blocks."""

    def __init__(self, url: str, *args: str) -> None:
        command = [str(COMMAND), "--base-url", f"{url}/v1.0/{ACCOUNT}"]
        command += ["--token", broken_mocks.TOKEN, *args]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._lines: list[str] = []
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def signal(self, signum: int = signal.SIGTERM) -> float:
        self.process.send_signal(signum)
        return time.monotonic()

    def wait(self, timeout: float) -> int:
        """The exit status; the test fails (and the process is killed) after `timeout` s."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.close()
            pytest.fail(f"contract-tests still ran {timeout:g} s later:\n{self.output[-4000:]}")
        self._pump.join(10)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._pump.join(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def running() -> Iterator[Callable[..., Running]]:
    """Starts `contract-tests` runs, and leaves none behind."""
    started: list[Running] = []

    def start(url: str, *args: str) -> Running:
        started.append(Running(url, *args))
        return started[-1]

    yield start
    for run in started:
        run.close()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout:g} s for {what}"
        time.sleep(0.02)


def backups_in(mock: Mock) -> set[str]:
    return {b["id"] for b in mock.store.snapshot()["accounts"][ACCOUNT]["backups"]}


def schedules_in(mock: Mock) -> set[str]:
    return {s["id"] for s in mock.store.snapshot()["accounts"][ACCOUNT].get("schedules", [])}


def instances_in(mock: Mock) -> set[str]:
    return {i["id"] for i in mock.store.snapshot()["accounts"][ACCOUNT]["instances"]}


def copies_in(mock: Mock) -> set[str]:
    """The backups of every other region: the copies there (the fixture has none)."""
    regions = mock.regions.snapshot()["regions"].values()
    return {b["id"] for r in regions for a in r["accounts"].values() for b in a.get("backups", [])}


def has_copied(mock: Mock) -> bool:
    """The run has made a copy (which is the run's to delete from then on)."""
    return any(
        e["status"] == 202 and e["path"].endswith("/action") for e in mock.journal.entries("POST")
    )


def has_restored(mock: Mock) -> bool:
    """The run has restored an instance (which is the run's to delete from then on)."""
    return instances_in(mock) != FIXTURE_INSTANCES


def has_created(mock: Mock) -> bool:
    return any(e["status"] == 202 for e in mock.journal.entries("POST"))


def has_a_scheduled_backup(mock: Mock) -> bool:
    """A schedule of the run exists, and has made a backup (`run_now`)."""
    backups = mock.store.snapshot()["accounts"][ACCOUNT]["backups"]
    return any(backup.get("schedule_id") for backup in backups)


@pytest.fixture
def never_ending(running: Callable[..., Running]) -> Iterator[Callable[..., tuple[Mock, Running]]]:
    """Starts a run (with the given options) against a service whose backups never end: no
    control API to move its clock, which is frozen. Gives the service and the run."""
    accounts = frozenset({ACCOUNT, broken_mocks.OTHER_ACCOUNT})
    mock = create_app(
        Settings(control=False, frozen_clock=True, tokens={broken_mocks.TOKEN: accounts})
    )
    with ThreadedServer(mock) as server:

        def start(*options: str) -> tuple[Mock, Running]:
            return mock, running(server.url, "--instance-id", INSTANCE, "--ha-id", HA, *options)

        yield start


def slowed(mock: Mock, latency_ms: int = 100) -> Mock:
    """Every GET of the API takes `latency_ms`: a phase of a run on a mock lasts seconds, not
    a fraction of one, so that a signal sent in it lands in it."""
    mock.injector.add(method="GET", path=f"/v1.0/{ACCOUNT}/*", latency_ms=latency_ms, count=None)
    return mock


MOMENTS = {
    # -k expression, what to wait for before the signal
    "schemathesis-phases": ("spec_conformance", lambda mock: len(mock.journal) >= 200),
    "state-machine": ("machine", has_created),
    "lifecycle": ("lifecycle", has_created),
    "schedules": ("run_now", has_a_scheduled_backup),
    "restores": ("restores", has_restored),
    "copies": ("copies", has_copied),
}


@pytest.mark.parametrize("moment", MOMENTS)
def test_a_run_stopped_by_sigterm_ends_within_10_s_and_leaves_the_mock_as_it_was(
    running: Callable[..., Running], moment: str
) -> None:
    expression, ready = MOMENTS[moment]
    mock = (
        broken_mocks.true_mock()
        if moment == "schemathesis-phases"
        else slowed(broken_mocks.true_mock())
    )
    before = backups_in(mock)
    with ThreadedServer(mock) as server:
        run = running(server.url, "-k", expression)
        wait_until(lambda: ready(mock), f"the {moment} to start")
        signalled = run.signal()
        code = run.wait(60)
        took = time.monotonic() - signalled
    assert code == 128 + signal.SIGTERM, run.output[-4000:]
    assert took < STOP_WITHIN, run.output[-4000:]
    assert backups_in(mock) == before and schedules_in(mock) == set(), run.output[-4000:]
    assert instances_in(mock) == FIXTURE_INSTANCES, run.output[-4000:]
    assert copies_in(mock) == set(), run.output[-4000:]
    assert "stopped by SIGTERM" in run.output and "Traceback" not in run.output


def test_a_run_stopped_in_the_middle_of_a_request_ends_within_10_s(
    running: Callable[..., Running],
) -> None:
    mock = broken_mocks.true_mock()
    before = backups_in(mock)
    with ThreadedServer(mock) as server:
        # The first show of a backup takes a minute to answer: the run is waiting on it.
        rule = {"method": "GET", "path": f"/v1.0/{ACCOUNT}/backups/*", "latency_ms": 60000}
        assert httpx.post(f"{server.url}/__mock/faults", json=rule).status_code == 201
        run = running(server.url, "-k", "lifecycle")
        wait_until(lambda: not mock.injector.rules(), "the slow request to reach the mock")
        signalled = run.signal()
        code = run.wait(60)
        took = time.monotonic() - signalled
    assert code == 128 + signal.SIGTERM and took < STOP_WITHIN, run.output[-4000:]
    assert backups_in(mock) == before, run.output[-4000:]


def test_a_run_stopped_while_schemathesis_waits_for_an_answer_ends_within_10_s(
    running: Callable[..., Running],
) -> None:
    mock = broken_mocks.true_mock()
    before = backups_in(mock)
    with ThreadedServer(mock) as server:
        # Only schemathesis' engine (in a thread of its own) asks for this list: its first
        # request waits a minute for the answer.
        path = f"/v1.0/{ACCOUNT}/instances/*/backups"
        rule = {"method": "GET", "path": path, "latency_ms": 60000}
        assert httpx.post(f"{server.url}/__mock/faults", json=rule).status_code == 201
        run = running(server.url, "-k", "spec_conformance")
        wait_until(lambda: not mock.injector.rules(), "the slow request to reach the mock")
        signalled = run.signal()
        code = run.wait(60)
        took = time.monotonic() - signalled
    assert code == 128 + signal.SIGTERM and took < STOP_WITHIN, run.output[-4000:]
    assert backups_in(mock) == before, run.output[-4000:]
    assert "left behind" in run.output  # the report says what it did not wait for


def test_ctrl_c_stops_a_run_as_sigterm_does(running: Callable[..., Running]) -> None:
    mock = slowed(broken_mocks.true_mock())
    before = backups_in(mock)
    with ThreadedServer(mock) as server:
        run = running(server.url, "-k", "lifecycle")
        wait_until(lambda: has_created(mock), "a backup")
        signalled = run.signal(signal.SIGINT)
        code = run.wait(60)
        took = time.monotonic() - signalled
    assert code == 128 + signal.SIGINT and took < STOP_WITHIN, run.output[-4000:]
    assert backups_in(mock) == before and "stopped by SIGINT" in run.output


def test_against_backups_that_never_end_cleanup_gives_up_after_its_timeout_and_names_them(
    never_ending: Callable[..., tuple[Mock, Running]],
) -> None:
    mock, run = never_ending("--cleanup-timeout", "5", "-k", "lifecycle")
    before = backups_in(mock)
    wait_until(lambda: has_created(mock), "a backup")
    signalled = run.signal()
    code = run.wait(60)
    took = time.monotonic() - signalled
    left = backups_in(mock) - FIXTURE_BACKUPS
    assert code == 128 + signal.SIGTERM, run.output[-4000:]
    # It waited --cleanup-timeout, once (a second wait would take it past 10 s).
    assert 5 <= took < 9.5, run.output[-4000:]
    assert left and before == FIXTURE_BACKUPS, "the backup never ends: cleanup cannot delete it"
    for backup_id in left:
        assert f"left: {backup_id}:" in run.output
        assert f"/v1.0/{ACCOUNT}/backups/{backup_id}" in run.output  # the command that deletes it
    assert "curl -X DELETE" in run.output and "Traceback" not in run.output


def test_a_run_against_backups_that_never_end_ends_by_itself_and_fails(
    never_ending: Callable[..., tuple[Mock, Running]],
) -> None:
    one = "busies_its_source_until_it_ends and instance"  # one wait, one cleanup
    _, run = never_ending("--timeout", "2", "--cleanup-timeout", "2", "-k", one)
    code = run.wait(300)
    assert code == 1, run.output[-4000:]
    assert "not after 2 s" in run.output and "could not be deleted" in run.output


def test_a_second_signal_ends_the_process_at_once_naming_what_is_left(
    never_ending: Callable[..., tuple[Mock, Running]],
) -> None:
    mock, run = never_ending("--cleanup-timeout", "600", "-k", "lifecycle")
    wait_until(lambda: has_created(mock), "a backup")
    run.signal()
    wait_until(lambda: "SIGTERM: stopping" in run.output, "the first signal to be handled")
    signalled = run.signal()
    code = run.wait(30)
    took = time.monotonic() - signalled
    left = backups_in(mock) - FIXTURE_BACKUPS
    assert code == 128 + signal.SIGTERM and took < 5, run.output[-4000:]
    assert "a second SIGTERM: stopped at once" in run.output
    assert left and all(f"/backups/{backup_id}" in run.output for backup_id in left)
    assert "Traceback" not in run.output
