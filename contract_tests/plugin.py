"""The pytest plugin of the suite: the target and the API as fixtures, the closing report, and
cleanup however the session ends. Its options, and the run they make, are in `options.py`, whose
hooks it registers as its own.

Loaded by `contract_tests/suite/pytest.ini` (so `pytest contract_tests/suite` works) and by
the `contract-tests` command, which runs that suite.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

from contract_tests import conformance, html_report, report
from contract_tests.api import Api
from contract_tests.checks import TOKEN_CHECKS, CheckFailed
from contract_tests.cleanup import clean_up
from contract_tests.contract import Contract
from contract_tests.discovery import discover
from contract_tests.exchange import TOKEN_HEADER
from contract_tests.ledger import Failure
from contract_tests.omissions import omissions
from contract_tests.options import RUN
from contract_tests.options import pytest_addoption as pytest_addoption  # a hook of this plugin
from contract_tests.options import pytest_configure as pytest_configure  # a hook of this plugin
from contract_tests.outcomes import Conformance
from contract_tests.regions import named_by, reach
from contract_tests.run import Run
from contract_tests.settings import MOCK_ACCOUNT, MOCK_OTHER_ACCOUNT, MOCK_TOKEN
from contract_tests.shutdown import SignalHandlers, Stopped
from contract_tests.target import Target
from contract_tests.timeline import Control, Timeline
from contract_tests.transport import AbortableBackend, abortable_client
from mockserver import Settings as MockSettings
from mockserver import create_app
from mockserver.plugin.threaded import ThreadedServer

HANDLERS = pytest.StashKey[SignalHandlers]()
PAGE_NOTE = pytest.StashKey[str]()  # where the report page was written, until it is said


class EngineFailures(AssertionError):
    """Schemathesis' failures, already in the ledger (the engine recorded them)."""


def pytest_sessionstart(session: pytest.Session) -> None:
    run = session.config.stash[RUN]

    def first(reason: str) -> None:
        session.shouldstop = f"contract-tests: {reason}; cleaning up"

    handlers = SignalHandlers(run.shutdown, first, lambda: report.last_words(run))
    handlers.install()
    session.config.stash[HANDLERS] = handlers


def pytest_unconfigure(config: pytest.Config) -> None:
    handlers = config.stash.get(HANDLERS, None)
    if handlers is not None:
        handlers.restore()
    note = config.stash.get(PAGE_NOTE, None)
    if note is not None:  # no report was printed (the run could not start)
        print(note)


def pytest_report_header(config: pytest.Config) -> str:
    settings = config.stash[RUN].settings
    where = settings.base_url or "the mock, in process"
    return f"contract-tests: target {where}, seed {settings.seed}"


def not_run(api: Api, why: str, *checks: str) -> NoReturn:
    """Skip the test, and say in the report why each of `checks` did not run."""
    for name in checks:
        api.ledger.not_run(name, why)
    pytest.skip(why)


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def run(request: pytest.FixtureRequest) -> Run:
    return request.config.stash[RUN]


@pytest.fixture(scope="session")
def target(run: Run) -> Iterator[Target]:
    """The target as given: the ids of what to back up may still be discovered (`api`)."""
    settings = run.settings
    if settings.base_url is not None:
        yield Target(
            settings.base_url,
            settings.token or "",
            settings.instance_id,
            settings.ha_id,
            settings.read_only,
        )
        return
    # A token table, so that the suite can show the mock refuses tokens it does not know; the
    # token holds a second account, so that it can show that accounts are kept apart.
    accounts = frozenset({MOCK_ACCOUNT, MOCK_OTHER_ACCOUNT})
    mock = create_app(MockSettings(frozen_clock=True, tokens={MOCK_TOKEN: accounts}))
    with ThreadedServer(mock, http=mock.protocol()) as server:
        run.in_process = True
        yield Target(
            f"{server.url}/v1.0/{MOCK_ACCOUNT}",
            MOCK_TOKEN,
            settings.instance_id,
            settings.ha_id,
            settings.read_only,
        )


@pytest.fixture(scope="session")
def api(run: Run, target: Target) -> Iterator[Api]:
    settings = run.settings
    backend = AbortableBackend()
    stop_cutting = run.shutdown.on_request(backend.abort)  # requests in flight end at a stop
    with abortable_client(backend, timeout=30.0) as http:
        try:
            reached = http.get(target.url("/"))
        except httpx.HTTPError as error:
            pytest.exit(f"contract-tests: {target.base_url} cannot be reached: {error}", 3)
        contract = Contract.load()
        run.ledger.saw(contract.label("GET", "/"), reached.status_code)  # an answer like any
        codes = contract.spec.regions
        control = Control.detect(http, target.root, codes)
        run.has_control = control is not None
        found = Api(
            target,
            http,
            contract=contract,
            ledger=run.ledger,
            inventory=run.inventory,
            timeline=Timeline(control, settings.timeout, run.shutdown),
            shutdown=run.shutdown,
        )
        sources = discover(
            found, target.instance_id, target.ha_id, settings.discover or control is not None
        )
        run.sources = sources.notes
        # A restore makes an instance: on a real service a real one, only when allowed.
        restores = not target.read_only and (settings.allow_restore or control is not None)
        # So does a copy, a backup in another region.
        region = named_by(target.root, codes) or (control.region() if control else None)
        if settings.allow_copy is not None and settings.allow_copy.code == region:
            pytest.exit(f"contract-tests: --allow-copy names {region}, the target's own region", 4)
        copy_to, elsewhere = reach(
            target.root, region, codes, settings.allow_copy, control is not None
        )
        run.target = replace(
            target,
            instance_id=sources.instance_id,
            ha_id=sources.ha_id,
            restores=restores,
            region=region,
            copy_to=None if target.read_only else copy_to,
            elsewhere=elsewhere,
        )
        api = found.with_target(run.target)
        api.note_schedules_before()
        try:
            yield api
        finally:  # also after a failure, Ctrl-C or SIGTERM: pytest tears down
            cleaner = api.for_cleanup()
            cleaner.adopt_unacknowledged()
            clean_up(cleaner, run.cleanup, settings.cleanup_timeout)
            stop_cutting()


@pytest.fixture(autouse=True)
def each_test_cleans_up(request: pytest.FixtureRequest, run: Run) -> Iterator[None]:
    """After each test, delete what it created and left, so that a test that fails does not
    leave a running backup (or a schedule that makes them) to fail the next one."""
    yield
    if run.shutdown.requested:
        return  # the run stops: the session's cleanup, on its own time budget, does it all
    if run.inventory.holds_anything() and "api" in request.fixturenames:
        api: Api = request.getfixturevalue("api")
        clean_up(api.for_cleanup(), run.cleanup, run.settings.cleanup_timeout)


@pytest.fixture(scope="session")
def target_checks_tokens(api: Api, run: Run) -> bool:
    """Whether the target refuses a token it does not know. A real service must; the mock does
    only when started with a token table (by default it accepts any non-empty token)."""
    run.checks_tokens = True
    if api.timeline.control is None:
        return True
    answer = api.call(
        "GET",
        api.path("/backups"),
        token=False,
        headers={TOKEN_HEADER: f"contract-tests-invalid-{uuid.uuid4().hex}"},
        judge=False,  # a probe: the checks judge the faults they provoke themselves
    )
    if answer.status != 401:
        why = "the target is a mock that accepts any token; start it with --tokens to run it"
        for check in TOKEN_CHECKS:
            api.ledger.not_run(check, why)
    run.checks_tokens = answer.status == 401
    return run.checks_tokens


@pytest.fixture(scope="session")
def conformance_run(api: Api, run: Run, target_checks_tokens: bool) -> Conformance:
    found = conformance.run(
        api, run.settings, target_checks_tokens, api.timeline.control, run.shutdown
    )
    run.engine_checks = found.enabled_checks
    run.creates = found.creates
    run.schedule_creates = found.schedule_creates
    run.instance_creates = found.instance_creates
    run.copy_requests = found.copy_requests
    if found.interrupted:
        raise Stopped(run.shutdown.reason or "schemathesis was interrupted")
    # Free the quota for the hand-written checks that follow.
    clean_up(api.for_cleanup(), run.cleanup, run.settings.cleanup_timeout)
    return found


@pytest.fixture(scope="session", autouse=True)
def junit_properties(
    record_testsuite_property: Callable[[str, object], None], run: Run, target: Target
) -> None:
    """The run's coordinates, in the JUnit report (a no-op without --junit)."""
    record_testsuite_property("target", target.base_url)
    record_testsuite_property("seed", run.settings.seed)
    record_testsuite_property("read_only", run.settings.read_only)
    record_testsuite_property("max_examples", run.settings.max_examples)


# -- hooks -----------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    outcome = yield
    error = call.excinfo.value if call.excinfo is not None else None
    if outcome.skipped and isinstance(outcome.longrepr, tuple):
        reason = str(outcome.longrepr[2]).removeprefix("Skipped: ")
        item.config.stash[RUN].skipped[item.nodeid] = reason
    if error is None or isinstance(error, EngineFailures | pytest.skip.Exception):
        return outcome
    ledger = item.config.stash[RUN].ledger
    if isinstance(error, CheckFailed):
        ledger.failed(
            Failure(error.check or "check", error.title, error.reason, error.curls(), item.nodeid)
        )
    elif not isinstance(error, KeyboardInterrupt):
        title = f"{type(error).__name__} in {call.when}"
        ledger.failed(Failure("(error)", title, str(error), (), item.nodeid))
    return outcome


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash[RUN]
    try:
        _exit_status(session, run)
    finally:  # the page is written whatever the run's outcome
        _write_page(session.config, run)


def _exit_status(session: pytest.Session, run: Run) -> None:
    if run.shutdown.signal is not None:  # as a command stopped by a signal exits
        session.exitstatus = 128 + run.shutdown.signal
        return
    if session.exitstatus != pytest.ExitCode.OK:
        return
    if run.cleanup.leaves_anything():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a run that leaves anything failed
    elif run.settings.require_all and omissions(run):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # --require-all: no check may skip


def _write_page(config: pytest.Config, run: Run) -> None:
    """`--html`: the report page, and a line that says where it is (or why it is not)."""
    if not run.settings.html:
        return
    path = Path(run.settings.html)
    try:
        html_report.write(run, path)
        said = f"contract-tests: the report page is {path}"
    except OSError as error:
        said = f"contract-tests: the report page could not be written to {path}: {error}"
    config.stash[PAGE_NOTE] = said  # said after the report, or at the end without one


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    terminalreporter.write_line(report.render(config.stash[RUN]))
    note = config.stash.get(PAGE_NOTE, None)
    if note is not None:
        terminalreporter.write_line(note)
        del config.stash[PAGE_NOTE]
