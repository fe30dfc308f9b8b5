"""The guard lets the suite change only what it created: generated requests that could touch
anything else are defused, hand-written ones refused, and a read-only run changes nothing."""

from __future__ import annotations

import uuid

import pytest

from contract_tests.guard import CREATE, DELETE, Guard, Refused
from contract_tests.inventory import Inventory

ITEM = "/v1.0/{accountId}/instances/{instanceId}"


def guard(*owned: str, read_only: bool = False) -> Guard:
    inventory = Inventory()
    for backup_id in owned:
        inventory.remember(backup_id)
    return Guard(inventory, read_only)


def test_a_generated_delete_of_a_backup_the_run_did_not_create_is_defused() -> None:
    foreign = str(uuid.uuid4())
    defused = guard().defuse("DELETE", DELETE[1], {"accountId": "1234", "backupId": foreign})
    assert defused is not None
    assert defused["accountId"] == "1234"
    assert defused["backupId"] not in (foreign, None)


def test_the_run_may_delete_the_backups_it_created() -> None:
    ours = str(uuid.uuid4())
    assert guard(ours).defuse("DELETE", DELETE[1], {"accountId": "1", "backupId": ours}) is None
    guard(ours).vet("DELETE", DELETE[1], {"accountId": "1", "backupId": ours})


def test_an_undocumented_method_on_an_existing_instance_is_defused() -> None:
    instance = str(uuid.uuid4())
    defused = guard().defuse("DELETE", ITEM, {"accountId": "1", "instanceId": instance})
    assert defused is not None and defused["instanceId"] != instance


def test_a_hand_written_change_to_a_foreign_backup_is_refused() -> None:
    with pytest.raises(Refused):
        guard().vet("DELETE", DELETE[1], {"accountId": "1", "backupId": str(uuid.uuid4())})


def test_reads_and_creates_pass_untouched() -> None:
    assert guard().defuse("GET", ITEM, {"instanceId": str(uuid.uuid4())}) is None
    assert guard().defuse(*CREATE, {"accountId": "1"}) is None


def test_a_read_only_run_sends_no_change_at_all() -> None:
    for method, template in (CREATE, DELETE):
        with pytest.raises(Refused):
            guard(read_only=True).defuse(method, template, {"accountId": "1"})
        with pytest.raises(Refused):
            guard(read_only=True).vet(method, template, {"accountId": "1"})
