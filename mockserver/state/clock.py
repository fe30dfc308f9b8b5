"""The mock's clock: real time plus an offset the control API can only move forward.

Processes that share one state (`mockserver/shared/`) answer each request at one instant agreed
through the shared store: `pinned` holds the clock there while the request runs, in its own task
only (a context variable), so that requests answered beside it keep their own instants."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime


class Clock:
    def __init__(self, frozen: bool = False, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._frozen_at: float | None = source() if frozen else None
        self._offset = 0.0
        self._lock = threading.Lock()
        self._pinned: ContextVar[float | None] = ContextVar("pinned_clock", default=None)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        pinned = self._pinned.get()
        if pinned is not None:
            return pinned
        return self.own_now()

    def own_now(self) -> float:
        """This process's reading, pinned or not."""
        base = self._source() if self._frozen_at is None else self._frozen_at
        return base + self._offset

    @contextmanager
    def pinned(self, at: float) -> Iterator[None]:
        """Within (in this task): `now` is `at`."""
        token = self._pinned.set(at)
        try:
            yield
        finally:
            self._pinned.reset(token)

    def restart(self, frozen_at: float | None) -> None:
        """Back to no offset, frozen at `frozen_at` (None: not frozen): the clock of a mock
        that starts over, to replay a shared state's log from its beginning."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = frozen_at

    def advance(self, seconds: float) -> float:
        if not seconds >= 0:  # also refuses NaN
            raise ValueError("the clock only moves forward: seconds must be a number >= 0")
        with self._lock:
            # No later: the API could not show a schedule's next run (see CLOCK_LAST_SECOND);
            # the indexes' keys (models.py) count on a bound far beyond it, year 31,700.
            if int(self.now() + seconds) > CLOCK_LAST_SECOND:
                raise ValueError(
                    "the clock cannot pass 9999-12-24T23:59:59Z: a schedule's next run, up to a"
                    " week later, must be a time the API can show (9999-12-31T23:59:59Z at most)"
                )
            self._offset += seconds
        pinned = self._pinned.get()
        if pinned is not None:  # the request that moved it sees it moved, as every later one
            self._pinned.set(pinned + seconds)
        return self.now()


LAST_SECOND = 253402300799  # 9999-12-31T23:59:59Z, the last second datetime can show
# The clock's own last second, a week before: the furthest time the API shows is a schedule's
# next run, at most a week after the clock (timetable.next_time).
CLOCK_LAST_SECOND = LAST_SECOND - 7 * 86_400  # 9999-12-24T23:59:59Z


def timestamp(epoch: float) -> str:
    """UTC, ISO 8601, second precision, with Z: the API's only timestamp form."""
    return _second(int(epoch))


@functools.lru_cache(maxsize=16384)
def _second(seconds: int) -> str:
    # A list page shows 40 timestamps, most of them shown before: a bounded cache of this pure
    # function answers them for a tenth of formatting's cost. time.gmtime costs less than half of
    # datetime.fromtimestamp; past year 9999 it raises as datetime would, not show 5 digits.
    if seconds > LAST_SECOND:
        raise ValueError(f"year is out of range: {seconds} seconds after the epoch")
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def parse_timestamp(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
