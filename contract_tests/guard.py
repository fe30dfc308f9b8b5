"""The guard: what the suite may change on a target, checked before every request it sends.

The suite may create backups (unless read-only) and delete the backups it created itself. It
may create schedules only for the sources it may back up (a schedule makes backups by itself,
for as long as it lives), and update or delete only the schedules it created. It may create
instances (a restore is a create) only where restores are allowed (`Target.restores`: a mock, or
--allow-restore), and delete only the instances it created: never the fixture's, never one that
was there before the run. It may copy a backup (a copy only reads its original) only where
copies are allowed (`Target.copy_to`: a mock, or --allow-copy), and only to a region whose backups
it can read, so that it finds the copy and deletes it.

Schemathesis generates requests the suite does not write by hand (examples, fuzzing, links,
undocumented methods, values seen in earlier responses), so a changing request that names a
resource the suite does not own is defused: its ids are replaced by fresh ones that name
nothing, and the target answers 404 without touching anything. The same goes for the ids in the
body of a generated schedule create (`confine`): whatever schemathesis put there, a schedule it
makes can only be of a source the run backs up.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Collection, Mapping
from typing import Any

from contract_tests.contract import SAFE_METHODS
from contract_tests.inventory import Inventory

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
CREATE = ("POST", "/v1.0/{accountId}/backups")
DELETE = ("DELETE", "/v1.0/{accountId}/backups/{backupId}")
CREATE_SCHEDULE = ("POST", "/v1.0/{accountId}/schedules")
SCHEDULE = "/v1.0/{accountId}/schedules/{scheduleId}"  # show, update, delete
CREATE_INSTANCE = ("POST", "/v1.0/{accountId}/instances")  # a restore, with restorePoint
INSTANCE = "/v1.0/{accountId}/instances/{instanceId}"  # show, delete
COPY = ("POST", "/v1.0/{accountId}/backups/{backupId}/action")  # copy-backup
NO_RESTORES = (
    "a restore (any instance create) makes a real instance on a target without the control"
    " API: give --allow-restore"
)
NO_COPIES = (
    "a copy makes a real backup in another region on a target without the control API: give"
    " --allow-copy REGION=URL (the root URL of that region's endpoint)"
)


class Refused(Exception):
    """The suite was about to send a request it must not send."""


class Guard:
    def __init__(
        self,
        inventory: Inventory,
        read_only: bool,
        sources: Collection[str] = (),
        restores: bool = False,
        copy_regions: Collection[str] = (),
    ) -> None:
        self.inventory = inventory
        self.read_only = read_only
        self.sources = frozenset(sources)  # the ids of what the run may back up, and schedule
        self.restores = restores and not read_only  # whether it may create instances
        # The regions a copy may name (none: no copy at all): where the run finds what it made.
        self.copy_regions = frozenset() if read_only else frozenset(copy_regions)
        # Path parameters that name what the run may own, and how to ask whether it does.
        self._owners: dict[str, Callable[[str], bool]] = {
            "backupId": inventory.owns,
            "scheduleId": inventory.owns_schedule,
            "instanceId": inventory.owns_instance,
        }

    def vet(
        self, method: str, template: str | None, parameters: Mapping[str, str], body: Any = None
    ) -> None:
        """Refuse a hand-written request that could change what the suite does not own."""
        method = method.upper()
        if method in SAFE_METHODS:
            return
        if self.read_only:
            raise Refused(f"read-only run: {method} is not sent")
        if (method, template) == CREATE:
            return
        if (method, template) == CREATE_INSTANCE:
            if not self.restores:
                raise Refused(f"{method} {template}: {NO_RESTORES}")
            return
        if (method, template) == COPY:
            if not self.copy_regions:
                raise Refused(f"{method} {template}: {NO_COPIES}")
            region = copy_region(body)
            if not isinstance(region, str) or region not in self.copy_regions:
                raise Refused(
                    f"{method} {template}: a copy to {region!r}, where the run could not find"
                    f" the copy to delete it (it reaches {', '.join(sorted(self.copy_regions))})"
                )
            return  # the backup copied is only read
        if (method, template) == CREATE_SCHEDULE:
            foreign = self.foreign_targets(body)
            if foreign:
                raise Refused(
                    f"{method} {template}: it would schedule backups of {foreign}, which the run"
                    " may not back up"
                )
            return
        foreign = self._foreign_ids(parameters)
        if foreign or template is None:
            raise Refused(
                f"{method} {template}: it could change {foreign or 'an unknown resource'}"
            )

    def defuse(
        self, method: str, template: str, parameters: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The path parameters a generated request must use instead (None: send it as it is)."""
        method = method.upper()
        if method in SAFE_METHODS:
            return None
        if self.read_only:
            raise Refused(f"read-only run: {method} {template} is not sent")
        if (method, template) == CREATE:
            return None
        if (method, template) == CREATE_INSTANCE:
            # Its body is no id to replace: the run leaves the operation out instead (config).
            if not self.restores:
                raise Refused(f"{method} {template}: {NO_RESTORES}")
            return None
        if (method, template) == COPY and not self.copy_regions:
            # Its body may name any region: the run leaves the operation out instead (config).
            raise Refused(f"{method} {template}: {NO_COPIES}")
        # A generated copy of a backup the run did not make names one that does not exist
        # (404); the valid ones are aimed afterwards (`fuzzed_copies.py`), at where they may go.
        foreign = self._foreign_ids(parameters)
        if not foreign:
            return None
        return {
            name: str(uuid.uuid4()) if name in foreign else value
            for name, value in parameters.items()
        }

    def foreign_targets(self, body: Any) -> list[str]:
        """The ids in a schedule create's `schedule` (any member, at any depth: a service may
        read the WADL's `instance`, or members the spec does not name) that are not the run's
        sources."""
        schedule = body.get("schedule") if isinstance(body, dict) else None
        return sorted({i for i in _ids_in(schedule) if i not in self.sources})

    def confine(self, body: Any) -> Any:
        """A generated schedule create's body with each id that is not one of the run's sources
        replaced by a fresh one that names nothing (the body as it was when there is none)."""
        foreign = set(self.foreign_targets(body))
        if not foreign:
            return body
        fresh = {found: str(uuid.uuid4()) for found in foreign}
        return {**body, "schedule": _replaced(body["schedule"], fresh)}

    def _foreign_ids(self, parameters: Mapping[str, Any]) -> list[str]:
        """Names of the parameters that hold an id (a UUID) the suite did not create."""
        return [
            name
            for name, value in parameters.items()
            if name != "accountId"
            and isinstance(value, str)
            and _UUID.match(value)
            and not self._owners.get(name, _owns_nothing)(value)
        ]


def copy_region(body: Any) -> Any:
    """The region a copy action's body names (None when it is no copy action)."""
    action = body.get("copy-backup") if isinstance(body, dict) else None
    return action.get("target_backup_region") if isinstance(action, dict) else None


def _owns_nothing(value: str) -> bool:
    return False  # HA instances (and any other id): the suite never owns one


def _ids_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value} if _UUID.match(value) else set()
    if isinstance(value, dict):
        return {i for member in value.values() for i in _ids_in(member)}
    if isinstance(value, list):
        return {i for member in value for i in _ids_in(member)}
    return set()


def _replaced(value: Any, fresh: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return fresh.get(value, value)
    if isinstance(value, dict):
        return {name: _replaced(member, fresh) for name, member in value.items()}
    if isinstance(value, list):
        return [_replaced(member, fresh) for member in value]
    return value
