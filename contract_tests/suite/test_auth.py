"""Every /v1.0 request needs a token: none, or an empty one, is 401; so is an unknown one,
where the target knows its tokens, and the token on an account it does not hold is 403. An
account id over the spec's 64 characters is refused, whatever the operation."""

from __future__ import annotations

import pytest

from contract_tests import checks
from contract_tests.api import Api
from contract_tests.contract import Contract
from contract_tests.plugin import not_run
from contract_tests.probes import probe, why_not_sent
from mockserver.spec import Operation

GUARDED = tuple(o for o in Contract.load().operations if o.auth_header)
IDS = [o.operation_id for o in GUARDED]
# An account the run's token does not hold, on any service (and a well-formed id).
FOREIGN_ACCOUNT = "contract-tests-not-this-tokens"


def sendable(api: Api, operation: Operation) -> None:
    why = why_not_sent(api, operation)
    if why is not None:
        pytest.skip(why)


@pytest.mark.parametrize("operation", GUARDED, ids=IDS)
def test_request_without_token_is_unauthorized(api: Api, operation: Operation) -> None:
    sendable(api, operation)
    found = probe(api, operation)
    checks.request_without_token_is_unauthorized(api, found.method, found.path, found.body)


@pytest.mark.parametrize("operation", GUARDED, ids=IDS)
def test_an_account_the_token_does_not_hold_is_forbidden(
    api: Api, operation: Operation, target_checks_tokens: bool
) -> None:
    if not target_checks_tokens:
        not_run(
            api,
            "the target is a mock that accepts any token (started without --tokens)",
            "foreign_account_is_forbidden",
        )
    sendable(api, operation)
    found = probe(api, operation, FOREIGN_ACCOUNT)
    checks.foreign_account_is_forbidden(api, found.method, found.path, FOREIGN_ACCOUNT, found.body)


@pytest.mark.parametrize("operation", GUARDED, ids=IDS)
def test_an_account_id_over_64_characters_is_refused(
    api: Api, operation: Operation, target_checks_tokens: bool
) -> None:
    sendable(api, operation)
    found = probe(api, operation, checks.TOO_LONG_ACCOUNT)
    checks.malformed_account_is_refused(api, found.method, found.path, found.body)


def test_unknown_token_is_unauthorized(api: Api, target_checks_tokens: bool) -> None:
    if not target_checks_tokens:
        pytest.skip("the target is a mock that accepts any token (started without --tokens)")
    checks.unknown_token_is_unauthorized(api, api.path("/backups"))


def test_the_versions_need_no_token(api: Api) -> None:
    checks.versions_need_no_token(api)
