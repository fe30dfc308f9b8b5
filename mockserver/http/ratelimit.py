"""The documented rate limits: requests per minute, per account and operation, on the mock clock."""

from __future__ import annotations

import math
import threading
from collections import deque

from mockserver.state.clock import Clock
from mockserver.state.errors import OverLimit

WINDOW = 60.0


class RateLimiter:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, account: str, operation: str, per_minute: int, label: str) -> None:
        """Count a request, or raise OverLimit with the seconds to wait when over the limit."""
        now = self._clock.now()
        with self._lock:
            seen = self._seen.setdefault((account, operation), deque())
            while seen and seen[0] <= now - WINDOW:
                seen.popleft()
            if len(seen) >= per_minute:
                raise over_limit(per_minute, label, seen[0], now)
            seen.append(now)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


def over_limit(per_minute: int, label: str, oldest: float, now: float) -> OverLimit:
    """The 413 of a request past its limit: Retry-After when the oldest counted one leaves."""
    return OverLimit(
        "This request was rate-limited.",
        details=f"Only {per_minute} {label} request(s) can be made per minute.",
        retry_after=max(1, math.ceil(oldest + WINDOW - now)),
    )
