"""Broken variants of the mock's scheduled backups (contract section 10), each caught by the
contract suite."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from broken_wrapper import (
    SCHEDULE_PATH,
    SCHEDULES_PATH,
    Answer,
    Broken,
    Request,
    authorized,
    edit_backups,
)

from mockserver.state.clock import timestamp
from mockserver.state.core import StoreCore
from mockserver.state.document import schedule_document
from mockserver.state.errors import NotFound
from mockserver.state.models import RUNNING


def _schedules_of(document: Any) -> list[dict[str, Any]]:
    """The schedule documents in an API answer: `{"schedule": ...}` or `{"schedules": [...]}`."""
    if not isinstance(document, dict):
        return []
    if isinstance(document.get("schedule"), dict):
        return [document["schedule"]]
    return [s for s in document.get("schedules", []) if isinstance(s, dict)]


class RunNowIgnored(Broken):
    """`run_now` changes nothing: no backup is made (the rest of the update is)."""

    def before(self, request: Request) -> Answer | None:
        document = request.json()
        schedule = document.get("schedule") if isinstance(document, dict) else None
        if request.method == "PUT" and isinstance(schedule, dict) and "run_now" in schedule:
            schedule["run_now"] = "false"
            request.body = json.dumps(document).encode()
        return None


class SchedulesRefused(Broken):
    """Every schedule create is 422, as if no datastore supported schedules."""

    def before(self, request: Request) -> Answer | None:
        if request.method == "POST" and SCHEDULES_PATH.match(request.path) and authorized(request):
            fault = {"unprocessableEntity": {"code": 422, "message": "Not supported."}}
            return Answer(422, [(b"content-type", b"application/json")], json.dumps(fault).encode())
        return None


class SecondScheduleAccepted(Broken):
    """A second schedule for a target that has one answers 202 (with a schedule that is not
    kept), instead of 422."""

    def after(self, request: Request, answer: Answer) -> None:
        found = SCHEDULES_PATH.match(request.path)
        fault = answer.json()
        refusal = fault.get("unprocessableEntity") if isinstance(fault, dict) else None
        message = str(refusal.get("message", "")) if isinstance(refusal, dict) else ""
        existing = re.search(r"already has a backup schedule \((?P<id>[^)]+)\)", message)
        if request.method != "POST" or found is None or existing is None:
            return
        schedule = self.mock.store.get_schedule(found["account"], existing["id"])
        answer.status = 202
        answer.replace_json({"schedule": {**schedule_document(schedule), "id": str(uuid.uuid4())}})


@dataclass
class NextRunNotRecomputed(Broken):
    """An update keeps `next_run` as it was, whatever time it sets."""

    kept: dict[str, int] = field(default_factory=dict)  # schedule id -> its next_run

    def before(self, request: Request) -> Answer | None:
        found = SCHEDULE_PATH.match(request.path)
        if request.method == "PUT" and found is not None and authorized(request):
            try:
                schedule = self.mock.store.get_schedule(found["account"], found["id"])
            except NotFound:
                return None
            self.kept[found["id"]] = schedule.next_run
        return None

    def after(self, request: Request, answer: Answer) -> None:
        found = SCHEDULE_PATH.match(request.path)
        if request.method != "PUT" or found is None or answer.status != 200:
            return
        kept = self.kept.pop(found["id"])
        state = self.mock.store.snapshot()
        for schedule in state["accounts"][found["account"]].get("schedules", []):
            if schedule["id"] == found["id"]:
                schedule["next_run"] = timestamp(kept)
                document = answer.json()
                document["schedule"]["next_run"] = schedule["next_run"]
                answer.replace_json(document)
        self.mock.store.replace(state)


class ScheduledBackupsNotAutomated(Broken):
    """Backups made by a schedule show `is_automated` 0, as if made through the API."""

    def after(self, request: Request, answer: Answer) -> None:
        def manual(backup: dict[str, Any]) -> None:
            if backup.get("is_automated") in (1, True):
                backup["is_automated"] = 0

        edit_backups(answer, manual)


@dataclass
class NoRunsOnTheClock(Broken):
    """A schedule never runs on the clock (`run_now` still works)."""

    def __post_init__(self) -> None:
        store = self.mock.store
        store._settle = lambda account: StoreCore._settle(store, account)  # type: ignore[method-assign]


@dataclass
class ScheduledRunsAllFull(Broken):
    """Every run makes a full backup: the daily ones are never incremental."""

    def __post_init__(self) -> None:
        store = self.mock.store
        newest = store._newest_completed

        def no_parent_for_runs(account: Any, source_id: str, schedule_id: str | None = None) -> Any:
            return None if schedule_id is not None else newest(account, source_id)

        store._newest_completed = no_parent_for_runs  # type: ignore[method-assign]


@dataclass
class NoRetention(Broken):
    """A schedule keeps every full backup it made: retention never deletes one."""

    def __post_init__(self) -> None:
        self.mock.store._ended = lambda account, backup: None  # type: ignore[method-assign]


class ScheduleDeleteTakesItsBackups(Broken):
    """Deleting a schedule deletes the backups it made as well."""

    def after(self, request: Request, answer: Answer) -> None:
        found = SCHEDULE_PATH.match(request.path)
        if request.method != "DELETE" or found is None or answer.status != 202:
            return
        backups = self.mock.store.snapshot()["accounts"][found["account"]]["backups"]
        for backup in backups:
            if backup.get("schedule_id") == found["id"] and backup["status"] not in RUNNING:
                self.mock.store.delete_backup(found["account"], backup["id"])


class ScheduleNeverRunning(Broken):
    """A schedule says `running` false, even while a backup it made runs."""

    def after(self, request: Request, answer: Answer) -> None:
        document = answer.json()
        found = _schedules_of(document)
        for schedule in found:
            schedule["running"] = False
        if found:
            answer.replace_json(document)
