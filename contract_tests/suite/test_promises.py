"""The mock's own promises, where the target is a mock: Prefer forces a status, a 400 lists
every violation, a body over the limit is 413."""

from __future__ import annotations

import pytest

from contract_tests import promises
from contract_tests.api import Api
from contract_tests.checks import checks_in
from contract_tests.contract import Contract
from contract_tests.plugin import not_run
from contract_tests.probes import probe, why_not_sent
from mockserver.spec import Operation

CHECKS = checks_in(promises)
OPERATIONS = Contract.load().operations


@pytest.fixture
def mock(api: Api) -> Api:
    if api.timeline.control is None:
        not_run(api, "the target has no control API: these are the mock's own promises", *CHECKS)
    if api.target.read_only:
        not_run(api, "read-only: these checks send creates (that must be refused)", *CHECKS)
    return api


def test_prefer_forces_a_documented_status_and_changes_nothing(mock: Api) -> None:
    if not mock.target.instance_id:
        not_run(
            mock, "no instance to name in the forced create", "prefer_forces_a_documented_status"
        )
    promises.prefer_forces_a_documented_status(mock, mock.target.instance_id)


def test_a_bad_request_lists_every_violation(mock: Api) -> None:
    promises.bad_request_lists_every_violation(mock)


@pytest.mark.parametrize("operation", OPERATIONS, ids=[o.operation_id for o in OPERATIONS])
def test_a_body_over_the_limit_is_too_large(mock: Api, operation: Operation) -> None:
    why = why_not_sent(mock, operation)
    if why is not None:
        pytest.skip(why)
    found = probe(mock, operation)
    promises.body_over_the_limit_is_too_large(mock, found.method, found.path, found.body)
