"""pytest plugin (entry point `pytest11`): a running backups mock for every test.

Fixtures:
- `backups_mock`: one mock for the session, reset before each test (fixture state, empty
  journal, no fault rules). Its clock is frozen: backups move NEW -> BUILDING -> COMPLETED only
  when the test calls `advance(seconds)` (1 s, then 4 s more). With `--backups-mock-url URL`
  (or `BACKUPS_MOCK_URL`) it drives a mock already running there instead of starting one.
- `backups_mock_factory(account=..., token=..., **settings)`: further mocks with other
  settings (`tokens`, `quota`, `rate_limits`, `frozen_clock`, ...). Each call in a test gives a
  distinct mock, reset; mocks are reused by later tests that ask for the same settings and
  stopped at the end of the session.

At the end of the session, the contract coverage of what the tests made the mocks answer
(plugin_coverage.py): a table in the terminal summary, `--backups-coverage-html PATH` and
`--backups-coverage-json PATH` write it, `--backups-coverage-fail-under PERCENT` fails below.

`backups_mock.region("IAD")` is one region of a mock (contract section 12): its endpoint
(`<url>/iad/v1.0/<account>`) and the same helpers, acting on that region.

The handles (plugin_mock.py, plugin_endpoint.py) talk to their mock only over HTTP (the control
API, `/__mock`, and for `add_schedule` and `copy_backup` the API itself, so that these get every
rule a consumer's requests would), so they work the same on a mock in this process and on one
started elsewhere. This module starts the mocks and holds the fixtures.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from typing import Any

import pytest

from mockserver.app import create_app
from mockserver.plugin.plugin_coverage import PLUGIN_NAME, CoverageReport, SessionCoverage
from mockserver.plugin.plugin_mock import DEFAULT_ACCOUNT, DEFAULT_TOKEN, BackupsMock, Region
from mockserver.plugin.threaded import ThreadedServer
from mockserver.settings import Settings

__all__ = ["BackupsMock", "MockFactory", "MockPool", "Region"]

Json = dict[str, Any]
URL_ENV = "BACKUPS_MOCK_URL"
ACCOUNT_ENV = "BACKUPS_MOCK_ACCOUNT"
TOKEN_ENV = "BACKUPS_MOCK_TOKEN"
# The plugin picks these; a factory call cannot change them.
_FIXED_SETTINGS = frozenset({"host", "port", "control"})


class ServerThread(ThreadedServer):
    """A mock built from `settings`, served in a thread of this process."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        super().__init__(
            self.app,
            settings.host,
            log_level=settings.log_level,
            default_headers=settings.upstream is None,
            lifespan=settings.upstream is not None,
            http=self.app.protocol(),
        )


class MockPool:
    """Mocks started by settings, so that later tests reuse them; all stopped by `close`."""

    def __init__(self, coverage: SessionCoverage | None = None) -> None:
        self._started: dict[str, list[tuple[ServerThread, BackupsMock]]] = {}
        self._coverage = coverage  # the session's: it counts every mock handed out

    @staticmethod
    def key(account: str, token: str | None, options: Mapping[str, Any]) -> str:
        tokens = options.get("tokens")
        if tokens is not None:
            options = {**options, "tokens": sorted((t, sorted(a)) for t, a in tokens.items())}
        return repr((account, token, sorted(options.items())))

    def get(
        self, index: int, account: str, token: str | None, options: Mapping[str, Any]
    ) -> BackupsMock:
        """The `index`-th mock of these settings (started when needed), reset."""
        started = self._started.setdefault(self.key(account, token, options), [])
        while len(started) <= index:
            settings = plugin_settings(**options)
            # Before the server starts: a call refused here must leave no server running that
            # the pool does not know of (close() would never stop it).
            mock_token = token or token_for(account, settings)
            server = ServerThread(settings)
            handle = BackupsMock(
                server.url,
                account=account,
                token=mock_token,
                control_token=settings.control_token,
                app=server.app,
            )
            started.append((server, handle))
        mock = started[index][1]
        mock.reset()  # a watched mock's counters are read first (they hold the last test's)
        if self._coverage is not None:
            self._coverage.watch(mock)  # after the reset: a new mock has nothing to read yet
        return mock

    def close(self) -> None:
        servers = [server for started in self._started.values() for server, _ in started]
        for started in self._started.values():
            for server, handle in started:
                handle.close()  # first: the session's coverage reads the mock's last answers
                server.stop(wait=False)  # all at once: each takes a tick of its loop to stop
        for server in servers:
            server.join()
        self._started.clear()


def plugin_settings(**options: Any) -> Settings:
    """Settings of a plugin mock: frozen clock, quiet, free port, with `options` on top."""
    known = {f.name for f in fields(Settings)} - _FIXED_SETTINGS
    unknown = set(options) - known
    if unknown:
        raise TypeError(
            f"unknown or fixed mock settings: {sorted(unknown)}; choose among {sorted(known)}"
        )
    tokens = options.get("tokens")
    if tokens is not None:
        options = {**options, "tokens": {t: frozenset(a) for t, a in tokens.items()}}
    values: Json = {"frozen_clock": True, "log_level": "warning", **options}
    return Settings(port=0, **values)


def token_for(account: str, settings: Settings) -> str:
    """A token that serves `account`: any one without a token table, else one from the table."""
    if settings.tokens is None:
        return DEFAULT_TOKEN
    for token, accounts in settings.tokens.items():
        if account in accounts or "*" in accounts:
            return token
    raise ValueError(f"no token of the table holds account {account}: pass token=...")


# -- pytest hooks and fixtures ------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("backups-mock")
    group.addoption(
        "--backups-mock-url",
        default=os.environ.get(URL_ENV) or None,
        metavar="URL",
        help="drive the mock (or the validating proxy, `mockserver --upstream`) already running"
        f" at URL instead of starting one (env: {URL_ENV})",
    )
    group.addoption(
        "--backups-mock-account",
        default=os.environ.get(ACCOUNT_ENV) or DEFAULT_ACCOUNT,
        metavar="ID",
        help=f"the account of --backups-mock-url's endpoint (default 1234; env: {ACCOUNT_ENV})",
    )
    group.addoption(
        "--backups-mock-token",
        default=os.environ.get(TOKEN_ENV) or DEFAULT_TOKEN,
        metavar="TOKEN",
        help="the X-Auth-Token for --backups-mock-url (through a proxy: a real service's token;"
        f" env: {TOKEN_ENV})",
    )
    group.addoption(
        "--backups-fail-on-violation",
        action="store_true",
        default=False,
        help="fail a test that uses backups_mock when the proxy at --backups-mock-url found a"
        " contract violation in the traffic of that test",
    )
    group.addoption(
        "--backups-coverage-html",
        default=None,
        metavar="PATH",
        help="write the contract coverage of the session (every answer of the backups mocks,"
        " by operation and documented status) as an offline HTML page at PATH",
    )
    group.addoption(
        "--backups-coverage-json",
        default=None,
        metavar="PATH",
        help="write the contract coverage of the session as JSON at PATH (the shape of"
        " GET /__mock/coverage, with the mocks measured)",
    )
    group.addoption(
        "--backups-coverage-fail-under",
        type=float,
        default=None,
        metavar="PERCENT",
        help="fail the session when its tests made the backups mocks answer less than PERCENT"
        " of the documented statuses (or used no backups mock)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(CoverageReport(config), PLUGIN_NAME)


def session_coverage(config: pytest.Config) -> SessionCoverage:
    report = config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert isinstance(report, CoverageReport), "the plugin's pytest_configure registers it"
    return report.coverage


@pytest.fixture(scope="session")
def backups_mock_pool(request: pytest.FixtureRequest) -> Iterator[MockPool]:
    """The mocks of `backups_mock_factory`; all stopped at the end of the session."""
    pool = MockPool(session_coverage(request.config))
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def backups_mock_session(request: pytest.FixtureRequest) -> Iterator[BackupsMock]:
    """The session's default mock, not reset: tests use `backups_mock`."""
    url: str | None = request.config.getoption("--backups-mock-url")
    if url is not None:
        account: str = request.config.getoption("--backups-mock-account")
        token: str = request.config.getoption("--backups-mock-token")
        remote = BackupsMock(url, account=account, token=token)
        # Its counters may hold answers from before this session: counted from zero.
        session_coverage(request.config).watch(remote, clear=True)
        yield remote
        remote.close()
        return
    pool = MockPool(session_coverage(request.config))
    yield pool.get(0, DEFAULT_ACCOUNT, None, {})
    pool.close()


@pytest.fixture
def backups_mock(
    backups_mock_session: BackupsMock, request: pytest.FixtureRequest
) -> Iterator[BackupsMock]:
    """The session's mock, reset for this test. With --backups-fail-on-violation, the test
    fails (at teardown) when the proxy found a violation in its traffic."""
    backups_mock_session.reset()
    if not request.config.getoption("--backups-fail-on-violation"):
        yield backups_mock_session
        return
    before = backups_mock_session.violations()
    if before["upstream"] is None:
        pytest.fail(
            f"--backups-fail-on-violation: {backups_mock_session.url} is a mock, not a proxy"
            " (start it with --upstream URL): there is no traffic to check",
            pytrace=False,
        )
    yield backups_mock_session
    after = backups_mock_session.violations()
    if after["violating_exchanges"] > before["violating_exchanges"]:
        pytest.fail(violations_report(backups_mock_session, after, before), pytrace=False)


def violations_report(mock: BackupsMock, after: Json, before: Json) -> str:
    """The violations of this test's exchanges, each with its request, as the journal has them
    (the counts come from the unbounded summary, so none is missed when the journal is full)."""
    count = after["violating_exchanges"] - before["violating_exchanges"]
    lines = [f"{count} exchange(s) through the proxy at {mock.url} broke the contract:"]
    for entry in mock._control.call("GET", "/requests")["requests"]:
        for violation in entry.get("violations", []):
            lines.append(
                f"  {entry['method']} {entry['path']} -> {entry['status']}:"
                f" {violation['rule']}: {violation['message']}"
            )
    if len(lines) == 1:
        lines.append("  (the journal no longer holds them: see GET /__mock/violations)")
    return "\n".join(lines)


MockFactory = Callable[..., BackupsMock]


@pytest.fixture
def backups_mock_factory(backups_mock_pool: MockPool) -> MockFactory:
    """`backups_mock_factory(account="1234", token=None, **settings)`: another mock, reset."""
    calls: Counter[str] = Counter()  # this test's calls by settings: each gets its own mock

    def factory(
        *, account: str = DEFAULT_ACCOUNT, token: str | None = None, **settings: Any
    ) -> BackupsMock:
        key = MockPool.key(account, token, settings)
        calls[key] += 1
        return backups_mock_pool.get(calls[key] - 1, account, token, settings)

    return factory
