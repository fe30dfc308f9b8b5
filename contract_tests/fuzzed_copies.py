"""Fuzzed copies: schemathesis' copy-backup actions, aimed where copies are allowed and defused
where they would make real copies the run may not pay for.

Left alone, a generated copy names a random backup and is answered 404 (the guard replaces any
id of a backup the run did not make with one that names nothing): the success path would never
see a fuzzed body. So, where copies are allowed, a positive body is aimed, keeping everything else
schemathesis generated: it copies a backup of the run's own (a link of the stateful phase) or,
for any other id, the account's smallest COMPLETED full backup (`copying.copyable`: a copy only
reads it), to the region the run copies to (`Target.copy_to`), named with the run's prefix and a
number of its own, so that the copy is found in that region. What the answer to an aimed body
must be is `valid_copy_is_accepted`'s to judge: 202, or 413 (the quota there, a rate limit);
for one of the run's own backups also 422 while it runs, 400 for an incremental one (its parent
may have no copy there), 404 once it is gone.

After a 202 the copy is looked for in that region and is the run's from then on. On a mock the
hook moves the clock until the copy has ended and deletes it at once (no link leads to another
region, and each copy counts against the quota there). On a target without the control API (a
real service, run with --allow-copy) each accepted copy is a real backup: only the first
REAL_COPIES positive bodies are aimed; every other body (negative ones too: a lenient service
may take them) is defused with a backup id that names nothing, so that the target answers 404
and copies nothing. Cleanup deletes the copies once they have ended.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from contract_tests import copying
from contract_tests.api import Api
from contract_tests.lifecycle import ENDED, RUNNING
from contract_tests.timeline import TimedOut

MAX_NAME = 64  # the contract's longest backup name
REAL_COPIES = 2  # aimed copies on a target without the control API: each a real backup


@dataclass(frozen=True)
class AimedCopy:
    backup_id: str
    name: str
    ours: bool  # a backup the run made (a link): it may run, be incremental, or be gone


class FuzzedCopies:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.allowed = copying.why_not(api.target) is None
        self.on_a_mock = api.timeline.control is not None
        self.there = copying.destination(api) if self.allowed else None
        # What aimed bodies copy when they name no backup of the run's: looked up once.
        self.backup = copying.copyable(api) if self.allowed else None
        self._lock = threading.Lock()
        self._aimed: dict[int, AimedCopy] = {}  # id(case) -> what its body was aimed at
        self.counts: Counter[str] = Counter()  # sent, accepted, defused

    def aim(self, case: Any) -> None:
        """Before the call: aim a positive copy, or defuse it where it would copy for real."""
        if not self.allowed or self.there is None:
            return
        body = case.body
        action = body.get("copy-backup") if isinstance(body, dict) else None
        meta = case.meta
        positive = meta is not None and meta.generation.mode.is_positive
        given = str(case.path_parameters.get("backupId", ""))
        ours = self.api.inventory.owns(given)
        with self._lock:
            aiming = (
                positive
                and isinstance(action, dict)
                and (ours or self.backup is not None)
                and (self.on_a_mock or self.counts["sent"] < REAL_COPIES)
            )
            if aiming:
                self.counts["sent"] += 1
            elif not self.on_a_mock:
                self.counts["defused"] += 1
        if not aiming:
            if not self.on_a_mock:
                case.path_parameters = {**case.path_parameters, "backupId": str(uuid.uuid4())}
            return
        assert isinstance(action, dict) and isinstance(body, dict)
        backup_id = given if ours or self.backup is None else str(self.backup["id"])
        name = f"{self.api.new_name()} {action.get('name') or ''}".strip()[:MAX_NAME]
        action = {**action, "target_backup_region": self.there.target.region, "name": name}
        case.path_parameters = {**case.path_parameters, "backupId": backup_id}
        case.body = {**body, "copy-backup": action}
        with self._lock:
            self._aimed[id(case)] = AimedCopy(backup_id, name, ours)

    def problem(self, case: Any, status: int) -> str | None:
        """What is wrong with `status` as the answer to an aimed body (None: nothing)."""
        with self._lock:
            aimed = self._aimed.pop(id(case), None)
        if aimed is None or 200 <= status < 300 or status == 413:  # 413: quota, rate limit
            return None
        if aimed.ours:
            shown = self.api.show(aimed.backup_id, judge=False)
            backup = shown.document("backup")
            if status == 404 and shown.status == 404:
                return None  # a link of the stateful phase deleted it
            if status == 422 and backup.get("status") in RUNNING:
                return None
            if status == 400 and backup.get("parent_id") is not None:
                return None  # its parent may have no copy there
        region = self.there.target.region if self.there else None
        return f"A valid copy of backup {aimed.backup_id} to {region} answered {status}, not 202"

    def after(self, case: Any, status: int) -> None:
        """After the call: find an aimed body's copy in its region (it is the run's then); on
        a mock, let it end and delete it."""
        with self._lock:
            aimed = self._aimed.get(id(case))  # the check, which runs after this hook, pops it
        there = self.there
        if aimed is None or there is None or not 200 <= status < 300:
            return
        copy, _ = copying.find(there, aimed.name, strict=False)  # a hook raises nothing
        if copy is None:
            return  # `copy_is_listed_in_the_target_region` says so, on every run
        with self._lock:
            self.counts["accepted"] += 1
        if not self.on_a_mock:
            return  # it takes minutes: cleanup deletes it once it has ended
        copy_id = str(copy["id"])

        def ended() -> bool:
            shown = there.show(copy_id, judge=False)
            return shown.status != 200 or shown.document("backup").get("status") in ENDED

        try:
            there.timeline.wait_for(ended, f"fuzzed copy {copy_id} to end")
        except TimedOut:
            return  # cleanup waits for it again, and says so if it cannot delete it
        there.delete(copy_id)

    def summary(self) -> str:
        if not self.allowed:
            return "none sent: " + (copying.why_not(self.api.target) or "")
        counts = self.counts
        region = self.there.target.region if self.there else None
        text = f"{counts['sent']} aimed at {region} ({counts['accepted']} accepted)"
        if self.backup is not None:
            text += f", copying backup {self.backup['id']} (or a link's backup of the run's)"
        if not self.on_a_mock:
            text += f"; {counts['defused']} defused (a copy of no backup, so nothing is made)"
        return text
