"""Scheduled backups, checked by hand on every run (contract section 10): a schedule keeps what
was asked, a target has one at most, an update recomputes `next_run`, `run_now` backs the source
up at once and the backup outlives the schedule; where the suite moves the target's clock (a
mock), the runs themselves, day after day, and retention.

Every schedule is of a source the run backs up, whose datastore schedules support; the test
deletes it, or cleanup does (also after a failure or a stop), with the backups it made. On a
real service `run_now`'s backup is waited for, as the lifecycle checks wait, before it goes.
"""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests import runs, schedules, scheduling
from contract_tests.account import wait_until_ended
from contract_tests.api import Api
from contract_tests.exchange import Exchange
from contract_tests.lifecycle import ENDED
from contract_tests.plugin import not_run
from contract_tests.source import Source
from contract_tests.timetable import DAY, EVERY_DAY, far_from, timestamp, weekday

ON_THE_CLOCK = runs.CHECKS
BY_HAND = schedules.CHECKS
NO_CLOCK = (
    "the target has no control API: the suite cannot move its clock to a schedule's runs,"
    " which a real service makes days apart"
)
KINDS = ["instance", "ha"]
RUNS = 8  # days the clock is moved through at once: a week of runs and the next full backup


@pytest.fixture
def writable(api: Api) -> Api:
    if api.target.read_only:
        not_run(api, "read-only: no schedule is created", *BY_HAND, *ON_THE_CLOCK)
    return api


def schedulable(api: Api, kind: str, *checks: str) -> Source:
    """The run's source of that kind, if a schedule may be made of it (else "Not run")."""
    source = next((s for s in api.sources() if s.kind == kind), None)
    if source is None:
        option = "--instance-id" if kind == "instance" else "--ha-id"
        not_run(api, f"no {kind} to schedule: give {option} (or --discover)", *checks)
    why = scheduling.unschedulable(api, source)
    if why is not None:
        not_run(api, why, *checks)
    return source


def any_schedulable(api: Api, *checks: str) -> Source:
    reasons = []
    for source in api.sources():
        why = scheduling.unschedulable(api, source)
        if why is None:
            return source
        reasons.append(why)
    why = "; ".join(reasons) or "nothing to schedule: give --instance-id or --ha-id"
    not_run(api, why, *checks)


def created(api: Api, source: Source, **asked: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new schedule of `source` (at a time far from now, unless asked), checked: what was
    asked, and the schedule."""
    asked = {**far_from(api.timeline.now()), **asked}
    answer = scheduling.create(api, source, **asked)
    schedules.schedule_is_created_as_asked(api, answer, source, asked)
    return asked, answer.document("schedule")


@pytest.mark.parametrize("kind", KINDS)
def test_a_created_schedule_is_shown_and_listed_as_asked(writable: Api, kind: str) -> None:
    api = writable
    source = schedulable(api, kind, *BY_HAND)
    _, schedule = created(api, source)
    schedules.created_schedule_is_shown_and_listed(api, schedule)


@pytest.mark.parametrize("kind", KINDS)
def test_a_target_has_one_schedule_at_most(writable: Api, kind: str) -> None:
    api = writable
    source = schedulable(api, kind, *BY_HAND)
    asked, schedule = created(api, source)
    schedules.second_schedule_for_a_target_is_refused(api, source, schedule["id"], asked)


@pytest.mark.parametrize("kind", KINDS)
def test_an_update_of_the_time_recomputes_next_run(writable: Api, kind: str) -> None:
    api = writable
    source = schedulable(api, kind, *BY_HAND)
    asked, schedule = created(api, source)
    # An hour later, another minute: still half a day from now, so no run falls meanwhile.
    schedules.update_recomputes_next_run(api, schedule["id"], (asked["hour"] + 1) % 24, 43)


@pytest.mark.parametrize("kind", KINDS)
def test_run_now_backs_up_the_source_and_the_backup_outlives_the_schedule(
    writable: Api, kind: str
) -> None:
    api = writable
    source = schedulable(api, kind, *BY_HAND)
    _, schedule = created(api, source)
    schedule_id = schedule["id"]
    before = scheduling.backup_ids(api, source)
    answer = scheduling.update(api, schedule_id, run_now=True)
    made, listing = scheduling.new_backups(api, source, before, schedule_id)
    schedules.run_now_backs_up_the_source(api, answer, made, source, listing)
    backup_id = made[0]["id"]
    schedules.schedule_is_running_exactly_while_its_backup_runs(api, schedule_id, backup_id)
    schedules.run_now_of_a_busy_source_is_refused(api, schedule_id, backup_id)
    wait_until_ended(api, backup_id)
    schedules.schedule_is_running_exactly_while_its_backup_runs(api, schedule_id, backup_id)
    schedules.deleted_schedule_is_gone_and_its_backups_stay(api, schedule_id, [backup_id])


def test_on_the_clock_runs_come_daily_fully_on_their_day_and_only_the_newest_are_kept(
    writable: Api,
) -> None:
    api = writable
    if api.timeline.control is None:
        not_run(api, NO_CLOCK, *ON_THE_CLOCK)
    source = any_schedulable(api, *ON_THE_CLOCK)
    # The first run within a day (the next whole minute an hour from now), on its own weekday;
    # every full backup kept, so that retention takes nothing the runs' checks look at.
    first = (int(api.timeline.now()) // 60 + 61) * 60
    moment = timestamp(first)
    asked = {
        "day_of_week": weekday(first),
        "hour": int(moment[11:13]),
        "minute": int(moment[14:16]),
        "full_backup_retention": RUNS,
    }
    before = scheduling.backup_ids(api, source)
    _, schedule = created(api, source, **asked)
    schedule_id = schedule["id"]
    # Through RUNS days at once: every run falls due in the one move.
    move_clock_to(api, first + (RUNS - 1) * DAY + 60)
    made, listing = ended_backups(api, source, before, schedule_id)
    runs.every_due_run_happens_at_its_own_time(api, schedule_id, made, listing, first, RUNS)
    runs.runs_make_a_full_backup_on_day_of_week_and_incrementals_between(
        api, asked["day_of_week"], made, listing
    )
    # From now on a full backup every day, and only the newest one kept: the next run's
    # completion takes the two full backups before it, and their incremental chains, away.
    changed = scheduling.update(api, schedule_id, day_of_week=EVERY_DAY, full_backup_retention=1)
    if changed.status != 200:
        pytest.fail(f"the schedule could not be changed for the retention check: {changed}")
    move_clock_to(api, first + RUNS * DAY + 60)
    after, _ = ended_backups(api, source, before, schedule_id)
    seen = {backup["id"] for backup in made}
    every = made + [backup for backup in after if backup["id"] not in seen]
    runs.retention_keeps_the_newest_full_backups(api, source, 1, every)


def move_clock_to(api: Api, moment: float) -> None:
    api.timeline.pass_time(max(0.0, moment - api.timeline.now()))


def ended_backups(
    api: Api, source: Source, before: set[str], schedule_id: str
) -> tuple[list[dict[str, Any]], list[Exchange]]:
    """The backups of `source` made since `before`, once every one of them has ended."""

    def ended() -> bool:
        made, _ = scheduling.new_backups(api, source, before, schedule_id)
        return all(backup.get("status") in ENDED for backup in made)

    api.timeline.wait_for(ended, f"the backups of schedule {schedule_id} to end")
    return scheduling.new_backups(api, source, before, schedule_id)
