"""Broken variants of the mock, for testing the contract suite: each breaks one promise.

Each is an ASGI wrapper around a true mock (`mockserver.create_app`): it passes the control API
through untouched and changes the answers of the API, or what one request does, and nothing
else. The contract suite must fail against every one of them, and pass against the true mock.

`python tests/broken_mocks.py <variant>` serves one on a free port, prints its URL, and stops
when its standard input closes (the tests run each in a process of its own, for two cores).
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.clock import timestamp
from mockserver.core import StoreCore
from mockserver.document import backup_document, schedule_document
from mockserver.errors import NotFound
from mockserver.gateway import Message, Receive, Scope, Send
from mockserver.models import RUNNING
from mockserver.threaded import ThreadedServer

TOKEN = "contract-tests"
ACCOUNT = "1234"
OTHER_ACCOUNT = "5678"
BACKUP_PATH = re.compile(r"^/v1\.0/(?P<account>[^/]+)/backups/(?P<id>[^/]+)$")
BACKUPS_PATH = re.compile(r"^/v1\.0/[^/]+/backups$")
HA_PATH = re.compile(r"^/v1\.0/[^/]+/ha/[^/]+$")
INSTANCE_PATH = re.compile(r"^/v1\.0/[^/]+/instances/(?P<id>[^/]+)$")
SOURCE_LIST_PATH = re.compile(r"^/v1\.0/[^/]+/instances/[^/]+/backups$")
SCHEDULES_PATH = re.compile(r"^/v1\.0/(?P<account>[^/]+)/schedules$")
SCHEDULE_PATH = re.compile(r"^/v1\.0/(?P<account>[^/]+)/schedules/(?P<id>[^/]+)$")
INSTANCES_PATH = re.compile(r"^/v1\.0/(?P<account>[^/]+)/instances$")
DEFAULT_DATASTORE = {"type": "mysql", "version": "5.6"}  # a create's, when it names none


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def replace_json(self, document: Any) -> None:
        self.body = json.dumps(document).encode()

    def empty(self) -> None:
        self.body = b""
        self.headers = [(k, v) for k, v in self.headers if k.lower() != b"content-type"]


@dataclass
class Broken:
    """A true mock behind a wrapper; subclasses override `before` and `after`."""

    mock: Mock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock"):
            await self.mock(scope, receive, send)
            return
        request = Request(
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode(),
            list(scope.get("headers", [])),
            await _read(receive),
        )
        early = self.before(request)
        if early is not None:
            await _send(send, early)
            return
        headers = [(k, v) for k, v in request.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(request.body)).encode()))
        scope = {**scope, "headers": headers}
        answer = await _capture(self.mock, scope, _replay(request.body))
        self.after(request, answer)
        await _send(send, answer)

    def before(self, request: Request) -> Answer | None:
        """An answer that replaces the mock's, or None to ask the mock (and `after` it)."""
        return None

    def after(self, request: Request, answer: Answer) -> None:
        """Change the mock's answer in place."""


def _backups_of(document: Any) -> list[dict[str, Any]]:
    """The backup documents in an API answer: `{"backup": ...}` or `{"backups": [...]}`."""
    if not isinstance(document, dict):
        return []
    if isinstance(document.get("backup"), dict):
        return [document["backup"]]
    return [b for b in document.get("backups", []) if isinstance(b, dict)]


def _edit_backups(answer: Answer, edit: Callable[[dict[str, Any]], None]) -> None:
    document = answer.json()
    found = _backups_of(document)
    for backup in found:
        edit(backup)
    if found:
        answer.replace_json(document)


class WrongSuccessStatus(Broken):
    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "POST" and answer.status == 202:
            answer.status = 200  # the WADL's word, not the contract's


class MissingField(Broken):
    def after(self, request: Request, answer: Answer) -> None:
        _edit_backups(answer, lambda backup: backup.pop("datastore", None))


class WrongType(Broken):
    def after(self, request: Request, answer: Answer) -> None:
        def stringify(backup: dict[str, Any]) -> None:
            backup["volume_size"] = str(backup.get("volume_size"))

        _edit_backups(answer, stringify)


class NoCascade(Broken):
    """Delete removes the backup alone: its incremental descendants stay (as full backups)."""

    def before(self, request: Request) -> Answer | None:
        found = BACKUP_PATH.match(request.path)
        if request.method != "DELETE" or found is None or not _authorized(request):
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
        if request.method == "DELETE" and found is not None and _authorized(request):
            try:
                backup = self.mock.store.get_backup(found["account"], found["id"])
            except Exception:
                return None
            self.ghosts[request.path] = json.dumps({"backup": backup_document(backup)}).encode()
        return None

    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "DELETE" and answer.status != 202:
            self.ghosts.pop(request.path, None)


class AuthIgnored(Broken):
    """Any request is served as if it carried the right token."""

    def before(self, request: Request) -> Answer | None:
        request.headers = [(k, v) for k, v in request.headers if k.lower() != b"x-auth-token"]
        request.headers.append((b"x-auth-token", TOKEN.encode()))
        return None


class WrongFaultShape(Broken):
    def after(self, request: Request, answer: Answer) -> None:
        document = answer.json()
        if answer.status >= 400 and isinstance(document, dict) and len(document) == 1:
            fault = next(iter(document.values()))
            answer.replace_json({"error": {"status": answer.status, "text": fault.get("message")}})


class UndocumentedStatus(Broken):
    """A second backup while one runs is 409 Conflict, which no operation documents."""

    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "POST" and answer.status == 422:
            answer.status = 409
            answer.replace_json({"conflictingRequest": {"code": 409, "message": "busy"}})


class PaginationSkipsAnItem(Broken):
    """Every page after the first loses its first item (an off-by-one on the marker)."""

    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "GET" and "marker=" in request.query and answer.status == 200:
            document = answer.json()
            if _backups_of(document):
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


class RunningDeleteAccepted(Broken):
    """Deleting a running backup answers 202 (and deletes nothing)."""

    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "DELETE" and answer.status == 422:
            answer.status = 202
            answer.empty()


class NewestMissingFromInstanceList(Broken):
    """The list of an instance's backups leaves out the newest one."""

    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "GET" and SOURCE_LIST_PATH.match(request.path):
            document = answer.json()
            if answer.status == 200 and "marker=" not in request.query and _backups_of(document):
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


class NoQuota(Broken):
    """The account's backup quota is never enforced."""

    def before(self, request: Request) -> Answer | None:
        self.mock.store.quota = 10**9
        return None


class CrossAccountRead(Broken):
    """Show answers a backup of any account, through any account."""

    def before(self, request: Request) -> Answer | None:
        found = BACKUP_PATH.match(request.path)
        if request.method != "GET" or found is None or not _authorized(request):
            return None
        for account in self.mock.store.snapshot()["accounts"].values():
            for backup in account.get("backups", []):
                if backup["id"] == found["id"]:
                    body = json.dumps({"backup": backup}).encode()
                    return Answer(200, [(b"content-type", b"application/json")], body)
        return None


class NonAsciiDescription500(Broken):
    """A create whose description is not ASCII fails with a 500."""

    def before(self, request: Request) -> Answer | None:
        document = request.json()
        backup = document.get("backup") if isinstance(document, dict) else None
        description = backup.get("description") if isinstance(backup, dict) else None
        if request.method == "POST" and isinstance(description, str) and not description.isascii():
            body = b'{"instanceFault": {"code": 500, "message": "ascii codec can\'t encode"}}'
            return Answer(500, [(b"content-type", b"application/json")], body)
        return None


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


class PreferIgnored(Broken):
    """`Prefer: code=` changes nothing: the request is answered as usual."""

    def before(self, request: Request) -> Answer | None:
        request.headers = [(k, v) for k, v in request.headers if k.lower() != b"prefer"]
        return None


class FirstViolationOnly(Broken):
    """A 400 names only the first violation it found."""

    def after(self, request: Request, answer: Answer) -> None:
        document = answer.json()
        fault = document.get("badRequest") if isinstance(document, dict) else None
        if answer.status == 400 and isinstance(fault, dict):
            message = str(fault.get("message", ""))
            fault["message"] = message.split("; ")[0]
            answer.replace_json(document)


class NoBodyLimit(Broken):
    """A body of any size is read and judged (its unknown members dropped)."""

    def before(self, request: Request) -> Answer | None:
        document = request.json()
        if len(request.body) > 64 * 1024 and isinstance(document, dict):
            backup = document.get("backup")
            if isinstance(backup, dict):
                known = ("name", "description", "instance", "source", "parent_id", "incremental")
                document["backup"] = {k: v for k, v in backup.items() if k in known}
                request.body = json.dumps(document).encode()
        return None


# -- scheduled backups ---------------------------------------------------------------------------


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
        if request.method == "POST" and SCHEDULES_PATH.match(request.path) and _authorized(request):
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
        if request.method == "PUT" and found is not None and _authorized(request):
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

        _edit_backups(answer, manual)


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


# -- restores and instance deletes ---------------------------------------------------------------


def _instances_of(document: Any) -> list[dict[str, Any]]:
    """The instance documents in an API answer: `{"instance": ...}` or `{"instances": [...]}`."""
    if not isinstance(document, dict):
        return []
    if isinstance(document.get("instance"), dict):
        return [document["instance"]]
    return [i for i in document.get("instances", []) if isinstance(i, dict)]


def _restore_of(request: Request) -> str | None:
    """The backup a `POST /instances` restores (None: not a restore)."""
    document = request.json()
    instance = document.get("instance") if isinstance(document, dict) else None
    point = instance.get("restorePoint") if isinstance(instance, dict) else None
    ref = point.get("backupRef") if isinstance(point, dict) else None
    if request.method != "POST" or not INSTANCES_PATH.match(request.path):
        return None
    return ref if isinstance(ref, str) else None


@dataclass
class RestoredInstancesEdited(Broken):
    """Every answer that shows an instance a restore made is edited by `edit`."""

    restored: set[str] = field(default_factory=set)

    def after(self, request: Request, answer: Answer) -> None:
        if _restore_of(request) is not None and answer.status == 200:
            self.restored.add(str(answer.json()["instance"]["id"]))
        document = answer.json()
        found = [i for i in _instances_of(document) if i.get("id") in self.restored]
        for instance in found:
            self.edit(instance)
        if found:
            answer.replace_json(document)

    def edit(self, instance: dict[str, Any]) -> None:
        """Change one instance document in place."""


class RestoreNeverActive(RestoredInstancesEdited):
    """A restored instance says BUILD for ever (the mock builds it: it can be deleted)."""

    def edit(self, instance: dict[str, Any]) -> None:
        if instance.get("status") == "ACTIVE":
            instance["status"] = "BUILD"


class RestoreIgnoresTheBackupsDatastore(RestoredInstancesEdited):
    """A restored instance is of the default datastore (MySQL 5.6), not its backup's."""

    def edit(self, instance: dict[str, Any]) -> None:
        instance["datastore"] = dict(DEFAULT_DATASTORE)


class InstanceDeleteTakesItsBackups(Broken):
    """Deleting an instance deletes the backups of it as well."""

    def after(self, request: Request, answer: Answer) -> None:
        found = INSTANCE_PATH.match(request.path)
        if request.method != "DELETE" or found is None or answer.status != 202:
            return
        account = request.path.split("/")[2]
        for backup in self.mock.store.snapshot()["accounts"][account]["backups"]:
            if backup.get("instance_id") == found["id"] and backup["status"] not in RUNNING:
                self.mock.store.delete_backup(account, backup["id"])


@dataclass
class DeletedInstanceStillShown(Broken):
    """After a delete, show still answers the instance as it was last shown."""

    shown: dict[str, bytes] = field(default_factory=dict)  # path -> the last 200's body
    ghosts: set[str] = field(default_factory=set)

    def before(self, request: Request) -> Answer | None:
        if request.method == "GET" and request.path in self.ghosts:
            body = self.shown[request.path]
            return Answer(200, [(b"content-type", b"application/json")], body)
        return None

    def after(self, request: Request, answer: Answer) -> None:
        if not INSTANCE_PATH.match(request.path):
            return
        if request.method == "GET" and answer.status == 200:
            self.shown[request.path] = answer.body
        elif request.method == "DELETE" and answer.status == 202 and request.path in self.shown:
            self.ghosts.add(request.path)


class UnfinishedBackupRestored(Broken):
    """A restore of a backup that has not ended is accepted: the instance is made as a new one
    of the backup's datastore."""

    def before(self, request: Request) -> Answer | None:
        backup_id = _restore_of(request)
        if backup_id is None or not _authorized(request):
            return None
        account = request.path.split("/")[2]
        try:
            backup = self.mock.store.get_backup(account, backup_id)
        except NotFound:
            return None
        if backup.status not in RUNNING:
            return None
        document = request.json()
        instance = document["instance"]
        del instance["restorePoint"]
        instance["datastore"] = {
            "type": backup.datastore["type"],
            "version": backup.datastore["version"],
        }
        request.body = json.dumps(document).encode()
        return None


class BackupOfABuildingInstanceAccepted(Broken):
    """A backup of an instance in BUILD answers 202 (with a backup that is not kept)."""

    def after(self, request: Request, answer: Answer) -> None:
        document = request.json()
        backup = document.get("backup") if isinstance(document, dict) else None
        instance_id = backup.get("instance") if isinstance(backup, dict) else None
        if request.method != "POST" or not BACKUPS_PATH.match(request.path):
            return
        if answer.status != 422 or not isinstance(instance_id, str):
            return
        account = request.path.split("/")[2]
        try:
            instance = self.mock.store.get_instance(account, instance_id)
        except NotFound:
            return
        if instance.status != "BUILD":
            return
        now = timestamp(self.mock.clock.now())
        answer.status = 202
        answer.replace_json(
            {
                "backup": {
                    "id": str(uuid.uuid4()),
                    "name": backup.get("name"),
                    "description": backup.get("description"),
                    "status": "NEW",
                    "created": now,
                    "updated": now,
                    "instance_id": instance_id,
                    "source": {"type": "instance", "id": instance_id},
                    "parent_id": None,
                    "locationRef": None,
                    "size": None,
                    "type": "InnoBackupEx",
                    "is_automated": 0,
                    "flavor_ram": instance.flavor.get("ram", 0),
                    "volume_size": instance.volume_size,
                    "datastore": dict(instance.datastore),
                }
            }
        )


def _authorized(request: Request) -> bool:
    return any(k.lower() == b"x-auth-token" and v for k, v in request.headers)


async def _read(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return messages.pop() if messages else {"type": "http.disconnect"}

    return receive


async def _capture(app: Mock, scope: Scope, receive: Receive) -> Answer:
    answer = Answer(500, [], b"")
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    answer.body = b"".join(chunks)
    return answer


async def _send(send: Send, answer: Answer) -> None:
    headers = [(k, v) for k, v in answer.headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


VARIANTS: Mapping[str, Callable[[Mock], Broken]] = MappingProxyType(
    {
        "wrong-success-status": WrongSuccessStatus,
        "missing-field": MissingField,
        "wrong-type": WrongType,
        "no-cascade": NoCascade,
        "deleted-backup-still-visible": DeletedStillVisible,
        "auth-ignored": AuthIgnored,
        "wrong-fault-shape": WrongFaultShape,
        "undocumented-status": UndocumentedStatus,
        "pagination-skips-an-item": PaginationSkipsAnItem,
        "ha-state-unchanged-while-backing-up": HaStateUnchanged,
        "running-backup-delete-accepted": RunningDeleteAccepted,
        "new-backup-missing-from-its-instance-list": NewestMissingFromInstanceList,
        "instance-stays-busy-after-its-backup": InstanceStaysBusy,
        "no-quota": NoQuota,
        "cross-account-read": CrossAccountRead,
        "non-ascii-description-500": NonAsciiDescription500,
        "incremental-flag-ignored": IncrementalFlagIgnored,
        "prefer-ignored": PreferIgnored,
        "first-violation-only": FirstViolationOnly,
        "no-body-limit": NoBodyLimit,
        "schedules-refused": SchedulesRefused,
        "run-now-ignored": RunNowIgnored,
        "second-schedule-accepted": SecondScheduleAccepted,
        "next-run-not-recomputed": NextRunNotRecomputed,
        "scheduled-backups-not-automated": ScheduledBackupsNotAutomated,
        "no-runs-on-the-clock": NoRunsOnTheClock,
        "scheduled-runs-all-full": ScheduledRunsAllFull,
        "no-retention": NoRetention,
        "schedule-delete-takes-its-backups": ScheduleDeleteTakesItsBackups,
        "schedule-never-running": ScheduleNeverRunning,
        "restore-never-active": RestoreNeverActive,
        "restore-ignores-the-backups-datastore": RestoreIgnoresTheBackupsDatastore,
        "instance-delete-takes-its-backups": InstanceDeleteTakesItsBackups,
        "deleted-instance-still-shown": DeletedInstanceStillShown,
        "restore-of-an-unfinished-backup-accepted": UnfinishedBackupRestored,
        "backup-of-a-building-instance-accepted": BackupOfABuildingInstanceAccepted,
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
