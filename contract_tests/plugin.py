"""The pytest plugin of the suite: its options, the target and the API as fixtures, the
closing report, and cleanup however the session ends.

Loaded by `contract_tests/suite/pytest.ini` (so `pytest contract_tests/suite` works) and by
the `contract-tests` command, which runs that suite.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Callable, Generator, Iterator
from typing import Any

import httpx
import pytest

from contract_tests import conformance, report
from contract_tests.api import Api
from contract_tests.checks import CheckFailed
from contract_tests.cleanup import clean_up
from contract_tests.conformance import Conformance
from contract_tests.contract import Contract
from contract_tests.exchange import TOKEN_HEADER
from contract_tests.ledger import Failure
from contract_tests.run import Run
from contract_tests.settings import (
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_TIMEOUT,
    ENV_PREFIX,
    MOCK_ACCOUNT,
    MOCK_TOKEN,
    Settings,
)
from contract_tests.target import Target
from contract_tests.timeline import Control, Timeline
from mockserver import Settings as MockSettings
from mockserver import create_app
from mockserver.resources import DEFAULT_STATE_PATH
from mockserver.threaded import ThreadedServer

RUN = pytest.StashKey[Run]()


class EngineFailures(AssertionError):
    """Schemathesis' failures, already in the ledger (the engine recorded them)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract-tests", "contract tests of the backups API")

    def option(name: str, help: str, kind: Callable[[str], object] = str) -> None:
        variable = ENV_PREFIX + name.upper().replace("-", "_")
        group.addoption(
            f"--{name}", type=kind, default=os.environ.get(variable), help=f"{help} [{variable}]"
        )

    option("base-url", "the service: http(s)://<host>/v1.0/<account> (default: the mock)")
    option("token", "the X-Auth-Token to send")
    option("instance-id", "an ACTIVE instance of the account, to back up")
    option("ha-id", "an ACTIVE HA instance of the account, to back up")
    option(
        "max-examples", f"examples per operation and phase (default {DEFAULT_MAX_EXAMPLES})", int
    )
    option("seed", "the seed of every random choice (default: a new one, reported)", int)
    option("workers", "schemathesis workers (default 1)", int)
    option("timeout", f"seconds a backup may take to end (default {DEFAULT_TIMEOUT:g})", float)
    variable = ENV_PREFIX + "READ_ONLY"
    group.addoption(
        "--read-only",
        action="store_true",
        default=os.environ.get(variable, "") not in ("", "0", "false", "no"),
        help=f"create and delete nothing (for production) [{variable}]",
    )


def pytest_configure(config: pytest.Config) -> None:
    def given(name: str, default: Any) -> Any:
        found = config.getoption(name)
        return default if found in (None, "") else found

    settings = Settings(
        base_url=given("base_url", None),
        token=given("token", None),
        instance_id=given("instance_id", None),
        ha_id=given("ha_id", None),
        max_examples=given("max_examples", DEFAULT_MAX_EXAMPLES),
        seed=given("seed", random.getrandbits(32)),
        workers=given("workers", 1),
        read_only=bool(config.getoption("read_only")),
        timeout=given("timeout", DEFAULT_TIMEOUT),
    )
    if settings.base_url and not settings.token:
        raise pytest.UsageError("--base-url needs --token (or CONTRACT_TESTS_TOKEN)")
    config.stash[RUN] = Run(settings)


def pytest_report_header(config: pytest.Config) -> str:
    settings = config.stash[RUN].settings
    where = settings.base_url or "the mock, in process"
    return f"contract-tests: target {where}, seed {settings.seed}"


def fixture_sources() -> tuple[str, str]:
    """The ACTIVE single instance and ACTIVE HA instance of the mock's default account."""
    state = json.loads(DEFAULT_STATE_PATH.read_text(encoding="utf-8"))
    account = state["accounts"][MOCK_ACCOUNT]
    instance = next(
        i["id"] for i in account["instances"] if i["status"] == "ACTIVE" and not i.get("ha_id")
    )
    ha = next(h["id"] for h in account["ha_instances"] if h["state"] == "ACTIVE")
    return instance, ha


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def run(request: pytest.FixtureRequest) -> Run:
    return request.config.stash[RUN]


@pytest.fixture(scope="session")
def target(run: Run) -> Iterator[Target]:
    settings = run.settings
    if settings.base_url is not None:
        run.target = Target(
            settings.base_url,
            settings.token or "",
            settings.instance_id,
            settings.ha_id,
            settings.read_only,
        )
        yield run.target
        return
    instance_id, ha_id = fixture_sources()
    # A token table, so that the suite can show the mock refuses tokens it does not know.
    mock = create_app(
        MockSettings(frozen_clock=True, tokens={MOCK_TOKEN: frozenset({MOCK_ACCOUNT})})
    )
    with ThreadedServer(mock) as server:
        run.in_process = True
        run.target = Target(
            f"{server.url}/v1.0/{MOCK_ACCOUNT}",
            MOCK_TOKEN,
            settings.instance_id or instance_id,
            settings.ha_id or ha_id,
            settings.read_only,
        )
        yield run.target


@pytest.fixture(scope="session")
def api(run: Run, target: Target) -> Iterator[Api]:
    with httpx.Client(timeout=30.0) as http:
        try:
            http.get(target.url("/"))
        except httpx.HTTPError as error:
            pytest.exit(f"contract-tests: {target.base_url} cannot be reached: {error}", 3)
        control = Control.detect(http, target.root)
        run.has_control = control is not None
        api = Api(
            target,
            http,
            contract=Contract.load(),
            ledger=run.ledger,
            inventory=run.inventory,
            timeline=Timeline(control, run.settings.timeout),
        )
        try:
            yield api
        finally:  # also after a failure or Ctrl-C: pytest tears down
            api.adopt_unacknowledged()
            clean_up(api, run.cleanup)


@pytest.fixture(autouse=True)
def each_test_cleans_up(request: pytest.FixtureRequest, run: Run) -> Iterator[None]:
    """After each test, delete what it created and left, so that a test that fails does not
    leave a running backup to fail the next one."""
    yield
    if run.inventory.remaining() and "api" in request.fixturenames:
        clean_up(request.getfixturevalue("api"), run.cleanup)


@pytest.fixture(scope="session")
def target_checks_tokens(api: Api) -> bool:
    """Whether the target refuses a token it does not know. A real service must; the mock does
    only when started with a token table (by default it accepts any non-empty token)."""
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
        api.ledger.note(
            "ignored_auth (a token the target does not know is 401): the target is a mock that"
            " accepts any token; start it with --tokens to run this check"
        )
    return answer.status == 401


@pytest.fixture(scope="session")
def conformance_run(api: Api, run: Run, target_checks_tokens: bool) -> Conformance:
    found = conformance.run(api, run.settings, target_checks_tokens, api.timeline.control)
    clean_up(api, run.cleanup)  # free the quota for the hand-written checks that follow
    if found.interrupted:
        raise KeyboardInterrupt
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
    if run.cleanup.left and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a run that leaves backups failed


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(report.render(terminalreporter.config.stash[RUN]))
