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

A `BackupsMock` talks to its mock only over HTTP (the control API, `/__mock`, and for
`add_schedule` the API itself, so that a schedule gets every rule a consumer's would), so it
works the same on a mock in this process and on one started elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from typing import Any

import httpx
import pytest

from mockserver.app import Mock, create_app
from mockserver.clock import parse_timestamp
from mockserver.models import location_of
from mockserver.settings import Settings
from mockserver.threaded import ThreadedServer

Json = dict[str, Any]
DEFAULT_ACCOUNT = "1234"
DEFAULT_TOKEN = "test-token"
URL_ENV = "BACKUPS_MOCK_URL"
MYSQL_5_6 = "1379cc8b-4bc5-4c4a-9e9d-7a9ad27c0866"  # the fixture state's mysql 5.6 version_id
# The plugin picks these; a factory call cannot change them.
_FIXED_SETTINGS = frozenset({"host", "port", "control"})


class BackupsMock:
    """A running mock, driven through its control API. See the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        account: str = DEFAULT_ACCOUNT,
        token: str = DEFAULT_TOKEN,
        control_token: str | None = None,
        app: Mock | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.account = account
        self.token = token
        self.app = app  # the in-process mock (store, clock, journal...), None for a remote one
        headers = {"X-Mock-Token": control_token} if control_token else {}
        self._control = httpx.Client(
            base_url=f"{self.url}/__mock", headers=headers, timeout=30, trust_env=False
        )

    @property
    def base_url(self) -> str:
        """The API's base: `http://127.0.0.1:<port>/v1.0/<account>`."""
        return f"{self.url}/v1.0/{self.account}"

    @property
    def headers(self) -> dict[str, str]:
        """Headers for a JSON request to the API with this mock's token."""
        return {"X-Auth-Token": self.token, "Content-Type": "application/json"}

    def reset(self) -> None:
        """Back to the fixture state, no fault rules, normal backups, an empty journal."""
        self._call("POST", "/reset")
        self._call("DELETE", "/requests")

    def state(self) -> Json:
        """The whole state document (`GET /__mock/state`)."""
        state: Json = self._call("GET", "/state")
        return state

    def seed(self, document: Mapping[str, Any]) -> None:
        """Replace the whole state with `document`, shaped as `state()` returns it; without
        `datastores`, the datastore types the mock knows stay as they are."""
        if "datastores" not in document:
            document = {**document, "datastores": self.state()["datastores"]}
        self._call("PUT", "/state", document)

    def add_instance(self, **fields: Any) -> Json:
        """Add an instance to this account; missing fields get defaults (an ACTIVE mysql 5.6)."""
        instance_id = fields.get("id") or str(uuid.uuid4())
        instance = {
            "id": instance_id,
            "name": f"instance-{instance_id[:8]}",
            "status": "ACTIVE",
            "datastore": {"type": "mysql", "version": "5.6", "version_id": MYSQL_5_6},
            "flavor": {"id": "2", "ram": 1024},
            "volume": {"size": 1},
            **fields,
        }
        return self._add("instances", instance)

    def add_backup(self, **fields: Any) -> Json:
        """Add an ended backup (COMPLETED unless `status="FAILED"`) of `instance_id`, or of
        `source={"type": "ha", "id": ...}`; the other fields default from what is backed up."""
        status = fields.get("status", "COMPLETED")
        if status not in ("COMPLETED", "FAILED"):
            raise ValueError(
                f"add_backup makes ended backups only, not {status}: create a running backup"
                " through the API (POST /backups)"
            )
        source = fields.get("source")
        if source is None and fields.get("instance_id"):
            source = {"type": "instance", "id": fields["instance_id"]}
        if source is None:
            raise ValueError("add_backup needs instance_id=... or source={'type', 'id'}")
        account = self._account(self.state())
        kind = "instances" if source["type"] == "instance" else "ha_instances"
        target = next((t for t in account.get(kind, []) if t["id"] == source["id"]), None)
        if target is None:
            raise ValueError(f"account {self.account} has no {kind[:-1]} {source['id']}")
        backup_id = fields.get("id") or str(uuid.uuid4())
        created = fields.get("created") or self.clock()["now"]
        completed = status == "COMPLETED"
        backup = {
            "id": backup_id,
            "name": f"backup-{backup_id[:8]}",
            "description": None,
            "status": status,
            "created": created,
            "updated": created,
            "instance_id": source["id"] if kind == "instances" else None,
            "source": dict(source),
            "parent_id": None,
            "locationRef": location_of(self.account, backup_id) if completed else None,
            "size": 0.1 if completed else None,
            "type": "InnoBackupExIncremental" if fields.get("parent_id") else "InnoBackupEx",
            "is_automated": 0,
            "flavor_ram": target["flavor"]["ram"],
            "volume_size": target["volume"]["size"],
            "datastore": dict(target["datastore"]),
            **fields,
        }
        return self._add("backups", backup)

    def clock(self) -> Json:
        """`{"now": <timestamp>, "epoch", "offset_seconds", "frozen"}`."""
        clock: Json = self._call("GET", "/clock")
        return clock

    def advance(
        self, seconds: float = 0, *, days: float = 0, hours: float = 0, minutes: float = 0
    ) -> None:
        """Move the clock forward by the sum of the arguments; the backups it passes change
        status, and every scheduled run it passes happens, each at its own time."""
        total = seconds + minutes * 60 + hours * 3600 + days * 86_400
        self._call("POST", "/clock", {"advance_seconds": total})

    def advance_to(self, moment: str) -> None:
        """Move the clock to `moment` (a timestamp such as a schedule's `next_run`); nothing
        happens when the clock is already there or past it."""
        ahead = parse_timestamp(moment) - self.clock()["epoch"]
        if ahead > 0:
            self.advance(ahead)

    def add_schedule(
        self,
        instance_id: str | None = None,
        *,
        ha_id: str | None = None,
        day_of_week: int = 0,
        hour: int = 0,
        minute: int = 0,
        **fields: Any,
    ) -> Json:
        """Create a backup schedule of an instance (or of the HA instance `ha_id`) through the
        API, `POST /schedules`, and return it; other members (`full_backup_retention`,
        `copy_to`) go as they are. A refusal raises, with the mock's fault message."""
        member: Json = {"action": "backup", "day_of_week": day_of_week, "hour": hour}
        member |= {"minute": minute, **fields}
        if ha_id is not None:
            member |= {"source_id": ha_id, "source_type": "ha"}
        elif instance_id is not None:
            member["instance_id"] = instance_id
        response = self._control.post(
            f"{self.base_url}/schedules", json={"schedule": member}, headers=self.headers
        )
        if response.status_code != 202:
            fault: Json = next(iter(response.json().values()), {})
            raise ValueError(f"POST /schedules: {response.status_code} {fault.get('message')}")
        schedule: Json = response.json()["schedule"]
        return schedule

    def requests(self, method: str | None = None, path: str | None = None) -> list[Json]:
        """Journal entries (`method`, `path`, `query`, `headers`, `body`, `status`, `at`),
        oldest first. `path` is a pattern (`*` matches anything) relative to `base_url`
        (`"/backups"`), unless it starts with `/v1.0`, `*` or is `/`."""
        query = {"method": method, "path": self._path(path) if path else None}
        answer = self._call("GET", "/requests", params={k: v for k, v in query.items() if v})
        entries: list[Json] = answer["requests"]
        return entries

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def inject(
        self,
        path: str,
        *,
        method: str = "*",
        status: int | None = None,
        latency_ms: int = 0,
        count: int | None = 1,
    ) -> None:
        """The next `count` requests (every one when None) matching `method` and `path` (as in
        `requests`) answer `status` with its fault body, after `latency_ms`."""
        rule = {
            "method": method,
            "path": self._path(path),
            "status": status,
            "latency_ms": latency_ms,
            "count": count,
        }
        self._call("POST", "/faults", rule)

    def fail_next_backup(self) -> None:
        """The next backup created ends FAILED instead of COMPLETED."""
        self._call("POST", "/faults", {"backups": "fail_next"})

    def fail_all_backups(self) -> None:
        self._call("POST", "/faults", {"backups": "fail_all"})

    def close(self) -> None:
        self._control.close()

    def _path(self, pattern: str) -> str:
        if pattern == "/" or pattern.startswith(("/v1.0", "*")):
            return pattern
        return f"/v1.0/{self.account}/{pattern.lstrip('/')}"

    def _account(self, state: Json) -> Json:
        accounts: Json = state["accounts"]
        account: Json = accounts.setdefault(self.account, {})
        return account

    def _add(self, kind: str, item: Json) -> Json:
        state = self.state()
        items: list[Json] = self._account(state).setdefault(kind, [])
        items[:] = [existing for existing in items if existing["id"] != item["id"]]
        items.append(item)
        self.seed(state)
        return item

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        response = self._control.request(method, path, json=body, params=params)
        if response.status_code >= 400:
            fault: Json = next(iter(response.json().values()), {})
            message = f"{method} /__mock{path}: {response.status_code} {fault.get('message')}"
            raise (ValueError if response.status_code == 400 else RuntimeError)(message)
        return response.json() if response.content else None


class ServerThread(ThreadedServer):
    """A mock built from `settings`, served in a thread of this process."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        super().__init__(self.app, settings.host, log_level=settings.log_level)


class MockPool:
    """Mocks started by settings, so that later tests reuse them; all stopped by `close`."""

    def __init__(self) -> None:
        self._started: dict[str, list[tuple[ServerThread, BackupsMock]]] = {}

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
        mock.reset()
        return mock

    def close(self) -> None:
        servers = [server for started in self._started.values() for server, _ in started]
        for started in self._started.values():
            for server, handle in started:
                handle.close()
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
    parser.getgroup("backups-mock").addoption(
        "--backups-mock-url",
        default=os.environ.get(URL_ENV) or None,
        metavar="URL",
        help=f"drive the mock already running at URL instead of starting one (env: {URL_ENV})",
    )


@pytest.fixture(scope="session")
def backups_mock_pool() -> Iterator[MockPool]:
    """The mocks of `backups_mock_factory`; all stopped at the end of the session."""
    pool = MockPool()
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def backups_mock_session(request: pytest.FixtureRequest) -> Iterator[BackupsMock]:
    """The session's default mock, not reset: tests use `backups_mock`."""
    url: str | None = request.config.getoption("--backups-mock-url")
    if url is not None:
        remote = BackupsMock(url)
        yield remote
        remote.close()
        return
    pool = MockPool()
    yield pool.get(0, DEFAULT_ACCOUNT, None, {})
    pool.close()


@pytest.fixture
def backups_mock(backups_mock_session: BackupsMock) -> BackupsMock:
    """The session's mock, reset for this test."""
    backups_mock_session.reset()
    return backups_mock_session


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
