"""Scheduled backups (contract section 10), checked by hand: a schedule keeps what was asked and
says when it runs next; a target has one schedule at most; an update recomputes `next_run`;
`run_now` backs the source up at once with a backup marked automated, the schedule is `running`
while that backup runs, and `run_now` meanwhile is refused (the source is busy); a deleted
schedule is gone and its backups stay. (The runs on the clock are `runs.py`'s.)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from contract_tests.checks import CheckFailed, check, checks_in, deleted_and_gone
from contract_tests.exchange import Exchange
from contract_tests.lifecycle import ENDED, RUNNING, bracketed
from contract_tests.scheduling import (
    create,
    differences,
    expected_members,
    is_automated,
    listed,
    path,
    show,
    target_of,
    update,
)
from contract_tests.timetable import next_run_problem

if TYPE_CHECKING:
    from contract_tests.api import Api
    from contract_tests.source import Source


@check
def schedule_is_created_as_asked(
    api: Api, answer: Exchange, source: Source, asked: Mapping[str, Any]
) -> None:
    """Create answers 202 with the schedule asked: its day, hour and minute, its target as
    `source` (and `instance_id`), retention 2 and no copies unless asked, not running, never
    run, and `next_run` the first time asked after its creation."""
    schedule = answer.document("schedule")
    if answer.status != 202 or not isinstance(schedule.get("id"), str):
        raise CheckFailed(
            "A schedule of a supported source is not created",
            f"{source} has no schedule; create answered {answer.status}, not 202 with a schedule",
            [answer],
        )
    problems = differences(schedule, expected_members(source, asked))
    problem = next_run_problem(schedule)
    if problems or problem:
        raise CheckFailed(
            "A created schedule is not what was asked",
            "; ".join([*problems, *([problem] if problem else [])]),
            [answer],
        )


@check
def created_schedule_is_shown_and_listed(api: Api, schedule: Mapping[str, Any]) -> None:
    """Show answers the schedule as create did, and the account's list holds it the same."""
    schedule_id = str(schedule.get("id"))
    kept = {name: value for name, value in schedule.items() if name != "updated"}
    shown = show(api, schedule_id)
    problems = differences(shown.document("schedule"), kept)
    if shown.status != 200 or problems:
        raise CheckFailed(
            "Show disagrees with create",
            f"GET {schedule_id} answered {shown.status}: {'; '.join(problems)}",
            [shown],
        )
    items, exchanges = listed(api)
    found = [item for item in items if item.get("id") == schedule_id]
    if not found or differences(found[0], kept):
        why = "; ".join(differences(found[0], kept)) if found else "it is not listed"
        raise CheckFailed(
            "The list of schedules disagrees with create", f"{schedule_id}: {why}", exchanges
        )


@check
def second_schedule_for_a_target_is_refused(
    api: Api, source: Source, first_id: str, asked: Mapping[str, Any]
) -> None:
    """One schedule per target: another create for it is 422, and the list still shows one."""
    again = create(api, source, **asked)
    items, exchanges = listed(api)
    theirs = [item.get("id") for item in items if target_of(item) == source.id]
    if again.status != 422 or theirs != [first_id]:
        raise CheckFailed(
            "A second schedule for one target is not refused",
            f"{source} has schedule {first_id}; another create answered {again.status}, not"
            f" 422, and the list shows {theirs} for it",
            [again, *exchanges],
        )


@check
def update_recomputes_next_run(api: Api, schedule_id: str, hour: int, minute: int) -> None:
    """An update of hour and minute answers 200 with the schedule as updated, `next_run` at the
    new time; show agrees."""
    answer = update(api, schedule_id, hour=hour, minute=minute)
    schedule = answer.document("schedule")
    asked = {"id": schedule_id, "hour": hour, "minute": minute}
    problems = differences(schedule, asked) if answer.status == 200 else ["it is not 200"]
    problem = next_run_problem(schedule) if not problems else None
    if problems or problem:
        raise CheckFailed(
            "An update does not recompute next_run",
            f"PUT hour {hour}, minute {minute} answered {answer.status}: "
            + "; ".join([*problems, *([problem] if problem else [])]),
            [answer],
        )
    shown = show(api, schedule_id)
    problems = differences(shown.document("schedule"), {**asked, "next_run": schedule["next_run"]})
    if problems:
        raise CheckFailed("Show disagrees with the update", "; ".join(problems), [answer, shown])


@check
def run_now_backs_up_the_source(
    api: Api,
    answer: Exchange,
    made: list[dict[str, Any]],
    source: Source,
    listing: list[Exchange],
) -> None:
    """`run_now` answers 200 with `last_scheduled` set and `next_run` the next daily time, and
    one new backup of the source is listed, marked automated (`is_automated` 1)."""
    schedule = answer.document("schedule")
    if answer.status != 200 or schedule.get("last_scheduled") is None:
        raise CheckFailed(
            "run_now does not run the schedule",
            f"PUT run_now answered {answer.status} with last_scheduled"
            f" {schedule.get('last_scheduled')!r}",
            [answer],
        )
    problem = next_run_problem(schedule)
    if problem:
        raise CheckFailed("run_now does not move next_run to the next daily run", problem, [answer])
    ids = [backup.get("id") for backup in made]
    if len(made) != 1:
        raise CheckFailed(
            "run_now does not make one backup of its source",
            f"after run_now, {source} lists {len(made)} new backups ({ids}), not one",
            [answer, *listing],
        )
    backup = made[0]
    expected = {"type": source.kind, "id": source.id}
    if not is_automated(backup) or backup.get("source") != expected:
        raise CheckFailed(
            "A backup made by run_now is not an automated backup of its source",
            f"{ids[0]}: is_automated {backup.get('is_automated')!r}, source"
            f" {backup.get('source')!r} (expected 1 and {expected})",
            [answer, *listing],
        )


@check
def schedule_is_running_exactly_while_its_backup_runs(
    api: Api, schedule_id: str, backup_id: str
) -> None:
    """`running` is true while a backup the schedule made is NEW or BUILDING (before and after
    the look), and false once it ended."""
    looked = bracketed(api, backup_id, lambda _: show(api, schedule_id))
    shown = looked.result
    running = shown.document("schedule").get("running")
    if looked.throughout(RUNNING) and running is not True:
        expected = True
    elif looked.throughout(ENDED) and running is not False:
        expected = False
    else:
        return
    raise CheckFailed(
        "A schedule's running does not follow its backup",
        f"backup {backup_id} is {looked.statuses[-1]}; schedule {schedule_id} says running"
        f" {running!r}, not {expected}",
        [looked.before, shown, looked.after],
    )


@check
def run_now_of_a_busy_source_is_refused(api: Api, schedule_id: str, backup_id: str) -> None:
    """While the schedule's backup runs, its source is not ACTIVE: `run_now` is 422 (judged
    only when the backup runs before and after the update)."""
    tried = bracketed(api, backup_id, lambda _: update(api, schedule_id, run_now=True))
    answer = tried.result
    if tried.throughout(RUNNING) and answer.status != 422:
        raise CheckFailed(
            "run_now of a busy source is not refused",
            f"backup {backup_id} of the schedule runs ({tried.statuses[-1]}); run_now of"
            f" schedule {schedule_id} answered {answer.status}, not 422",
            [tried.before, answer, tried.after],
        )


@check
def deleted_schedule_is_gone_and_its_backups_stay(
    api: Api, schedule_id: str, backup_ids: Iterable[str]
) -> None:
    """Delete answers 202; then show is 404, the list lacks it, and the backups it made stay."""
    answer = deleted_and_gone(api, "schedule", path(api, schedule_id), lambda: listed(api))
    for backup_id in backup_ids:
        kept = api.show(backup_id)
        if kept.status != 200:
            raise CheckFailed(
                "Deleting a schedule deleted its backups",
                f"after DELETE {schedule_id}, its backup {backup_id} answers {kept.status}",
                [answer, kept],
            )


CHECKS = tuple(checks_in(sys.modules[__name__]))  # every check above, for "Not run"
