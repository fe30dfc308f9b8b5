"""A schedule's runs, where the suite moves the target's clock (a mock): once the clock passes
them, however far at once, each due run happened at its own time and made the backup its day
asks for (a full backup on `day_of_week`, an incremental one chained to the newest completed
backup otherwise), and retention kept only the newest full backups. A real service's runs are
days apart: these are not checked there.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from contract_tests.checks import CheckFailed, check, checks_in
from contract_tests.exchange import Exchange
from contract_tests.lifecycle import RUNNING
from contract_tests.pages import walk
from contract_tests.scheduling import FULL, INCREMENTAL, is_automated, show
from contract_tests.timetable import DAY, EVERY_DAY, parse_time, run_name, timestamp, weekday

if TYPE_CHECKING:
    from contract_tests.api import Api
    from contract_tests.source import Source


@check
def every_due_run_happens_at_its_own_time(
    api: Api,
    schedule_id: str,
    made: list[dict[str, Any]],
    listing: list[Exchange],
    first: int,
    runs: int,
) -> None:
    """Once the clock passed `runs` runs at once (the first at `first`, then one a day), each
    made its backup at its own time: `created` the run's time, the name `scheduled-<time>Z`,
    the description `Made by schedule <id>.`, `is_automated` 1; the schedule says when it ran
    last and runs next."""
    expected = [first + day * DAY for day in range(runs)]
    created = sorted(parse_time(backup.get("created")) or 0 for backup in made)
    if created != expected:
        raise CheckFailed(
            "Due runs do not each happen at their own time",
            f"with the clock moved past {runs} runs (from {timestamp(first)}, one a day), the"
            f" schedule made backups at {[timestamp(t) for t in created]}",
            listing,
        )
    description = f"Made by schedule {schedule_id}."
    for backup in made:
        at = parse_time(backup.get("created")) or 0
        found = (backup.get("name"), backup.get("description"), is_automated(backup))
        if found != (run_name(at), description, True):
            raise CheckFailed(
                "A backup made by a run does not say so",
                f"{backup.get('id')}: name, description, is_automated are {backup.get('name')!r},"
                f" {backup.get('description')!r}, {backup.get('is_automated')!r}; expected"
                f" {run_name(at)!r}, {description!r}, 1",
                listing,
            )
    shown = show(api, schedule_id)
    schedule = shown.document("schedule")
    when = (schedule.get("last_scheduled"), schedule.get("next_run"))
    if when != (timestamp(expected[-1]), timestamp(expected[-1] + DAY)):
        raise CheckFailed(
            "A schedule does not say when it ran and runs next",
            f"last_scheduled, next_run are {when}; the last run was {timestamp(expected[-1])}",
            [shown],
        )


@check
def runs_make_a_full_backup_on_day_of_week_and_incrementals_between(
    api: Api, day_of_week: int, made: list[dict[str, Any]], listing: list[Exchange]
) -> None:
    """A run on `day_of_week` (every day for 7), or with no completed backup of the schedule
    yet, makes a full backup; any other run an incremental one whose parent is the newest
    backup of the schedule COMPLETED by then."""
    ordered = sorted(made, key=lambda b: (str(b.get("created")), str(b.get("id"))))
    for index, backup in enumerate(ordered):
        at = parse_time(backup.get("created")) or 0
        done = [
            b
            for b in ordered[:index]
            if b.get("status") == "COMPLETED" and (parse_time(b.get("updated")) or at + 1) <= at
        ]
        full = day_of_week == EVERY_DAY or weekday(at) == day_of_week or not done
        expected = (FULL, None) if full else (INCREMENTAL, done[-1].get("id"))
        found = (backup.get("type"), backup.get("parent_id"))
        if found != expected:
            what = "a full backup" if full else "an incremental backup of the newest completed"
            raise CheckFailed(
                "A run does not make the backup its day asks for",
                f"the run of {timestamp(at)} (day {weekday(at)} of the week; the schedule's full"
                f" backups fall on {day_of_week}) must make {what}: type, parent_id are {found},"
                f" not {expected}",
                listing,
            )


@check
def retention_keeps_the_newest_full_backups(
    api: Api, source: Source, retention: int, made: list[dict[str, Any]]
) -> None:
    """Of the COMPLETED full backups a schedule made (`made`, every backup it made, as seen
    once they all ended), only the newest `retention` stay, each with its incremental
    descendants; the older ones are gone with theirs (a chain with a running member stays)."""
    parents = {b.get("id"): b.get("parent_id") for b in made}

    def root(backup_id: Any) -> Any:
        while parents.get(backup_id) is not None:
            backup_id = parents[backup_id]
        return backup_id

    fulls = sorted(
        (b for b in made if b.get("type") == FULL and b.get("status") == "COMPLETED"),
        key=lambda b: (str(b.get("created")), str(b.get("id"))),
        reverse=True,
    )
    running = {root(b.get("id")) for b in made if b.get("status") in RUNNING}
    doomed = {b.get("id") for b in fulls[retention:]} - running
    items, exchanges = walk(api, source.list_path(api))
    listed_ids = {item.get("id") for item in items}
    for backup in made:
        stays = root(backup.get("id")) not in doomed
        if stays != (backup.get("id") in listed_ids):
            what = "kept" if backup.get("id") in listed_ids else "deleted"
            raise CheckFailed(
                "Retention does not keep the newest full backups",
                f"with full_backup_retention {retention}, backup {backup.get('id')} (made"
                f" {backup.get('created')}, {backup.get('type')}) was {what}; the schedule's"
                f" COMPLETED full backups, newest first: {[b.get('id') for b in fulls]}",
                exchanges,
            )


CHECKS = tuple(checks_in(sys.modules[__name__]))  # every check above, for "Not run"
