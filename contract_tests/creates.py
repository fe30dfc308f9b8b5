"""Fuzzed creates: schemathesis' valid create bodies, sent for what the run may back up.

Left alone, a generated create names a random instance and is answered 404: the success path of
the most important operation would never see a fuzzed body. So before each positive create (in
every phase) the body is aimed at the instance or the HA instance the run may back up, in turn,
keeping everything else schemathesis generated (names, descriptions, flags, unknown members);
the name gets the run's prefix, so that cleanup can recognise it, and a `parent_id` becomes the
first backup the run made of that source here (or goes, when there is none yet). On a mock,
after a 202 the hook moves the clock until the backup ends, so that the next create finds its
source idle, and outside the stateful phase deletes it at once (all but that first one), so
that the account's quota is not spent by backups nothing looks at again. On a real service it
waits for nothing: the source stays busy for the minutes a backup takes, the creates that meet
it are 422, and cleanup deletes the backups once they have ended.

What the answer to an aimed body must be is `valid_create_of_an_idle_source_is_accepted`'s to
judge: 202; or 413 (the quota or a rate limit); or 422 only while the source is really not
ACTIVE (a backup of it runs); or 404 only when the parent it names is gone.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from typing import Any

from schemathesis.generation.meta import TestPhase

from contract_tests.api import Api, Source
from contract_tests.lifecycle import ENDED
from contract_tests.timeline import TimedOut

MAX_NAME = 64  # the contract's longest backup name


class FuzzedCreates:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.sources = [] if api.target.read_only else api.sources()
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._aimed: dict[int, Source] = {}  # id(case) -> the source its body was aimed at
        # Source id -> the first backup made of it here, kept (never deleted by `after`) as the
        # parent of the bodies that name one.
        self._anchors: dict[str, str] = {}
        self.sent: Counter[str] = Counter()  # by source kind
        self.accepted: Counter[str] = Counter()

    def aim(self, case: Any) -> None:
        """Before the call: aim a positive create's body at one of the run's sources."""
        meta = case.meta
        body = case.body
        if not self.sources or meta is None or not meta.generation.mode.is_positive:
            return
        if not isinstance(body, dict) or not isinstance(body.get("backup"), dict):
            return
        backup = dict(body["backup"])
        with self._lock:
            source = self.sources[next(self._turn) % len(self.sources)]
            parent = self._anchors.get(source.id)
        if source.kind == "instance":
            backup["instance"] = source.id
            if "source" in backup:
                backup["source"] = {"type": "instance", "id": source.id}
        else:
            backup["instance"] = None
            backup["source"] = {"type": "ha", "id": source.id}
        if backup.get("parent_id") is not None:
            if parent is None:
                del backup["parent_id"]
            else:
                backup["parent_id"] = parent
        backup["name"] = (self.api.name_prefix + str(backup.get("name", "")))[:MAX_NAME]
        case.body = {**body, "backup": backup}
        with self._lock:
            self._aimed[id(case)] = source
            self.sent[source.kind] += 1

    def aimed_at(self, case: Any) -> Source | None:
        with self._lock:
            return self._aimed.get(id(case))

    def forget(self, case: Any) -> None:
        with self._lock:
            self._aimed.pop(id(case), None)

    def after(self, case: Any, backup_id: str | None) -> None:
        """After the call: let a created backup end and, outside the stateful phase, delete it."""
        if backup_id is None:
            return
        source = self.aimed_at(case)
        anchor = False
        if source is not None:
            with self._lock:
                anchor = self._anchors.setdefault(source.id, backup_id) == backup_id
                self.accepted[source.kind] += 1
        if self.api.timeline.control is None:
            # On a real service a backup takes minutes: waiting after each would make the run
            # last hours. The next creates of this source find it busy (422, which the check
            # allows while it is not ACTIVE); cleanup deletes it once it has ended.
            return

        def ended() -> bool:
            shown = self.api.show(backup_id, judge=False)
            return shown.status != 200 or shown.document("backup").get("status") in ENDED

        try:
            self.api.timeline.wait_for(ended, f"fuzzed backup {backup_id} to end")
        except TimedOut:
            return  # cleanup waits for it again, and says so if it cannot delete it
        meta = case.meta
        if not anchor and meta is not None and meta.phase.name != TestPhase.STATEFUL:
            self.api.delete(backup_id)

    def parent_is_gone(self, case: Any) -> bool:
        """Whether the parent an aimed body named is gone (a link of the stateful phase deleted
        it, say): then a 404 is the right answer, and the source gets a new anchor."""
        body = case.body
        parent = body["backup"].get("parent_id") if isinstance(body, dict) else None
        if not isinstance(parent, str) or self.api.show(parent, judge=False).status != 404:
            return False
        with self._lock:
            for source_id, anchor in list(self._anchors.items()):
                if anchor == parent:
                    del self._anchors[source_id]
        return True

    def summary(self) -> str:
        if not self.sources:
            return "no valid create was aimed: the run has nothing it may back up"
        parts = [
            f"{self.sent[s.kind]} aimed at {s} ({self.accepted[s.kind]} accepted)"
            for s in self.sources
        ]
        return "; ".join(parts)


def created_id(response: Any) -> str | None:
    """The id of the backup a 2xx create answer names."""
    if not 200 <= response.status_code < 300:
        return None
    try:
        backup_id = json.loads(response.content)["backup"]["id"]
    except (ValueError, KeyError, TypeError):
        return None
    return backup_id if isinstance(backup_id, str) else None
