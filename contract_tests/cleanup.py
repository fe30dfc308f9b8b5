"""Cleanup: delete every schedule, instance and backup the run created that the target still
has, and nothing else.

It runs when the suite ends, however it ends (a failure, Ctrl-C, SIGTERM), and after each test.
Schedules go first: a schedule makes backups by itself, so while one lives cleanup would never
be done. Then the backups those schedules made are found (a backup of one of the run's sources
whose description or name names a schedule of the run, as `Made by schedule <id>.` does) and
deleted with the run's other backups. The instances the run restored go before the backups (their
own backups stay when they go, and are the run's to delete too). The copies the run made in
other regions are deleted there, as its backups are. Each round tries everything still there,
backups newest first so that incremental backups go before their parents. A backup (or a copy)
still running cannot be deleted, nor an instance still in BUILD or BACKUP (422): cleanup lets
time pass (moving a mock's clock, or waiting) and tries again, for at most `timeout` seconds of
target time in all. A delete counts once show says it is gone. What it could not delete is
reported with the command that deletes it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import httpx

from contract_tests.api import Api
from contract_tests.exchange import TOKEN_HEADER, TOKEN_VARIABLE
from contract_tests.target import Target

FIRST_STEP = 0.5  # seconds; the steps double up to LONGEST_STEP
LONGEST_STEP = {True: 60.0, False: 5.0}  # with a control API (clock time), without (real time)


@dataclass
class CleanupReport:
    deleted: list[str] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)  # id -> why it is still there
    schedules_deleted: list[str] = field(default_factory=list)
    schedules_left: dict[str, str] = field(default_factory=dict)  # id -> why it is still there
    instances_deleted: list[str] = field(default_factory=list)
    instances_left: dict[str, str] = field(default_factory=dict)  # id -> why it is still there
    # What became of the copies the run made in other regions, by region code.
    elsewhere: dict[str, CleanupReport] = field(default_factory=dict)

    def region(self, code: str) -> CleanupReport:
        return self.elsewhere.setdefault(code, CleanupReport())

    def leaves_anything(self) -> bool:
        here = self.left or self.schedules_left or self.instances_left
        return bool(here) or any(report.leaves_anything() for report in self.elsewhere.values())


def delete_command(target: Target, item_id: str, collection: str = "backups") -> str:
    """The curl line that deletes `item_id` of `collection` (`backups`, `schedules`,
    `instances`), reading the token from the environment."""
    url = shlex.quote(target.url(target.api_path(f"/{collection}/{item_id}")))
    return f'curl -X DELETE -H "{TOKEN_HEADER}: ${TOKEN_VARIABLE}" {url}'


def clean_up(api: Api, report: CleanupReport, timeout: float) -> None:
    """Delete what `api.inventory` still holds, waiting at most `timeout` seconds of target time
    for running backups to end; add what happened to `report`. `api` must be one that a stop
    does not stop (`Api.for_cleanup`)."""
    waited, step = 0.0, FIRST_STEP
    longest = LONGEST_STEP[api.timeline.control is not None]
    adopted = False
    while True:
        schedules_left = _delete_all(
            api.inventory.schedules_remaining(),
            lambda i: _delete(api, "schedules", i),
            report.schedules_deleted,
            report.schedules_left,
        )
        if api.inventory.schedules_created() and not adopted:
            adopt_scheduled_backups(api)
            # Once every schedule is gone no run makes another backup: one look is enough.
            adopted = not schedules_left
        instances_left = _delete_all(
            api.inventory.instances_remaining(),
            lambda i: _delete(api, "instances", i),
            report.instances_deleted,
            report.instances_left,
        )
        why_left = _delete_all(
            api.inventory.remaining(),
            lambda i: _delete(api, "backups", i),
            report.deleted,
            report.left,
        )
        copies_left = _delete_copies(api, report)
        if not (why_left or schedules_left or instances_left or any(copies_left.values())):
            return
        if waited >= timeout:
            gave_up = f"(cleanup gave up after {timeout:g} s)"
            pending = [
                (report.left, why_left),
                (report.schedules_left, schedules_left),
                (report.instances_left, instances_left),
                *[(report.region(code).left, found) for code, found in copies_left.items()],
            ]
            for left, found in pending:
                left.update({item: f"{why} {gave_up}" for item, why in found.items()})
            return
        step = min(step, timeout - waited)
        api.timeline.pass_time(step)
        waited += step
        step = min(step * 2, longest)


def adopt_scheduled_backups(api: Api) -> None:
    """Remember the backups the run's schedules made (runs on the clock, `run_now`), and their
    copies in the other regions it reaches (a schedule's `copy_to`, on a mock): they are the
    run's to delete, though no create of the run's made them."""
    ours = api.inventory.schedules_created()
    lists = [(api, source.list_path(api)) for source in api.sources()]
    for region in api.target.elsewhere:
        there = api.in_region(region.code)
        if there is not None:
            lists.append((there, there.path("/backups")))
    for where, path in lists:
        for backup in where.items(path, "backups"):
            text = f"{backup.get('name', '')} {backup.get('description', '')}"
            if any(schedule_id in text for schedule_id in ours):
                where.inventory.remember(backup["id"])


def _delete_copies(api: Api, report: CleanupReport) -> dict[str, dict[str, str]]:
    """Try to delete the copies the run made in each other region; what stays, and why, by
    region."""
    left: dict[str, dict[str, str]] = {}
    for code in api.inventory.regions():
        there = api.in_region(code)
        if there is None:
            continue  # a region the run cannot reach holds nothing of its
        done = report.region(code)
        left[code] = _delete_all(
            there.inventory.remaining(),
            partial(_delete, there, "backups"),
            done.deleted,
            done.left,
        )
    return left


def _delete_all(
    ids: list[str],
    delete: Callable[[str], str | None],
    deleted: list[str],
    left: dict[str, str],
) -> dict[str, str]:
    """Try to delete each of `ids`; add what went to `deleted`; what stays, and why."""
    why_left = {}
    for item_id in ids:
        why = delete(item_id)
        if why is None:
            left.pop(item_id, None)
            deleted.append(item_id)
        elif why != _GONE:
            why_left[item_id] = why
    return why_left


_GONE = "gone"  # it was no longer there: a parent deleted before it took it along
# Why a delete the contract refuses for a while is refused: time lets cleanup try again.
_BUSY = {
    "backups": "it, or a backup made from it, is still running (DELETE answered 422)",
    "instances": "it is still BUILD, or a backup of it runs (DELETE answered 422)",
}


def _delete(api: Api, collection: str, item_id: str) -> str | None:
    """Delete one backup, schedule or instance: None when this delete removed it, `_GONE` when
    it was not there, else why it is still there."""
    path = api.path(f"/{collection}/{item_id}")
    forget = {
        "backups": api.inventory.forget,
        "schedules": api.inventory.forget_schedule,
        "instances": api.inventory.forget_instance,
    }[collection]
    try:
        answer = api.call("DELETE", path, judge=False)
        if answer.status == 404:
            forget(item_id)
            return _GONE
        if answer.status == 422 and collection in _BUSY:
            return _BUSY[collection]
        if answer.status != 202:
            return f"DELETE answered {answer.status}"
        # A 202 is believed once show agrees: a target may lie, and cleanup is its last word.
        shown = api.call("GET", path, judge=False)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    if shown.status != 404:
        return f"DELETE answered 202, but show still answers {shown.status}"
    forget(item_id)
    return None
