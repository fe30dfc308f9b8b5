"""Fuzzed creates: schemathesis' valid create bodies (of backups and of schedules), sent for
what the run may back up.

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
ACTIVE (a backup of it runs, or on a target without the control API ended as the 422 was
answered); or 404 only when the parent it names is gone.

Schedule creates are aimed the same way, at the run's sources in turn (`FuzzedSchedules`), and
every schedule create, valid or not, is confined by the guard: an id in its body that is not
one of the run's sources is replaced by one that names nothing, so that no generated schedule,
even one a lenient service wrongly accepts, backs up what the run must leave alone. Outside the
stateful phase a schedule the target accepts is deleted at once (it would make backups, and the
next create of its source would be refused: one schedule per target); the stateful phase's
are followed by their links, then deleted by cleanup with the backups they made. A service
without the control API is a real one: there the aimed bodies ask for no copies (`copy_to`
empty), which would land in regions cleanup never sees. What the answer to an aimed schedule
body must be is `valid_schedule_create_of_a_runs_source_is_accepted`'s to judge: 202, 413; 400
only when it asks for copies (one may name the target's own region); 422 only when the source
has a schedule already, a datastore schedules do not support, or a region without them.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from schemathesis.generation.meta import TestPhase

from contract_tests import scheduling
from contract_tests.api import Api
from contract_tests.lifecycle import ENDED
from contract_tests.source import Source
from contract_tests.timeline import TimedOut
from contract_tests.timetable import parse_time

MAX_NAME = 64  # the contract's longest backup name
NO_COPIES_TO = "LON"  # backups are never copied there (contract section 12)


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

    def ended_as_it_answered(self, source: Source, response: Any) -> bool:
        """Whether the backup the source was busy with ended as the target answered (by its own
        clock: the answer's Date, and the backup's `updated`, to the second). Only where the run
        waits for no backup (no control API): a 422 and an ACTIVE source a moment later are
        then no contradiction. On a mock the run lets each backup end before the next create."""
        if self.api.timeline.control is not None:
            return False
        values = next((v for k, v in response.headers.items() if k.lower() == "date"), None)
        date = values[0] if isinstance(values, list) and values else values  # a list each
        try:
            answered = parsedate_to_datetime(str(date)).timestamp()
        except (TypeError, ValueError):
            return False
        page = self.api.call("GET", source.list_path(self.api), query={"limit": 1}, judge=False)
        body = page.json() if page.status == 200 else None
        newest = (body.get("backups") or [None])[0] if isinstance(body, dict) else None
        if not isinstance(newest, dict) or newest.get("status") not in ENDED:
            return False
        ended = parse_time(newest.get("updated"))
        return ended is not None and ended >= answered - 1

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


@dataclass(frozen=True)
class AimedSchedule:
    source: Source
    copies: bool  # it asks for copies: a region it names may be the target's own (400)
    accepted_before: int  # schedule creates the target had accepted when it was sent


class FuzzedSchedules:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.sources = [] if api.target.read_only else api.sources()
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._aimed: dict[int, AimedSchedule] = {}  # id(case) -> what its body was aimed at
        self.sent: Counter[str] = Counter()  # by source kind
        self.accepted: Counter[str] = Counter()
        # Every schedule create the target accepted (aimed or not): with several workers, one
        # may have made the schedule of a source while another's create of it was in flight.
        self._accepted_in_all = 0

    def aim(self, case: Any) -> None:
        """Before the call: aim a positive schedule create at one of the run's sources, and
        confine every one to them."""
        body = case.body
        meta = case.meta
        positive = meta is not None and meta.generation.mode.is_positive
        wanted = body.get("schedule") if isinstance(body, dict) else None
        if self.sources and positive and isinstance(wanted, dict):
            with self._lock:
                source = self.sources[next(self._turn) % len(self.sources)]
            schedule = self._aimed_body(dict(wanted), source)
            body = {**body, "schedule": schedule}
            with self._lock:
                copies = bool(schedule.get("copy_to"))
                self._aimed[id(case)] = AimedSchedule(source, copies, self._accepted_in_all)
                self.sent[source.kind] += 1
        case.body = self.api.guard.confine(body)

    def _aimed_body(self, schedule: dict[str, Any], source: Source) -> dict[str, Any]:
        """The generated schedule, of `source`: the members that name the target are set as
        generated (`instance_id`, or `source_id` and `source_type`), the rest kept."""
        if source.kind == "instance":
            if schedule.get("source_id") is not None:
                schedule["source_id"] = source.id
                if "source_type" in schedule:
                    schedule["source_type"] = "instance"
            if schedule.get("instance_id") is not None or schedule.get("source_id") is None:
                schedule["instance_id"] = source.id
        else:
            if "instance_id" in schedule:
                schedule["instance_id"] = None
            schedule.update(source_id=source.id, source_type="ha")
        if isinstance(schedule.get("copy_to"), list):
            wanted = [r for r in schedule["copy_to"] if r != NO_COPIES_TO]
            schedule["copy_to"] = wanted if self.api.timeline.control is not None else []
        return schedule

    def aimed_at(self, case: Any) -> AimedSchedule | None:
        with self._lock:
            return self._aimed.get(id(case))

    def after(self, case: Any, schedule_id: str | None) -> None:
        """After the call: outside the stateful phase, delete a schedule the target accepted."""
        if schedule_id is None:
            return
        aimed = self.aimed_at(case)
        with self._lock:
            self._accepted_in_all += 1
            if aimed is not None:
                self.accepted[aimed.source.kind] += 1
        meta = case.meta
        if meta is not None and meta.phase.name != TestPhase.STATEFUL:
            self.api.call("DELETE", scheduling.path(self.api, schedule_id))

    def refusal_problem(self, case: Any, status: int) -> str | None:
        """What is wrong with `status` as the answer to an aimed body (None: nothing)."""
        with self._lock:
            aimed = self._aimed.pop(id(case), None)
        if aimed is None or 200 <= status < 300 or status == 413:  # 413: a rate limit
            return None
        source = aimed.source
        if status == 400 and aimed.copies:
            return None  # one of the regions it names may be the target's own
        if status == 422:
            with self._lock:
                raced = self._accepted_in_all > aimed.accepted_before
            # A schedule was made (by another worker) while it was in flight, the source cannot
            # have one, or it has one: each a documented 422.
            if raced or scheduling.unschedulable(self.api, source) is not None:
                return None
            if scheduling.schedule_of(self.api, source) is not None:
                return None
            return (
                f"A valid schedule create of {source}, which has no schedule and a datastore"
                " schedules support, answered 422 Unprocessable"
            )
        return f"A valid schedule create of {source} answered {status}, not 202"

    def summary(self) -> str:
        if not self.sources:
            return "no valid schedule create was aimed: the run has nothing it may back up"
        return "; ".join(
            f"{self.sent[s.kind]} aimed at {s} ({self.accepted[s.kind]} accepted)"
            for s in self.sources
        )


def created_id(response: Any, member: str = "backup") -> str | None:
    """The id of the backup (or the `member`) a 2xx create answer names."""
    if not 200 <= response.status_code < 300:
        return None
    try:
        created = json.loads(response.content)[member]["id"]
    except (ValueError, KeyError, TypeError):
        return None
    return created if isinstance(created, str) else None
