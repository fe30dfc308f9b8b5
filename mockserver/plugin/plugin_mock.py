"""The handles the pytest plugin gives a test: `BackupsMock`, a running mock (its own region at
`/v1.0`, and everything that is one for all regions: state, reset, fault modes), and `Region`,
one region of it (`backups_mock.region("IAD")`, served at `/iad/v1.0`). Both talk to the mock
only over HTTP, so they work the same on a mock in this process and on one started elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from mockserver.plugin.plugin_endpoint import Control, Endpoint, Json, accounts_of

if TYPE_CHECKING:
    from mockserver.app import Mock
    from mockserver.state.store import Store

DEFAULT_ACCOUNT = "1234"
DEFAULT_TOKEN = "test-token"


class MockObserver(Protocol):
    """Told before a handle wipes its mock's coverage counters (a reset, a clear) and before it
    closes: the plugin's session coverage (plugin_coverage.py) reads the counters then."""

    def before_clear(self, mock: BackupsMock) -> None: ...

    def before_close(self, mock: BackupsMock) -> None: ...


class BackupsMock(Endpoint):
    """A running mock, driven through its control API; its own region's endpoint is `/v1.0`.
    See pytest_plugin.py."""

    def __init__(
        self,
        url: str,
        *,
        account: str = DEFAULT_ACCOUNT,
        token: str = DEFAULT_TOKEN,
        control_token: str | None = None,
        app: Mock | None = None,
    ) -> None:
        super().__init__(Control(url.rstrip("/"), control_token), url, account, token)
        self.app = app  # the in-process mock (store, clock, journal...), None for a remote one
        self._regions: tuple[str, ...] = ()  # the own region first; read once, when needed
        self.observer: MockObserver | None = None  # set by the plugin on the mocks it hands out

    @property
    def region_code(self) -> str:
        """The mock's own region (`--region`, DFW unless set)."""
        return self.regions[0]

    @property
    def regions(self) -> tuple[str, ...]:
        """The codes of the regions the mock serves, its own first."""
        if not self._regions:
            state = self.state()
            self._regions = (state["region"], *state.get("regions", {}))
        return self._regions

    def region(self, code: str) -> Region:
        """The handle of region `code` (any case): its endpoint, `<url>/<code>/v1.0/<account>`,
        with this mock's account and token, and the helpers acting on that region."""
        wanted = code.upper()
        if wanted not in self.regions:
            raise ValueError(f"no region {code}: the mock serves {', '.join(self.regions)}")
        return Region(self, wanted)

    def reset(self) -> None:
        """Back to the fixture state (every other region empty), no fault rules, normal
        backups, an empty journal, the coverage counted from zero."""
        if self.observer is not None:
            self.observer.before_clear(self)
        self._control.call("POST", "/reset")
        self._control.call("DELETE", "/requests")

    def state(self) -> Json:
        """The whole state document (`GET /__mock/state`): the own region's accounts at the
        top, the other regions' under `regions`."""
        return self._control.state()

    def seed(self, document: Mapping[str, Any]) -> None:
        """Replace the whole state with `document`, shaped as `state()` returns it; without
        `datastores`, the datastore types the mock knows stay as they are."""
        if "datastores" not in document:
            document = {**document, "datastores": self.state()["datastores"]}
        self._control.call("PUT", "/state", document)

    def clear_requests(self) -> None:
        """Empty the journal (of every region)."""
        self._control.call("DELETE", "/requests")

    def coverage(self) -> Json:
        """The answers of the API by operation and documented status since the last reset or
        clear (`GET /__mock/coverage`, control.yaml's `Coverage`)."""
        document: Json = self._control.call("GET", "/coverage")
        return document

    def clear_coverage(self) -> None:
        if self.observer is not None:
            self.observer.before_clear(self)
        self._control.call("DELETE", "/coverage")

    def violations(self) -> Json:
        """What a proxy (`mockserver --upstream`) found in the traffic since the last clear
        (`GET /__mock/violations`): counts by operation and rule, with examples. A mock that is
        no proxy checks nothing, and reports no upstream and no exchanges."""
        summary: Json = self._control.call("GET", "/violations")
        return summary

    def clear_violations(self) -> None:
        self._control.call("DELETE", "/violations")

    def fail_next_backup(self) -> None:
        """The next backup created ends FAILED instead of COMPLETED."""
        self._control.call("POST", "/faults", {"backups": "fail_next"})

    def fail_all_backups(self) -> None:
        self._control.call("POST", "/faults", {"backups": "fail_all"})

    def close(self) -> None:
        if self.observer is not None:
            self.observer.before_close(self)
            self.observer = None
        self._control.close()


class Region(Endpoint):
    """One region of a running mock, at `<mock url>/<code>`: the same account and token, its
    own instances, backups and schedules; journal queries and fault rules see only its
    requests (for the own region, those sent to `/v1.0` too). The clock is the mock's."""

    def __init__(self, mock: BackupsMock, code: str) -> None:
        super().__init__(mock._control, f"{mock.url}/{code.lower()}", mock.account, mock.token)
        self.mock = mock
        self.code = code

    @property
    def region_code(self) -> str:
        return self.code

    @property
    def _journal_region(self) -> str:
        return self.code

    @property
    def _relative_root(self) -> str:
        return "*"  # with the region's filter: its prefix, or none for the own region

    @property
    def store(self) -> Store | None:
        """The region's store in the in-process mock; None for a mock started elsewhere."""
        return self.mock.app.regions[self.code] if self.mock.app is not None else None

    def state(self) -> Json:
        """This region's part of the state document: `{"accounts": {...}}`."""
        return {"accounts": accounts_of(self.mock.state(), self.code)}

    def __repr__(self) -> str:
        return f"Region({self.code!r}, {self.base_url!r})"
