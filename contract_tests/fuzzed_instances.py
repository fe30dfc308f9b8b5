"""Fuzzed instance creates: schemathesis' `POST /instances` bodies, aimed where restores are
allowed and defused where they would make real instances the run may not pay for.

Left alone, a valid generated create names a random flavor and a random backup, and is answered
404: the success path would never see a fuzzed body. So, where restores are allowed, a positive
body is aimed, keeping everything else schemathesis generated: its name gets the run's prefix
(so that cleanup finds an instance whose answer a stop cut off), `flavorRef` names a flavor the
target lists, a `restorePoint` names the backup the run restores (`restoring.restorable`), the
volume holds that backup, and a `datastore` given is the backup's. What the answer to an aimed
body must be is `valid_instance_create_is_accepted`'s to judge: 200, or 413 (a rate limit), or
404 only when the backup it names has gone since.

On a mock, after a 200 the hook moves the clock until the instance is built, so that links
reach a DELETE that can succeed, and outside the stateful phase deletes it at once. On a target
without the control API (a real service, run with --allow-restore) each accepted create is a
real instance built for minutes: only the first REAL_INSTANCES positive bodies are aimed; every
other body (negative ones too: a lenient service may take them) is defused with a
`restorePoint` that names no backup, so that the target answers 404 and builds nothing.
Cleanup deletes the instances once they are built.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Any

from schemathesis.generation.meta import TestPhase

from contract_tests import restoring
from contract_tests.api import Api
from contract_tests.timeline import TimedOut

MAX_NAME = 64  # the contract's longest instance name
REAL_INSTANCES = 2  # aimed creates on a target without the control API: each a real instance


class FuzzedInstances:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.allowed = api.target.restores
        self.on_a_mock = api.timeline.control is not None
        # What aimed bodies name: looked up once, before the phases.
        self.backup = restoring.restorable(api) if self.allowed else None
        self.flavors = restoring.flavor_ids(api) if self.allowed else []
        self._lock = threading.Lock()
        self._aimed: dict[int, str | None] = {}  # id(case) -> the backup it restores, if any
        self.counts: Counter[str] = Counter()  # sent, accepted, defused

    def aim(self, case: Any) -> None:
        """Before the call: aim a positive create, or defuse it where it would build for real."""
        body = case.body
        instance = body.get("instance") if isinstance(body, dict) else None
        if not self.allowed or not isinstance(instance, dict):
            return
        meta = case.meta
        positive = meta is not None and meta.generation.mode.is_positive
        with self._lock:
            aiming = positive and (self.on_a_mock or self.counts["sent"] < REAL_INSTANCES)
            if aiming:
                self.counts["sent"] += 1
            elif not self.on_a_mock:
                self.counts["defused"] += 1
        if aiming:
            instance = self._aimed_body(dict(instance))
            with self._lock:
                self._aimed[id(case)] = _backup_ref(instance)
        elif not self.on_a_mock:
            instance = {**instance, "restorePoint": {"backupRef": str(uuid.uuid4())}}
        case.body = {**body, "instance": instance}

    def _aimed_body(self, instance: dict[str, Any]) -> dict[str, Any]:
        instance["name"] = (self.api.name_prefix + str(instance.get("name", "")))[:MAX_NAME]
        if self.flavors:
            flavor = self.flavors[0]
            given = instance.get("flavorRef")
            instance["flavorRef"] = flavor if isinstance(given, int) else str(flavor)
        backup = self.backup
        if backup is None:
            return instance  # no backup to restore: a restorePoint is answered 404
        if isinstance(instance.get("restorePoint"), dict):
            instance["restorePoint"] = {**instance["restorePoint"], "backupRef": backup["id"]}
            volume = instance.get("volume")
            if isinstance(volume, dict) and isinstance(volume.get("size"), int):
                needed = restoring.volume_for(backup)
                instance["volume"] = {**volume, "size": max(volume["size"], needed)}
        if "datastore" in instance:  # one the target has (a restore's must be its backup's)
            kind, version = restoring.datastore_of(backup)
            instance["datastore"] = {"type": kind, "version": version}
        return instance

    def problem(self, case: Any, status: int) -> str | None:
        """What is wrong with `status` as the answer to an aimed body (None: nothing)."""
        with self._lock:
            if id(case) not in self._aimed:
                return None
            backup_id = self._aimed.pop(id(case))
        if 200 <= status < 300 or status == 413:  # 413: a rate limit
            return None
        gone = backup_id is not None and self.api.show(backup_id, judge=False).status == 404
        if status == 404 and gone:
            return None  # the backup went meanwhile (a link of the stateful phase, say)
        what = f"restore of backup {backup_id}" if backup_id else "create"
        return f"A valid instance {what}, of a flavor the target lists, answered {status}, not 200"

    def after(self, case: Any, instance_id: str | None) -> None:
        """After the call: on a mock, let a created instance be built and, outside the stateful
        phase, delete it."""
        if instance_id is None:
            return
        with self._lock:
            self.counts["accepted"] += id(case) in self._aimed  # checks run after this hook
        if not self.on_a_mock:
            return  # built in minutes: cleanup deletes it once it is

        def built() -> bool:
            shown = restoring.show(self.api, instance_id, judge=False)
            return shown.status != 200 or shown.document("instance").get("status") != "BUILD"

        try:
            self.api.timeline.wait_for(built, f"fuzzed instance {instance_id} to be built")
        except TimedOut:
            return  # cleanup waits for it again, and says so if it cannot delete it
        meta = case.meta
        if meta is not None and meta.phase.name != TestPhase.STATEFUL:
            self.api.call("DELETE", restoring.path(self.api, instance_id))

    def summary(self) -> str:
        if not self.allowed:
            return "none sent: " + (
                "read-only" if self.api.target.read_only else "restores are not allowed"
            )
        counts = self.counts
        text = f"{counts['sent']} aimed ({counts['accepted']} accepted)"
        if self.backup is not None:
            text += f", restoring backup {self.backup['id']}"
        if not self.on_a_mock:
            text += f"; {counts['defused']} defused (a restore of no backup, so nothing is built)"
        return text


def _backup_ref(instance: dict[str, Any]) -> str | None:
    point = instance.get("restorePoint")
    ref = point.get("backupRef") if isinstance(point, dict) else None
    return ref if isinstance(ref, str) else None
