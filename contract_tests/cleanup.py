"""Cleanup: delete every backup the run created that the target still has, and nothing else.

It runs when the suite ends, however it ends (a failure, Ctrl-C, SIGTERM), and after each test.
Each round tries every backup still there, newest first so that incremental backups go before
their parents. A backup still running cannot be deleted (422): cleanup lets time pass (moving
a mock's clock, or waiting) and tries again, for at most `timeout` seconds of target time in
all. A delete counts once show says the backup is gone. What it could not delete is reported
with the command that deletes it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

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


def delete_command(target: Target, backup_id: str) -> str:
    """The curl line that deletes `backup_id`, reading the token from the environment."""
    url = shlex.quote(target.url(target.api_path(f"/backups/{backup_id}")))
    return f'curl -X DELETE -H "{TOKEN_HEADER}: ${TOKEN_VARIABLE}" {url}'


def clean_up(api: Api, report: CleanupReport, timeout: float) -> None:
    """Delete what `api.inventory` still holds, waiting at most `timeout` seconds of target time
    for running backups to end; add what happened to `report`. `api` must be one that a stop
    does not stop (`Api.for_cleanup`)."""
    waited, step = 0.0, FIRST_STEP
    longest = LONGEST_STEP[api.timeline.control is not None]
    while True:
        why_left = {}
        for backup_id in api.inventory.remaining():
            why = _delete(api, backup_id)
            if why is None:
                report.left.pop(backup_id, None)
                report.deleted.append(backup_id)
            elif why != _GONE:
                why_left[backup_id] = why
        if not why_left:
            return
        if waited >= timeout:
            for backup_id, why in why_left.items():
                report.left[backup_id] = f"{why} (cleanup gave up after {timeout:g} s)"
            return
        step = min(step, timeout - waited)
        api.timeline.pass_time(step)
        waited += step
        step = min(step * 2, longest)


_GONE = "gone"  # it was no longer there: a parent deleted before it took it along


def _delete(api: Api, backup_id: str) -> str | None:
    """Delete one backup: None when this delete removed it, `_GONE` when it was not there, else
    why it is still there."""
    try:
        answer = api.delete(backup_id, judge=False)
        if answer.status == 404:
            api.inventory.forget(backup_id)
            return _GONE
        if answer.status == 422:
            return "it, or a backup made from it, is still running (DELETE answered 422)"
        if answer.status != 202:
            return f"DELETE answered {answer.status}"
        # A 202 is believed once show agrees: a target may lie, and cleanup is its last word.
        shown = api.show(backup_id, judge=False)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    if shown.status != 404:
        return f"DELETE answered 202, but show still answers {shown.status}"
    api.inventory.forget(backup_id)
    return None
