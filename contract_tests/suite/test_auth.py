"""Every /v1.0 request needs a token: none, or an empty one, is 401; so is an unknown one,
where the target knows its tokens."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests import checks
from contract_tests.api import Api
from contract_tests.conformance import WRITES
from contract_tests.contract import Contract
from contract_tests.copying import why_not
from contract_tests.guard import NO_RESTORES
from mockserver.spec import Operation

NO_SUCH_ID = "contract-tests-no-such-id"  # not a UUID: it names nothing on any service
GUARDED = tuple(o for o in Contract.load().operations if o.auth_header)


def concrete(api: Api, operation: Operation) -> str:
    target = api.target
    # Only a read names the run's own instance: a delete names nothing, should the target
    # wrongly take it without a token.
    instance = target.instance_id if operation.method == "GET" else None
    return (
        operation.path.replace("{accountId}", target.account)
        .replace("{backupId}", NO_SUCH_ID)
        .replace("{scheduleId}", NO_SUCH_ID)
        .replace("{flavorId}", "1")
        .replace("{instanceId}", instance or NO_SUCH_ID)
        .replace("{haId}", target.ha_id or NO_SUCH_ID)
    )


@pytest.mark.parametrize("operation", GUARDED, ids=[o.operation_id for o in GUARDED])
def test_request_without_token_is_unauthorized(api: Api, operation: Operation) -> None:
    if api.target.read_only and operation.operation_id in WRITES:
        pytest.skip("read-only: no create or delete, even one that should be refused")
    if operation.operation_id == "createInstance" and not api.target.restores:
        pytest.skip(f"no instance create, even one that should be refused: {NO_RESTORES}")
    copies = why_not(api.target)
    if operation.operation_id == "backupAction" and copies is not None:
        pytest.skip(f"no copy, even one that should be refused: {copies}")
    body: Any = None
    if operation.operation_id == "createAutoBackup":  # of the run's instance, if it has one
        schedule = {"action": "backup", "day_of_week": 0, "hour": 0, "minute": 0}
        body = {"schedule": {**schedule, "instance_id": api.target.instance_id}}
    elif operation.operation_id == "createInstance":  # a restore of nothing: it builds nothing
        restore = {"restorePoint": {"backupRef": NO_SUCH_ID}, "volume": {"size": 1}}
        body = {"instance": {"name": api.new_name(), "flavorRef": "1", **restore}}
    elif operation.operation_id == "backupAction" and api.target.copy_to is not None:
        # A copy of nothing, to where the run copies: it makes nothing.
        body = {"copy-backup": {"target_backup_region": api.target.copy_to.code}}
    elif operation.method == "POST":
        body = {"backup": {"name": api.new_name(), "instance": api.target.instance_id}}
    elif operation.method == "PUT":
        body = {"schedule": {"hour": 0}}
    checks.request_without_token_is_unauthorized(
        api, operation.method, concrete(api, operation), body
    )


def test_unknown_token_is_unauthorized(api: Api, target_checks_tokens: bool) -> None:
    if not target_checks_tokens:
        pytest.skip("the target is a mock that accepts any token (started without --tokens)")
    checks.unknown_token_is_unauthorized(api, api.path("/backups"))


def test_the_versions_need_no_token(api: Api) -> None:
    checks.versions_need_no_token(api)
