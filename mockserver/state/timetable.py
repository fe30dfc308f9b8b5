"""When a backup schedule runs: pure arithmetic on epoch seconds, all in UTC (contract section 10).

Days are counted from the epoch rather than through datetime: a run falls at a whole minute, a
day is always 86,400 seconds in UTC, and a clock moved a year on makes 365 runs whose times this
computes at the cost of a few integer operations each.
"""

from __future__ import annotations

import time

DAY = 86_400
EVERY_DAY = 7  # day_of_week 7: a full backup every day
_EPOCH_WEEKDAY = 4  # 1970-01-01 was a Thursday; Sunday is 0 as in the API


def weekday(epoch: float) -> int:
    """The day of the week of a moment, 0 for Sunday to 6 for Saturday (the API's numbering)."""
    return (int(epoch // DAY) + _EPOCH_WEEKDAY) % 7


def next_time(after: float, hour: int, minute: int, day_of_week: int = EVERY_DAY) -> int:
    """The first moment strictly after `after` at hour:minute UTC, on `day_of_week` unless it is
    7 (any day)."""
    moment = int(after // DAY) * DAY + hour * 3600 + minute * 60
    if moment <= after:
        moment += DAY
    if day_of_week != EVERY_DAY:
        moment += (day_of_week - weekday(moment)) % 7 * DAY
    return moment


def is_full_day(epoch: float, day_of_week: int) -> bool:
    """Whether a daily run at this moment makes a full backup (else an incremental one)."""
    return day_of_week == EVERY_DAY or weekday(epoch) == day_of_week


def run_name(epoch: float) -> str:
    """The name of a backup a run makes: `scheduled-<YYYY-MM-DDTHH:MM>Z` of the run's time."""
    return time.strftime("scheduled-%Y-%m-%dT%H:%MZ", time.gmtime(int(epoch)))
