"""Restores (contract section 11), checked by hand: a completed backup restored into a new
instance, which is BUILD (refusing a backup and a delete), of the backup's datastore, listed at
once, then ACTIVE; deleted, it is gone and its backups stay; a backup that has not ended cannot
be restored.

A restore makes an instance (on a real service, a real one): these run on a mock, and on a
target without the control API only with --allow-restore. The instance is the run's: the test
deletes it, or cleanup does (also after a failure or a stop), once it is built. One instance in
all on a correct target, however many checks look at it.
"""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests import lifecycle, restores, restoring
from contract_tests.account import wait_until_ended
from contract_tests.api import Api
from contract_tests.guard import NO_RESTORES
from contract_tests.plugin import not_run
from contract_tests.source import Source

CHECKS = restores.CHECKS
UNFINISHED = "restore_of_an_unfinished_backup_is_refused"
BUILT = tuple(check for check in CHECKS if check != UNFINISHED)


@pytest.fixture
def restorer(api: Api) -> Api:
    if api.target.read_only:
        not_run(api, "read-only: no instance is restored", *CHECKS)
    if not api.target.restores:
        not_run(api, NO_RESTORES, *CHECKS)
    return api


def backup_to_restore(api: Api, *checks: str) -> dict[str, Any]:
    """The account's backup a run restores, or (when it has none) one the run makes and waits
    for."""
    backup = restoring.restorable(api)
    if backup is not None:
        return backup
    sources = api.sources()
    if not sources:
        why = "no COMPLETED backup to restore, and nothing to back up: give --instance-id"
        not_run(api, why, *checks)
    answer = sources[0].create(api)
    lifecycle.backup_of_an_idle_source_is_accepted(api, answer, sources[0])
    backup_id = answer.document("backup")["id"]
    wait_until_ended(api, backup_id)
    return api.show(backup_id).document("backup")


def test_a_restore_builds_an_instance_of_its_backup_which_deleted_leaves_its_backups(
    restorer: Api,
) -> None:
    api = restorer
    backup = backup_to_restore(api, *BUILT)
    api.ledger.note(
        f"restores backup {backup['id']} ({' '.join(restoring.datastore_of(backup))},"
        f" {backup.get('size')} GB)"
    )
    answer = restoring.restore(api, backup)
    restores.restore_of_a_completed_backup_is_accepted(api, answer, backup)
    instance_id = answer.document("instance")["id"]
    restores.restored_instance_carries_the_backups_datastore(api, answer, backup)
    restores.restored_instance_is_listed(api, instance_id)
    restores.backup_of_a_building_instance_is_refused(api, instance_id)
    restores.delete_of_a_building_instance_is_refused(api, instance_id)
    restores.restored_instance_becomes_active(api, instance_id)
    # A backup of its own, to outlive it.
    made = restoring.backup_and_wait(api, instance_id)
    lifecycle.backup_of_an_idle_source_is_accepted(api, made, Source("instance", instance_id))
    backup_id = made.document("backup")["id"]
    restores.deleted_instance_is_gone_and_its_backups_stay(api, instance_id, [backup_id])


def test_a_restore_of_a_backup_that_has_not_ended_is_refused(restorer: Api) -> None:
    api = restorer
    sources = api.sources()
    if not sources:
        not_run(api, "nothing to back up: give --instance-id or --ha-id", UNFINISHED)
    answer = sources[0].create(api)
    lifecycle.backup_of_an_idle_source_is_accepted(api, answer, sources[0])
    restores.restore_of_an_unfinished_backup_is_refused(api, answer.document("backup")["id"])
