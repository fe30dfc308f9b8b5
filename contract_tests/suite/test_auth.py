"""Every /v1.0 request needs a token: none, or an empty one, is 401; so is an unknown one,
where the target knows its tokens."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests import checks
from contract_tests.api import Api
from contract_tests.conformance import WRITES
from contract_tests.contract import Contract
from mockserver.spec import Operation

NO_SUCH_ID = "contract-tests-no-such-id"  # not a UUID: it names nothing on any service
GUARDED = tuple(o for o in Contract.load().operations if o.auth_header)


def concrete(api: Api, template: str) -> str:
    target = api.target
    return (
        template.replace("{accountId}", target.account)
        .replace("{backupId}", NO_SUCH_ID)
        .replace("{scheduleId}", NO_SUCH_ID)
        .replace("{instanceId}", target.instance_id or NO_SUCH_ID)
        .replace("{haId}", target.ha_id or NO_SUCH_ID)
    )


@pytest.mark.parametrize("operation", GUARDED, ids=[o.operation_id for o in GUARDED])
def test_request_without_token_is_unauthorized(api: Api, operation: Operation) -> None:
    if api.target.read_only and operation.operation_id in WRITES:
        pytest.skip("read-only: no create or delete, even one that should be refused")
    body: Any = None
    if operation.operation_id == "createAutoBackup":  # of the run's instance, if it has one
        schedule = {"action": "backup", "day_of_week": 0, "hour": 0, "minute": 0}
        body = {"schedule": {**schedule, "instance_id": api.target.instance_id}}
    elif operation.method == "POST":
        body = {"backup": {"name": api.new_name(), "instance": api.target.instance_id}}
    elif operation.method == "PUT":
        body = {"schedule": {"hour": 0}}
    checks.request_without_token_is_unauthorized(
        api, operation.method, concrete(api, operation.path), body
    )


def test_unknown_token_is_unauthorized(api: Api, target_checks_tokens: bool) -> None:
    if not target_checks_tokens:
        pytest.skip("the target is a mock that accepts any token (started without --tokens)")
    checks.unknown_token_is_unauthorized(api, api.path("/backups"))


def test_the_versions_need_no_token(api: Api) -> None:
    checks.versions_need_no_token(api)
