"""The account's rules, checked by hand on every run: its quota (413 with the documented
message once it is full) and its isolation (another account sees none of its backups)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contract_tests import account
from contract_tests.api import Api
from contract_tests.plugin import not_run
from contract_tests.run import Run
from contract_tests.settings import MOCK_ACCOUNT, MOCK_OTHER_ACCOUNT
from contract_tests.target import Target

QUOTA = "quota_is_enforced"
ISOLATION = "other_accounts_cannot_see_a_backup"


@pytest.fixture
def writable(api: Api) -> Api:
    if api.target.read_only:
        not_run(api, "read-only: no create or delete", QUOTA, ISOLATION)
    return api


def test_a_full_account_refuses_another_backup_with_413(writable: Api, run: Run) -> None:
    api = writable
    quota = run.settings.quota
    if quota is None and api.timeline.control is None:
        not_run(api, "a real service's quota is not known: give --quota N to fill it", QUOTA)
    sources = api.sources()
    if not sources:
        not_run(api, "nothing to back up: give --instance-id or --ha-id", QUOTA)
    account.quota_is_enforced(api, sources, quota)


def other_account(api: Api, run: Run) -> Api:
    """The API of another account: --other-account, or on a mock any other account id."""
    settings = run.settings
    if settings.other_account_url:
        token = settings.other_token or api.target.token
        # Not read-only: the check tries to delete the run's own backup through it (which the
        # guard allows, as it allows nothing else).
        target = Target(settings.other_account_url, token, None, None)
    elif api.timeline.control is not None:
        other = MOCK_OTHER_ACCOUNT if api.target.account != MOCK_OTHER_ACCOUNT else MOCK_ACCOUNT
        target = replace(api.target, base_url=api.target.base_url.rsplit("/", 1)[0] + f"/{other}")
    else:
        why = "give --other-account URL (and --other-token) to check that accounts are apart"
        not_run(api, why, ISOLATION)
    return api.with_target(target)


def test_another_account_sees_none_of_the_accounts_backups(writable: Api, run: Run) -> None:
    api = writable
    other = other_account(api, run)
    probe = other.call("GET", other.path("/backups"), judge=False)
    if probe.status in (401, 403):
        why = (
            f"the token is refused on account {other.target.account} ({probe.status}):"
            " give --other-account and --other-token"
        )
        not_run(api, why, ISOLATION)
    sources = api.sources()
    if not sources:
        not_run(api, "nothing to back up: give --instance-id or --ha-id", ISOLATION)
    created = sources[0].create(api)
    if created.status != 202:
        pytest.fail(f"the backup to look for was not created: {created}")
    account.other_accounts_cannot_see_a_backup(api, other, created.document("backup")["id"])
