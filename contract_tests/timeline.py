"""The timeline: how the suite lets time pass on the target.

A mock with a control API has a clock the suite moves forward (`POST /__mock/clock`), so a
lifecycle of minutes takes a few requests. A real service has no such clock: the suite waits
for the real transitions, polling, up to a bounded timeout. A timeline with a `Shutdown` stops
waiting the moment the run is asked to stop; cleanup's has none, and goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

import httpx

from contract_tests.shutdown import Shutdown, nap

CLOCK_PATH = "/__mock/clock"
STATE_PATH = "/__mock/state"
VIOLATIONS_PATH = "/__mock/violations"


class TimedOut(Exception):
    """What the suite waited for did not happen within the timeout."""


class Control:
    """The mock's control API under <root>/__mock, when the target has one."""

    def __init__(self, http: httpx.Client, root: str) -> None:
        self.http = http
        self.root = root

    @classmethod
    def detect(cls, http: httpx.Client, root: str, regions: Collection[str] = ()) -> Control | None:
        """The control API of the mock at `root`; when `root` is one of its regions' endpoints
        (`<mock>/iad`, one of `regions`), the mock's, at the mock's own root."""
        head, _, last = root.rstrip("/").rpartition("/")
        candidates = [root, head] if last.upper() in regions and "://" in head else [root]
        for candidate in candidates:
            try:
                answer = http.get(candidate + CLOCK_PATH)
                clock = answer.json() if answer.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                continue
            if isinstance(clock, dict) and "now" in clock:
                return None if _is_proxy(http, candidate) else cls(http, candidate)
        return None

    def region(self) -> str | None:
        """The mock's own region (`GET /__mock/state` says it), None when it does not say."""
        try:
            answer = self.http.get(self.root + STATE_PATH)
            state = answer.json() if answer.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None
        region = state.get("region") if isinstance(state, dict) else None
        return region if isinstance(region, str) else None

    def advance(self, seconds: float) -> None:
        answer = self.http.post(self.root + CLOCK_PATH, json={"advance_seconds": seconds})
        answer.raise_for_status()

    def now(self) -> float:
        """The mock's time, in seconds since the epoch (it is ahead of the real one once moved)."""
        answer = self.http.get(self.root + CLOCK_PATH)
        answer.raise_for_status()
        return float(answer.json()["epoch"])


def _is_proxy(http: httpx.Client, root: str) -> bool:
    """Whether `root` is a validating proxy (`mockserver --upstream`): its control API is its
    own, not the target's behind it, whose clock it cannot move. The target is then run as a
    real service is."""
    try:
        answer = http.get(root + VIOLATIONS_PATH)
        summary = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return False
    return isinstance(summary, dict) and summary.get("upstream") is not None


class Timeline:
    def __init__(
        self, control: Control | None, timeout: float, shutdown: Shutdown | None = None
    ) -> None:
        self.control = control
        self.timeout = timeout  # seconds of target time, real or simulated
        self.shutdown = shutdown  # None: nothing stops it (cleanup)

    def now(self) -> float:
        """The target's time: the mock's clock, or (a real service keeps real time) this one."""
        return self.control.now() if self.control is not None else time.time()

    def pass_time(self, seconds: float) -> None:
        if self.shutdown is not None:
            self.shutdown.check()
        if self.control is not None:
            self.control.advance(seconds)
        elif self.shutdown is not None:
            self.shutdown.sleep(seconds)
        else:
            nap(seconds)

    def wait_for(self, ready: Callable[[], bool], what: str, timeout: float | None = None) -> None:
        """Let time pass until `ready()` is true; TimedOut after `timeout` (default: the
        timeline's) seconds of it."""
        limit = self.timeout if timeout is None else timeout
        # Steps grow: a short lifecycle is seen soon, a long one costs few requests.
        waited, step = 0.0, 0.25
        longest = 60.0 if self.control is not None else 5.0
        while not ready():
            if waited >= limit:
                raise TimedOut(f"{what}: not after {limit:g} s")
            step = min(step * 2, longest, limit - waited)
            self.pass_time(step)
            waited += step
