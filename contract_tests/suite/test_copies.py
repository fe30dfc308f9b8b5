"""Copies of backups to another region (contract section 12), checked by hand: a backup of the
run's, copied while it runs (422), then once COMPLETED (a new backup of the target region only,
named as asked, COMPLETED there as its original's copy), its incremental backup copied before
(400) and after its parent (the copy of the parent as its parent, the original's name when none
is asked); a deleted copy leaves its original, a deleted original its copy. And the copies the
contract refuses: to the backup's own region, to LON, of a backup that does not exist.

A copy makes a backup in another region (on a real service, a real one): these run on a mock
(to another of its regions), and on a target without the control API only with --allow-copy.
The copies are the run's: the test deletes them, or cleanup does (also after a failure or a
stop), once they have ended.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from contract_tests import copies, copying, lifecycle
from contract_tests.account import wait_until_ended
from contract_tests.api import Api
from contract_tests.plugin import not_run
from contract_tests.regions import NO_COPIES

CHECKS = copies.CHECKS
OWN_REGION = "copy_to_its_own_region_is_refused"
TO_LON = "copy_to_lon_is_refused"
UNKNOWN = "copy_of_an_unknown_backup_is_not_found"
REFUSALS = (OWN_REGION, TO_LON, UNKNOWN)
MADE = tuple(check for check in CHECKS if check not in REFUSALS)


@pytest.fixture
def copier(api: Api) -> Api:
    why = copying.why_not(api.target)
    if why is not None:
        not_run(api, why, *CHECKS)
    return api


def backed_up(api: Api, *checks: str, parent_id: str | None = None) -> dict[str, Any]:
    """A new backup of the run's first source (NEW): its create's answer, checked."""
    sources = api.sources()
    if not sources:
        not_run(api, "nothing to back up: give --instance-id or --ha-id", *checks)
    answer = sources[0].create(api, parent_id)
    lifecycle.backup_of_an_idle_source_is_accepted(api, answer, sources[0])
    return answer.document("backup")


def test_a_copy_is_a_backup_of_the_target_region_that_lives_apart_from_its_original(
    copier: Api,
) -> None:
    api = copier
    there = copying.destination(api)
    region = there.target.region
    full = backed_up(api, *MADE)
    before = str(api.show(full["id"]).document("backup").get("status"))
    early = copying.copy(api, there, full)
    after = str(api.show(full["id"]).document("backup").get("status"))
    copies.copy_of_an_unfinished_backup_is_refused(api, early, there, before, after)
    wait_until_ended(api, full["id"])
    incremental = backed_up(api, *MADE, parent_id=full["id"])
    wait_until_ended(api, incremental["id"])
    orphan = copying.copy(api, there, incremental)
    copies.copy_of_an_incremental_whose_parent_has_no_copy_is_refused(api, orphan, there)

    original = api.show(full["id"]).document("backup")
    made = copying.copy(api, there, original)
    copies.copy_of_a_completed_backup_is_accepted(api, made)
    copies.copy_is_absent_from_the_source_region(api, made)
    copies.copy_is_listed_in_the_target_region(api, made, there)
    copies.copy_completes_as_its_original(api, made, there, original, None)
    api.ledger.note(f"copies backup {full['id']} to {region} as {made.copy_id}")

    # The incremental one, now that its parent has a copy there; named as its original.
    child = api.show(incremental["id"]).document("backup")
    descendant = copying.copy(api, there, child, name=None, description=None)
    copies.copy_of_a_completed_backup_is_accepted(api, descendant)
    copies.copy_is_listed_in_the_target_region(api, descendant, there)
    copies.incremental_copy_names_the_copy_of_its_parent(api, descendant, there, made.copy_id)
    copies.copy_completes_as_its_original(api, descendant, there, child, made.copy_id)

    copies.original_stays_when_its_copy_is_deleted(api, there, descendant.copy_id, child["id"])
    lifecycle.deleted_backup_and_descendants_are_gone(
        api, full["id"], [child["id"]], api.sources()[0]
    )
    copies.copy_stays_when_its_original_is_deleted(api, there, made.copy_id, full["id"])


def test_a_copy_the_contract_refuses_is_refused_and_made_nowhere(copier: Api) -> None:
    api = copier
    there = copying.destination(api)
    original = copying.copyable(api)
    if original is None:  # the account has none: one of the run's, once it has ended
        original = backed_up(api, *REFUSALS)
        wait_until_ended(api, original["id"])
    unknown = {"id": str(uuid.uuid4()), "name": None}
    copies.copy_of_an_unknown_backup_is_not_found(api, copying.copy(api, there, unknown), there)
    if api.target.region is None:
        why = "the target's URL names no region (<region>.<host> or <host>/<region>)"
        api.ledger.not_run(OWN_REGION, why)
    else:
        own = copying.copy(api, api, original, region=api.target.region)
        copies.copy_to_its_own_region_is_refused(api, own)
    lon = api.in_region(NO_COPIES)
    if lon is None:
        why = "the run cannot tell LON's URL (the target's URL names no region to swap)"
        api.ledger.not_run(TO_LON, why)
    else:
        copies.copy_to_lon_is_refused(api, copying.copy(api, lon, original), lon)
