"""Broken variants of the mock's restores and instance deletes (contract section 11), each
caught by the contract suite."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from broken_wrapper import (
    BACKUPS_PATH,
    DEFAULT_DATASTORE,
    INSTANCE_PATH,
    INSTANCES_PATH,
    Answer,
    Broken,
    Request,
    authorized,
)

from mockserver.state.clock import timestamp
from mockserver.state.errors import NotFound
from mockserver.state.models import RUNNING


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
        if backup_id is None or not authorized(request):
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
