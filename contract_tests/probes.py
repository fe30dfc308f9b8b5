"""One request for each operation, for the checks that hold on every operation alike (a token is
required, an account the token does not hold is refused, a body over the limit is 413): its
method, its path with ids, and a body where it takes one.

A probe names nothing the run may not change: a read names the run's own instance and HA
instance (so that a target that wrongly serves it answers 200, not 404), a write names ids that
do not exist, or (a schedule create, whose target the guard vets) the run's own instance. Each
probe is sent to be refused; a target that wrongly accepts one changes nothing that cleanup would
not find.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contract_tests.conformance import WRITES
from contract_tests.copying import why_not
from contract_tests.guard import NO_RESTORES

if TYPE_CHECKING:
    from contract_tests.api import Api
    from mockserver.spec import Operation

NO_SUCH_ID = "contract-tests-no-such-id"  # not a UUID: it names nothing on any service


@dataclass(frozen=True)
class Probe:
    method: str
    path: str  # below the target's root
    body: Any  # JSON, or None for no body


def why_not_sent(api: Api, operation: Operation) -> str | None:
    """Why the run may not send this operation's probe at all (None: it may)."""
    if api.target.read_only and operation.operation_id in WRITES:
        return "read-only: no create or delete, even one that should be refused"
    if operation.operation_id == "createInstance" and not api.target.restores:
        return f"no instance create, even one that should be refused: {NO_RESTORES}"
    copies = why_not(api.target)
    if operation.operation_id == "backupAction" and copies is not None:
        return f"no copy, even one that should be refused: {copies}"
    return None


def probe(api: Api, operation: Operation, account: str | None = None) -> Probe:
    """The operation's probe, in `account` (default: the target's)."""
    return Probe(operation.method, _path(api, operation, account), _body(api, operation))


def _path(api: Api, operation: Operation, account: str | None) -> str:
    target = api.target
    # Only a read names the run's own instance: a delete names nothing, should the target
    # wrongly take it.
    instance = target.instance_id if operation.method == "GET" else None
    return (
        operation.path.replace("{accountId}", account or target.account)
        .replace("{backupId}", NO_SUCH_ID)
        .replace("{scheduleId}", NO_SUCH_ID)
        .replace("{flavorId}", "1")
        .replace("{instanceId}", instance or NO_SUCH_ID)
        .replace("{haId}", target.ha_id or NO_SUCH_ID)
    )


def _body(api: Api, operation: Operation) -> Any:
    target = api.target
    if operation.operation_id == "createAutoBackup":  # of the run's instance, if it has one
        schedule = {"action": "backup", "day_of_week": 0, "hour": 0, "minute": 0}
        return {"schedule": {**schedule, "instance_id": target.instance_id}}
    if operation.operation_id == "createInstance":  # a restore of nothing: it builds nothing
        restore = {"restorePoint": {"backupRef": NO_SUCH_ID}, "volume": {"size": 1}}
        return {"instance": {"name": api.new_name(), "flavorRef": "1", **restore}}
    if operation.operation_id == "backupAction" and target.copy_to is not None:
        # A copy of nothing, to where the run copies: it makes nothing.
        return {"copy-backup": {"target_backup_region": target.copy_to.code}}
    if operation.method == "POST":  # a backup of an instance that does not exist
        return {"backup": {"name": api.new_name(), "instance": str(uuid.uuid4())}}
    if operation.method == "PUT":
        return {"schedule": {"hour": 0}}
    return None
