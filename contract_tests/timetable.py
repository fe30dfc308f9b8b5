"""When a schedule runs (contract section 10), computed from what it was asked: every time is UTC,
days are numbered 0 (Sunday) to 6, and 7 means every day. Computed with `datetime`, nothing
borrowed from an implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

DAY = 86_400
EVERY_DAY = 7  # day_of_week 7: a full backup every day
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def timestamp(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime(_FORMAT)


def parse_time(text: Any) -> int | None:
    """Seconds since the epoch of a timestamp of the contract (`2015-08-31T22:16:25Z`)."""
    try:
        return int(datetime.strptime(str(text), _FORMAT).replace(tzinfo=UTC).timestamp())
    except ValueError:
        return None


def weekday(epoch: float) -> int:
    """The day of the week, as the API numbers it: 0 for Sunday to 6 for Saturday."""
    return (datetime.fromtimestamp(epoch, UTC).weekday() + 1) % 7


def next_time(after: float, hour: int, minute: int, day_of_week: int = EVERY_DAY) -> int:
    """The first moment strictly after `after` at hour:minute UTC, on `day_of_week` unless it
    is 7 (any day)."""
    moment = datetime.fromtimestamp(int(after), UTC).replace(hour=hour, minute=minute, second=0)
    if moment.timestamp() <= after:
        moment += timedelta(days=1)
    if day_of_week != EVERY_DAY:
        moment += timedelta(days=(day_of_week - weekday(moment.timestamp())) % 7)
    return int(moment.timestamp())


def run_name(epoch: float) -> str:
    """The name of a backup a run makes: `scheduled-<YYYY-MM-DDTHH:MM>Z` of the run's time."""
    return datetime.fromtimestamp(int(epoch), UTC).strftime("scheduled-%Y-%m-%dT%H:%MZ")


def far_from(now: float) -> dict[str, int]:
    """A schedule whose first run is days away and whose daily time is half a day from now: no
    run falls while a check looks (and a real service's first run is long after the suite)."""
    later = datetime.fromtimestamp(now + 3 * DAY + DAY // 2, UTC)
    return {"day_of_week": weekday(later.timestamp()), "hour": later.hour, "minute": 17}


def next_run_problem(schedule: Mapping[str, Any]) -> str | None:
    """What is wrong with `next_run` just after a change: it is the first moment after it
    (`updated`) at hour:minute UTC, on `day_of_week` while the schedule never ran (7: any
    day), and any day once it did (None: nothing is wrong)."""
    updated = parse_time(schedule.get("updated"))
    next_run = parse_time(schedule.get("next_run"))
    hour, minute, day = (schedule.get(name) for name in ("hour", "minute", "day_of_week"))
    if updated is None or next_run is None:
        return f"updated {schedule.get('updated')!r}, next_run {schedule.get('next_run')!r}"
    if not (isinstance(hour, int) and isinstance(minute, int) and isinstance(day, int)):
        return f"hour, minute, day_of_week are {hour!r}, {minute!r}, {day!r}"
    if schedule.get("last_scheduled") is not None:
        day = EVERY_DAY  # once it ran, it runs every day
    expected = next_time(updated, hour, minute, day)
    if next_run == expected:
        return None
    when = "any day" if day == EVERY_DAY else f"day {day} of the week"
    return (
        f"next_run is {schedule.get('next_run')}: the first {hour:02d}:{minute:02d} UTC on {when}"
        f" after the change ({schedule.get('updated')}) is {timestamp(expected)}"
    )
