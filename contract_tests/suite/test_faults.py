"""Common mistakes get their documented status and fault body (the shape of every fault the
suite sees, here and everywhere, is checked by `fault_body_is_documented`): among them a restore
of a backup, and a schedule of a target, that the account does not have."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from contract_tests import checks
from contract_tests.api import Api
from contract_tests.guard import NO_RESTORES

NO_SUCH_ID = "contract-tests-no-such-id"  # not a UUID: it names nothing on any service
JSON = {"Content-Type": "application/json"}
# (name, method, path below the account, request, documented status, whether it would change
# something if the target wrongly accepted it: such mistakes are not sent in a read-only run)
MISTAKES: list[tuple[str, str, str, dict[str, Any], int, bool]] = [
    ("limit-zero", "GET", "/backups", {"query": {"limit": 0}}, 400, False),
    ("unknown-marker", "GET", "/backups", {"query": {"marker": NO_SUCH_ID}}, 400, False),
    ("unknown-backup", "GET", f"/backups/{NO_SUCH_ID}", {}, 404, False),
    ("unknown-instance", "GET", f"/instances/{NO_SUCH_ID}/backups", {}, 404, False),
    ("unknown-ha", "GET", f"/ha/{NO_SUCH_ID}/backups", {}, 404, False),
    ("unknown-schedule", "GET", f"/schedules/{NO_SUCH_ID}", {}, 404, False),
    ("unknown-schedule-marker", "GET", "/schedules", {"query": {"marker": NO_SUCH_ID}}, 400, False),
    ("undocumented-method", "PATCH", f"/backups/{NO_SUCH_ID}", {}, 405, True),
    (
        "not-json",
        "POST",
        "/backups",
        {"content": b"name=x", "headers": {"Content-Type": "text/plain"}},
        415,
        True,
    ),
    ("malformed-json", "POST", "/backups", {"content": b'{"backup": ', "headers": JSON}, 400, True),
    ("no-name", "POST", "/backups", {"body": {"backup": {"instance": None}}}, 400, True),
]


@pytest.mark.parametrize(
    ("method", "path", "request_", "status", "writes"),
    [m[1:] for m in MISTAKES],
    ids=[m[0] for m in MISTAKES],
)
def test_mistake_gets_its_documented_fault(
    api: Api, method: str, path: str, request_: dict[str, Any], status: int, writes: bool
) -> None:
    if writes and api.target.read_only:
        pytest.skip("read-only: no change, even one that should be refused")
    answer = api.call(method, api.path(path), **request_)
    checks.mistake_gets_its_documented_fault(api, answer, status)


def test_unknown_version_is_not_found(api: Api) -> None:
    answer = api.call("GET", f"/v9.9/{api.target.account}/backups")
    checks.mistake_gets_its_documented_fault(api, answer, 404)


def test_restore_of_a_backup_the_account_lacks_is_not_found(api: Api) -> None:
    if api.target.read_only or not api.target.restores:
        pytest.skip(f"no instance create, even one that should be refused: {NO_RESTORES}")
    restore = {"restorePoint": {"backupRef": str(uuid.uuid4())}, "volume": {"size": 1}}
    instance = {"name": api.new_name(), "flavorRef": "1", **restore}
    answer = api.call("POST", api.path("/instances"), body={"instance": instance})
    checks.mistake_gets_its_documented_fault(api, answer, 404)


def test_schedule_of_a_target_the_account_lacks_is_not_found(api: Api) -> None:
    if api.target.read_only or not api.sources():
        pytest.skip("read-only, or no source to name: no schedule create")
    # The run's own source named as the other kind: no such instance (or HA instance) exists,
    # and the guard lets it be named.
    source = api.sources()[0]
    other = "ha" if source.kind == "instance" else "instance"
    schedule = {"action": "backup", "day_of_week": 0, "hour": 0, "minute": 0}
    body = {"schedule": {**schedule, "source_id": source.id, "source_type": other}}
    answer = api.call("POST", api.path("/schedules"), body=body)
    checks.mistake_gets_its_documented_fault(api, answer, 404)
