"""The mock's clock: real time plus an offset the control API can only move forward."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    def __init__(self, frozen: bool = False, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._frozen_at: float | None = source() if frozen else None
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        base = self._source() if self._frozen_at is None else self._frozen_at
        return base + self._offset

    def advance(self, seconds: float) -> float:
        if not seconds >= 0:  # also refuses NaN
            raise ValueError("the clock only moves forward: seconds must be a number >= 0")
        with self._lock:
            self._offset += seconds
        return self.now()


_LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime can show


def timestamp(epoch: float) -> str:
    """UTC, ISO 8601, second precision, with Z: the API's only timestamp form."""
    return _second(int(epoch))


@functools.lru_cache(maxsize=16384)
def _second(seconds: int) -> str:
    # A list page shows 40 timestamps, most of them shown before: a bounded cache of this pure
    # function answers them for a tenth of formatting's cost. time.gmtime costs less than half of
    # datetime.fromtimestamp; past year 9999 it raises as datetime would, not show 5 digits.
    if seconds > _LAST_SECOND:
        raise ValueError(f"year is out of range: {seconds} seconds after the epoch")
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def parse_timestamp(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
