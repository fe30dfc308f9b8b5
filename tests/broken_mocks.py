"""Broken variants of the mock, for testing the contract suite: each breaks one promise.

Each is an ASGI wrapper around a true mock (`mockserver.create_app`): it passes the control API
through untouched and changes the answers of the API, or what one request does, and nothing
else. The contract suite must fail against every one of them, and pass against the true mock.

The variants of backups (what their answers hold, and what becomes of them) are here, with the
registry of every variant (`VARIANTS`); those of faults, schedules, restores and copies are in
broken_faults.py, broken_schedules.py, broken_restores.py and broken_copies.py, the wrapper they
share in broken_wrapper.py.

`python tests/broken_mocks.py <variant>` serves one on a free port, prints its URL, and stops
when its standard input closes (the tests run each in a process of its own, for two cores).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import broken_copies as copies
import broken_faults as faults
import broken_restores as restores
import broken_schedules as schedules
from broken_wrapper import (
    ACCOUNT,
    BACKUP_PATH,
    BACKUPS_PATH,
    HA_PATH,
    INSTANCE_PATH,
    OTHER_ACCOUNT,
    SOURCE_LIST_PATH,
    TOKEN,
    Answer,
    Broken,
    Request,
    authorized,
    backups_of,
    edit_backups,
)

from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.plugin.threaded import ThreadedServer
from mockserver.state.backup_document import backup_document


class WrongSuccessStatus(Broken):
    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "POST" and answer.status == 202:
            answer.status = 200  # the WADL's word, not the contract's


class MissingField(Broken):
    def after(self, request: Request, answer: Answer) -> None:
        edit_backups(answer, lambda backup: backup.pop("datastore", None))


class WrongType(Broken):
    def after(self, request: Request, answer: Answer) -> None:
        def stringify(backup: dict[str, Any]) -> None:
            backup["volume_size"] = str(backup.get("volume_size"))

        edit_backups(answer, stringify)


class NoCascade(Broken):
    """Delete removes the backup alone: its incremental descendants stay (as full backups)."""

    def before(self, request: Request) -> Answer | None:
        found = BACKUP_PATH.match(request.path)
        if request.method != "DELETE" or found is None or not authorized(request):
            return None
        state = self.mock.store.snapshot()
        backups = state["accounts"].get(found["account"], {}).get("backups", [])
        doomed = [b for b in backups if b["id"] == found["id"]]
        children = [b for b in backups if b.get("parent_id") == found["id"]]
        if not doomed or not children or doomed[0]["status"] in ("NEW", "BUILDING"):
            return None  # nothing to break: let the mock answer
        if any(child["status"] in ("NEW", "BUILDING") for child in children):
            return None
        backups.remove(doomed[0])
        for child in children:
            child["parent_id"] = None
            child["type"] = "InnoBackupEx"
        self.mock.store.replace(state)
        return Answer(202, [], b"")


@dataclass
class DeletedStillVisible(Broken):
    """After a delete, show still answers the backup as it was."""

    ghosts: dict[str, bytes] = field(default_factory=dict)

    def before(self, request: Request) -> Answer | None:
        if request.method == "GET" and request.path in self.ghosts:
            body = self.ghosts[request.path]
            return Answer(200, [(b"content-type", b"application/json")], body)
        found = BACKUP_PATH.match(request.path)
        if request.method == "DELETE" and found is not None and authorized(request):
            try:
                backup = self.mock.store.get_backup(found["account"], found["id"])
            except Exception:
                return None
            self.ghosts[request.path] = json.dumps({"backup": backup_document(backup)}).encode()
        return None

    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "DELETE" and answer.status != 202:
            self.ghosts.pop(request.path, None)


class PaginationSkipsAnItem(Broken):
    """Every page after the first loses its first item (an off-by-one on the marker)."""

    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "GET" and "marker=" in request.query and answer.status == 200:
            document = answer.json()
            if backups_of(document):
                document["backups"] = document["backups"][1:]
                answer.replace_json(document)


class HaStateUnchanged(Broken):
    """The HA instance says ACTIVE while a backup of it runs."""

    def after(self, request: Request, answer: Answer) -> None:
        document = answer.json()
        if request.method == "GET" and HA_PATH.match(request.path) and isinstance(document, dict):
            ha = document.get("ha_instance")
            if isinstance(ha, dict) and ha.get("state") == "BACKUP":
                ha["state"] = "ACTIVE"
                answer.replace_json(document)


class NewestMissingFromInstanceList(Broken):
    """The list of an instance's backups leaves out the newest one."""

    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "GET" and SOURCE_LIST_PATH.match(request.path):
            document = answer.json()
            if answer.status == 200 and "marker=" not in request.query and backups_of(document):
                document["backups"] = document["backups"][1:]
                answer.replace_json(document)


@dataclass
class InstanceStaysBusy(Broken):
    """An instance once backed up says BACKUP for ever."""

    backed_up: set[str] = field(default_factory=set)

    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "POST" and BACKUPS_PATH.match(request.path) and answer.status == 202:
            self.backed_up.add(str(answer.json()["backup"].get("instance_id")))
        found = INSTANCE_PATH.match(request.path)
        if request.method == "GET" and found and found["id"] in self.backed_up:
            document = answer.json()
            if isinstance(document, dict) and isinstance(document.get("instance"), dict):
                document["instance"]["status"] = "BACKUP"
                answer.replace_json(document)


class IncrementalFlagIgnored(Broken):
    """`incremental: 1` without `parent_id` makes a full backup."""

    def before(self, request: Request) -> Answer | None:
        document = request.json()
        if request.method == "POST" and isinstance(document, dict):
            backup = document.get("backup")
            if isinstance(backup, dict) and "incremental" in backup:
                del backup["incremental"]
                request.body = json.dumps(document).encode()
        return None


VARIANTS: Mapping[str, Callable[[Mock], Broken]] = MappingProxyType(
    {
        "wrong-success-status": WrongSuccessStatus,
        "missing-field": MissingField,
        "wrong-type": WrongType,
        "no-cascade": NoCascade,
        "deleted-backup-still-visible": DeletedStillVisible,
        "auth-ignored": faults.AuthIgnored,
        "wrong-fault-shape": faults.WrongFaultShape,
        "undocumented-status": faults.UndocumentedStatus,
        "pagination-skips-an-item": PaginationSkipsAnItem,
        "ha-state-unchanged-while-backing-up": HaStateUnchanged,
        "running-backup-delete-accepted": faults.RunningDeleteAccepted,
        "new-backup-missing-from-its-instance-list": NewestMissingFromInstanceList,
        "instance-stays-busy-after-its-backup": InstanceStaysBusy,
        "no-quota": faults.NoQuota,
        "cross-account-read": faults.CrossAccountRead,
        "non-ascii-description-500": faults.NonAsciiDescription500,
        "incremental-flag-ignored": IncrementalFlagIgnored,
        "prefer-ignored": faults.PreferIgnored,
        "first-violation-only": faults.FirstViolationOnly,
        "no-body-limit": faults.NoBodyLimit,
        "schedules-refused": schedules.SchedulesRefused,
        "run-now-ignored": schedules.RunNowIgnored,
        "second-schedule-accepted": schedules.SecondScheduleAccepted,
        "next-run-not-recomputed": schedules.NextRunNotRecomputed,
        "scheduled-backups-not-automated": schedules.ScheduledBackupsNotAutomated,
        "no-runs-on-the-clock": schedules.NoRunsOnTheClock,
        "scheduled-runs-all-full": schedules.ScheduledRunsAllFull,
        "no-retention": schedules.NoRetention,
        "schedule-delete-takes-its-backups": schedules.ScheduleDeleteTakesItsBackups,
        "schedule-never-running": schedules.ScheduleNeverRunning,
        "restore-never-active": restores.RestoreNeverActive,
        "restore-ignores-the-backups-datastore": restores.RestoreIgnoresTheBackupsDatastore,
        "instance-delete-takes-its-backups": restores.InstanceDeleteTakesItsBackups,
        "deleted-instance-still-shown": restores.DeletedInstanceStillShown,
        "restore-of-an-unfinished-backup-accepted": restores.UnfinishedBackupRestored,
        "backup-of-a-building-instance-accepted": restores.BackupOfABuildingInstanceAccepted,
        "copy-not-made": copies.CopyNotMade,
        "copy-made-in-the-source-region": copies.CopyMadeInTheSourceRegion,
        "copy-keeps-the-original-id": copies.CopyKeepsTheOriginalId,
        "copy-parent-not-remapped": copies.CopyParentNotRemapped,
        "incremental-with-uncopied-parent-copied": copies.IncrementalWithUncopiedParentAccepted,
        "copy-to-lon-accepted": copies.LonAccepted,
        "running-backup-copied": copies.RunningBackupCopied,
        "copy-answered-200-with-a-body": copies.CopyAnswered200WithABody,
        "deleting-the-original-deletes-the-copy": copies.DeletingTheOriginalDeletesTheCopy,
        "copy-to-its-own-region-accepted": copies.CopyToItsOwnRegionAccepted,
        "copy-completes-without-its-size": copies.CopyCompletesWithoutItsSize,
        "deleting-the-copy-deletes-the-original": copies.DeletingTheCopyDeletesTheOriginal,
    }
)


def true_mock() -> Mock:
    """A fresh mock with a frozen clock and a token table (so that the suite's probe of
    unknown tokens has something to find) whose token holds a second account (so that the
    suite can show that accounts are apart)."""
    accounts = frozenset({ACCOUNT, OTHER_ACCOUNT})
    return create_app(Settings(frozen_clock=True, tokens={TOKEN: accounts}))


def build(variant: str) -> Broken:
    return VARIANTS[variant](true_mock())


if __name__ == "__main__":
    with ThreadedServer(build(sys.argv[1])) as server:
        print(server.url, flush=True)
        sys.stdin.read()
