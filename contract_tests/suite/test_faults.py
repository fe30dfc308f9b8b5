"""Common mistakes get their documented status and fault body (the shape of every fault the
suite sees, here and everywhere, is checked by `fault_body_is_documented`)."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests import checks
from contract_tests.api import Api

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
