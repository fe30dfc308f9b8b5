"""Cleanup: delete every backup the run created that the target still has, and nothing else.

It runs when the suite ends, however it ends (a failure, Ctrl-C, SIGTERM through the
command), newest first so that incremental backups go before their parents. A backup still
running cannot be deleted (422), so cleanup lets time pass and retries, up to the timeout;
a delete counts once show says the backup is gone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from contract_tests.api import Api
from contract_tests.timeline import TimedOut


@dataclass
class CleanupReport:
    deleted: list[str] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)  # id -> why it is still there


def clean_up(api: Api, report: CleanupReport) -> None:
    """Delete what `api.inventory` still holds; add what happened to `report`."""
    for backup_id in api.inventory.remaining():
        answers: list[int] = []

        def settled(backup_id: str = backup_id, answers: list[int] = answers) -> bool:
            answers.append(api.delete(backup_id, judge=False).status)
            if answers[-1] == 422:  # it, or a descendant, still runs
                return False
            # A 202 is believed once show agrees: a target may lie, and cleanup is its last word.
            return answers[-1] != 202 or api.show(backup_id, judge=False).status == 404

        try:
            api.timeline.wait_for(settled, f"backup {backup_id} to become deletable")
        except (TimedOut, httpx.HTTPError) as error:
            report.left[backup_id] = str(error)
            continue
        report.left.pop(backup_id, None)
        if answers[-1] == 202:
            report.deleted.append(backup_id)
        elif answers[-1] != 404:  # 404: already gone, with a parent deleted before it
            report.left[backup_id] = f"DELETE answered {answers[-1]}"
