"""Instances in the store (contract section 11): create and restore with their checks in order,
BUILD -> ACTIVE on the clock, delete, the state document. test_instances_api.py has the flavors'
answers, the state document through the control API, and a week of a restored instance."""

from __future__ import annotations

import calendar
import json
import re
from typing import Any

import pytest
from fixture_ids import (
    FLAVORS,
    HA,
    HA_MEMBERS,
    LEGACY,
    MYSQL,
    PERCONA,
    PERCONA_BACKUP,
    SCHEDULABLE,
)
from support import FIXTURES

from mockserver.state.clock import Clock
from mockserver.state.errors import BadRequest, MockError, NotFound, Unprocessable
from mockserver.state.models import BackupRequest, InstanceRequest, ScheduleRequest
from mockserver.state.store import Store

ACCOUNT = "1234"
RESTORABLE = "61f12fef-edb1-4561-8122-e7c00ef26a82"  # COMPLETED, of SCHEDULABLE: the example's
UNKNOWN = "00000000-0000-4000-8000-000000000000"
MYSQL_5_6_ID = "1379cc8b-4bc5-4c4a-9e9d-7a9ad27c0866"
MYSQL_5_5_ID = "b00000b0-00b0-0b00-00b0-000b000000bb"
PERCONA_5_6_ID = "c9760c5b-5675-4482-b097-dffdf50c22ab"
MYSQL_5_6 = {"type": "mysql", "version": "5.6", "version_id": MYSQL_5_6_ID}
DAY, FULL = 86_400, "InnoBackupEx"
START = calendar.timegm((2026, 12, 2, 10, 0, 0))  # Wednesday: the clock of every test starts here


def fixture_state() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "state.json").read_text())
    return document


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen=True, source=lambda: float(START))


def new_store(clock: Clock, state: dict[str, Any] | None = None, **options: Any) -> Store:
    settings: dict[str, Any] = {"new_seconds": 1, "building_seconds": 4} | options
    return Store(fixture_state() if state is None else state, clock, **settings)


@pytest.fixture
def store(clock: Clock) -> Store:
    return new_store(clock)


def asked(**fields: Any) -> InstanceRequest:
    defaults: dict[str, Any] = {"name": "restored", "flavor_ref": "1", "volume_size": 2}
    return InstanceRequest(**(defaults | fields))


def restore(backup_id: str = RESTORABLE, **fields: Any) -> InstanceRequest:
    return asked(backup_ref=backup_id, **fields)


def finished_backup(store: Store, clock: Clock, instance: str = MYSQL, **fields: Any) -> str:
    backup = store.create_backup(ACCOUNT, BackupRequest(name="b", instance=instance, **fields))
    clock.advance(5)
    return backup.id


def with_big_backup() -> dict[str, Any]:
    """The fixture state with RESTORABLE made 3 GB: it does not fit the default 2 GB volume."""
    state = fixture_state()
    (backup,) = [b for b in state["accounts"][ACCOUNT]["backups"] if b["id"] == RESTORABLE]
    backup["size"] = 3.0
    return state


def listed(store: Store) -> list[str]:
    return [i.id for i in store.list_instances(ACCOUNT, None, None).items]


# -- create --------------------------------------------------------------------------------------


def test_a_new_instance_is_build_with_what_was_asked_on_mysql_5_6_by_default(store: Store) -> None:
    instance = store.create_instance(ACCOUNT, asked(name="db1", flavor_ref="3", volume_size=7))
    assert (instance.name, instance.status, instance.volume_size) == ("db1", "BUILD", 7)
    assert instance.datastore == MYSQL_5_6 and instance.flavor == {"id": "3", "ram": 2048}
    assert instance.created == instance.updated == START and instance.ha_id is None
    assert instance.hostname == f"{instance.id.replace('-', '')}.dfw.rackspaceclouddb.com"
    assert store.get_instance(ACCOUNT, instance.id).status == "BUILD"
    assert instance.id in listed(store) and listed(store) == sorted(listed(store))


@pytest.mark.parametrize(("build_seconds", "ready_after"), [(None, 5), (2, 2), (0.75, 0.75)])
def test_an_instance_becomes_active_after_build_seconds_and_updated_moves_then(
    clock: Clock, build_seconds: float | None, ready_after: float
) -> None:
    options: dict[str, Any] = {} if build_seconds is None else {"build_seconds": build_seconds}
    store = new_store(clock, **options)
    made = store.create_instance(ACCOUNT, asked())
    clock.advance(ready_after - 0.25)  # binary fractions: the clock's sums are exact
    assert store.get_instance(ACCOUNT, made.id).status == "BUILD"
    clock.advance(0.25)
    shown = store.get_instance(ACCOUNT, made.id)
    assert (shown.status, shown.created) == ("ACTIVE", START)
    assert shown.updated == int(START + ready_after)


def test_with_no_build_time_it_answers_build_then_is_active(clock: Clock) -> None:
    store = new_store(clock, build_seconds=0)
    made = store.create_instance(ACCOUNT, asked())
    assert made.status == "BUILD" and store.get_instance(ACCOUNT, made.id).status == "ACTIVE"


@pytest.mark.parametrize(
    ("reference", "flavor_id"),
    [("1", 1), ("1.5", 1), ("8", 8), ("https://ord.example/v1.0/1234/flavors/3", 3),
     ("http://127.0.0.1:8779/flavors/4/", 4), ("https://x/flavors/2.0", 2), ("9", None),
     ("0", None), ("abc", None), ("1.5.2", None), ("https://x/flavors/99", None),
     ("https://x/instances/1", None)],
)  # fmt: skip
def test_flavor_ref_is_a_flavor_id_a_decimal_or_a_flavor_url_else_not_found(
    store: Store, reference: str, flavor_id: int | None
) -> None:
    if flavor_id is None:
        with pytest.raises(NotFound, match=f"^Flavor {re.escape(reference)} cannot be found.$"):
            store.create_instance(ACCOUNT, asked(flavor_ref=reference))
        assert len(listed(store)) == 8  # nothing was added
        return
    instance = store.create_instance(ACCOUNT, asked(flavor_ref=reference))
    assert instance.flavor == {"id": str(flavor_id), "ram": FLAVORS[flavor_id - 1][2]}


@pytest.mark.parametrize(
    ("kind", "version", "found"),
    [
        ("PERCONA", None, ("percona", "5.6", PERCONA_5_6_ID)),
        ("MySQL", "5.5", ("mysql", "5.5", MYSQL_5_5_ID)),
        ("mysql", MYSQL_5_5_ID.upper(), ("mysql", "5.5", MYSQL_5_5_ID)),  # by version id
        (None, "5.1", ("mysql", "5.1", "20000000-0000-0000-0000-000000000002")),
        ("postgresql", None, "Datastore 'postgresql' cannot be found."),
        ("mysql", "8.0", "Datastore version '8.0' of 'mysql' cannot be found."),
        ("percona", "5.5", "Datastore version '5.5' of 'percona' cannot be found."),
        (None, "10.1", "Datastore version '10.1' of 'mysql' cannot be found."),  # mariadb's
    ],
)
def test_the_datastore_is_found_by_type_and_version_name_or_id_in_any_case_else_not_found(
    store: Store, kind: str | None, version: str | None, found: tuple[str, ...] | str
) -> None:
    request = asked(datastore_type=kind, datastore_version=version)
    if isinstance(found, str):
        with pytest.raises(NotFound) as error:
            store.create_instance(ACCOUNT, request)
        assert error.value.message == found
        return
    datastore = store.create_instance(ACCOUNT, request).datastore
    assert (datastore["type"], datastore["version"], datastore["version_id"]) == found


def test_with_no_datastore_known_a_create_names_the_default_one_as_not_found(clock: Clock) -> None:
    store = new_store(clock, {"accounts": {}, "flavors": fixture_state()["flavors"]})
    with pytest.raises(NotFound, match=r"^Datastore 'mysql' cannot be found\.$"):
        store.create_instance(ACCOUNT, asked())


def test_no_quota_applies_to_instances(clock: Clock) -> None:
    store = new_store(clock, quota=1)  # the account already holds more backups than that
    for _ in range(60):
        store.create_instance(ACCOUNT, asked())
    assert len(store.snapshot()["accounts"][ACCOUNT]["instances"]) == 68


# -- restore -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("of", "version", "datastore"),
    [(PERCONA, None, ("percona", "5.6", PERCONA_5_6_ID)),
     (LEGACY, None, ("mysql", "5.5", MYSQL_5_5_ID)),
     (PERCONA, "5.6", ("percona", "5.6", PERCONA_5_6_ID)),  # a version of the backup's type
     (LEGACY, MYSQL_5_5_ID, ("mysql", "5.5", MYSQL_5_5_ID))],
)  # fmt: skip
def test_a_restored_instance_takes_the_backups_datastore(
    store: Store, clock: Clock, of: str, version: str | None, datastore: tuple[str, str, str]
) -> None:
    backup = finished_backup(store, clock, of)
    asking = restore(backup, flavor_ref="2", volume_size=3, datastore_version=version)
    made = store.create_instance(ACCOUNT, asking)
    assert made.datastore == dict(zip(("type", "version", "version_id"), datastore, strict=True))
    assert (made.status, made.flavor, made.volume_size) == ("BUILD", {"id": "2", "ram": 1024}, 3)


def test_a_restore_naming_no_datastore_takes_the_backups_even_of_a_type_no_longer_listed(
    clock: Clock,
) -> None:
    state = fixture_state()
    state["datastores"] = [d for d in state["datastores"] if d["type"] != "mysql"]
    made = new_store(clock, state).create_instance(ACCOUNT, restore())
    assert made.datastore == MYSQL_5_6
    with pytest.raises(NotFound, match="Datastore 'mysql'"):  # named, it must be known
        new_store(clock, state).create_instance(ACCOUNT, restore(datastore_type="mysql"))


def test_an_incremental_backup_restores_as_a_full_one(store: Store, clock: Clock) -> None:
    full = finished_backup(store, clock, instance=PERCONA)
    incremental = finished_backup(store, clock, instance=PERCONA, parent_id=full)
    assert store.get_backup(ACCOUNT, incremental).type == "InnoBackupExIncremental"
    instance = store.create_instance(ACCOUNT, restore(incremental))
    assert (instance.status, instance.datastore["type"]) == ("BUILD", "percona")


@pytest.mark.parametrize(
    ("account", "backup_id"),
    [("other", RESTORABLE), (ACCOUNT, UNKNOWN), (ACCOUNT, "not-a-uuid")],
    ids=["another account's", "unknown", "not a uuid"],
)
def test_restoring_a_backup_the_account_does_not_have_is_not_found(
    store: Store, account: str, backup_id: str
) -> None:
    with pytest.raises(NotFound, match=f"^Resource {backup_id} cannot be found.$"):
        store.create_instance(account, restore(backup_id))


@pytest.mark.parametrize("status", ["NEW", "BUILDING", "FAILED"])
def test_restoring_a_backup_that_is_not_completed_is_unprocessable(
    store: Store, clock: Clock, status: str
) -> None:
    store.backup_fate = "fail_next" if status == "FAILED" else "normal"
    backup = store.create_backup(ACCOUNT, BackupRequest(name="b", instance=MYSQL))
    clock.advance({"NEW": 0, "BUILDING": 1, "FAILED": 5}[status])
    assert store.get_backup(ACCOUNT, backup.id).status == status
    with pytest.raises(Unprocessable, match=f"is {status}: only a COMPLETED backup"):
        store.create_instance(ACCOUNT, restore(backup.id))


def test_a_backup_larger_than_the_volume_is_a_bad_request(clock: Clock) -> None:
    store = new_store(clock, with_big_backup())
    with pytest.raises(BadRequest, match=r"is 3\.0 GB: it does not fit a volume of 2 GB"):
        store.create_instance(ACCOUNT, restore(volume_size=2))
    assert store.create_instance(ACCOUNT, restore(volume_size=3)).volume_size == 3


@pytest.mark.parametrize(
    ("kind", "version", "fits"),
    [("percona", None, False), (None, "5.5", False), ("mysql", "5.1", False),
     ("MYSQL", None, True), (None, "5.6", True), ("mysql", MYSQL_5_6_ID, True)],
)  # fmt: skip
def test_a_datastore_given_with_a_restore_must_be_the_backups(
    store: Store, kind: str | None, version: str | None, fits: bool
) -> None:
    request = restore(datastore_type=kind, datastore_version=version)  # a mysql 5.6 backup
    if fits:
        assert store.create_instance(ACCOUNT, request).datastore == MYSQL_5_6
        return
    with pytest.raises(BadRequest, match="a backup restores onto its own datastore"):
        store.create_instance(ACCOUNT, request)


# Each request breaks two rules: the first in the contract's order answers.
@pytest.mark.parametrize(
    ("fields", "backup", "error", "message"),
    [
        ({"flavor_ref": "99", "datastore_type": "db2"}, None, NotFound, "Flavor 99"),
        ({"flavor_ref": "99"}, "unknown", NotFound, "Flavor 99"),
        ({"flavor_ref": "99"}, "new", NotFound, "Flavor 99"),
        ({"datastore_type": "db2"}, "unknown", NotFound, "Datastore 'db2'"),
        ({"datastore_version": "9.9"}, "new", NotFound, "Datastore version '9.9'"),
        ({"datastore_type": "percona"}, "new", Unprocessable, "is NEW"),
        ({"datastore_type": "percona"}, "big", BadRequest, "does not fit a volume"),
    ],
    ids=["flavor, datastore", "flavor, backup", "flavor, NEW", "datastore, backup",
         "version, NEW", "NEW, datastore", "size, datastore"],
)  # fmt: skip
def test_create_checks_come_in_the_documented_order(
    clock: Clock, fields: dict[str, Any], backup: str | None, error: type, message: str
) -> None:
    store = new_store(clock, with_big_backup())
    if backup == "new":
        fields["backup_ref"] = store.create_backup(ACCOUNT, BackupRequest("b", instance=MYSQL)).id
    elif backup is not None:
        fields["backup_ref"] = UNKNOWN if backup == "unknown" else RESTORABLE
    with pytest.raises(MockError) as raised:
        store.create_instance(ACCOUNT, asked(**fields))
    assert type(raised.value) is error and message in raised.value.message


# -- once built, like any instance ----------------------------------------------------------------


def test_a_backup_of_an_instance_in_build_is_unprocessable_until_it_is_active(
    store: Store, clock: Clock
) -> None:
    made = store.create_instance(ACCOUNT, restore(PERCONA_BACKUP))
    of_it = BackupRequest(name="b", instance=made.id)
    with pytest.raises(Unprocessable, match="status BUILD"):
        store.create_backup(ACCOUNT, of_it)
    clock.advance(5)
    backup = store.create_backup(ACCOUNT, of_it)
    assert (backup.flavor_ram, backup.volume_size, backup.datastore["type"]) == (512, 2, "percona")
    assert store.get_instance(ACCOUNT, made.id).status == "BACKUP"


def test_a_scheduled_run_skips_an_instance_in_build_and_backs_it_up_once_active(
    clock: Clock,
) -> None:
    store = new_store(clock, build_seconds=7200)  # ACTIVE at 12:00
    made = store.create_instance(ACCOUNT, asked())
    schedule = store.create_schedule(ACCOUNT, ScheduleRequest(7, 11, 0, instance_id=made.id))
    assert schedule.next_run == START + 3600  # 11:00 today: still BUILD then
    clock.advance(DAY + 3600 + 10)  # one jump past 11:00 today and 11:00 tomorrow
    (backup,) = store.list_backups(ACCOUNT, instance_id=made.id).items
    assert (backup.created, backup.type, backup.status) == (START + DAY + 3600, FULL, "COMPLETED")
    assert store.get_schedule(ACCOUNT, schedule.id).last_scheduled == START + DAY + 3600


# -- delete --------------------------------------------------------------------------------------


def test_delete_removes_the_instance_and_its_schedule_but_keeps_its_backups(store: Store) -> None:
    schedule = store.create_schedule(ACCOUNT, ScheduleRequest(0, 2, 0, instance_id=SCHEDULABLE))
    store.delete_instance(ACCOUNT, SCHEDULABLE)
    with pytest.raises(NotFound, match=f"^Resource {SCHEDULABLE} cannot be found.$"):
        store.get_instance(ACCOUNT, SCHEDULABLE)
    assert SCHEDULABLE not in listed(store)
    with pytest.raises(NotFound):
        store.list_backups(ACCOUNT, instance_id=SCHEDULABLE)
    with pytest.raises(NotFound):
        store.get_schedule(ACCOUNT, schedule.id)
    kept = store.get_backup(ACCOUNT, RESTORABLE)
    assert (kept.instance_id, kept.status) == (SCHEDULABLE, "COMPLETED")
    assert RESTORABLE in [b.id for b in store.list_backups(ACCOUNT).items]
    assert store.create_instance(ACCOUNT, restore()).datastore == MYSQL_5_6


@pytest.mark.parametrize(
    ("account", "why", "error"),
    [(ACCOUNT, UNKNOWN, NotFound), ("other", MYSQL, NotFound), (ACCOUNT, "not-a-uuid", NotFound),
     (ACCOUNT, "BUILD", Unprocessable), (ACCOUNT, "BACKUP", Unprocessable),
     (ACCOUNT, "HA member", Unprocessable)],
)  # fmt: skip
def test_delete_is_refused_for_an_id_of_no_instance_while_build_or_backup_and_for_an_ha_member(
    store: Store, clock: Clock, account: str, why: str, error: type
) -> None:
    instance = {"HA member": HA_MEMBERS[0], "BACKUP": MYSQL}.get(why, why)
    if why == "BUILD":
        instance = store.create_instance(ACCOUNT, asked()).id
    elif why == "BACKUP":
        store.create_backup(ACCOUNT, BackupRequest("b", instance=MYSQL))
    expected = {"BUILD": "is BUILD", "BACKUP": "is BACKUP", "HA member": f"HA instance {HA}"}
    message = expected.get(why, f"^Resource {why} cannot be found.$")
    with pytest.raises(error, match=message):
        store.delete_instance(account, instance)
    if error is Unprocessable:
        assert store.get_instance(ACCOUNT, instance).id == instance  # still there
    clock.advance(5)  # built, backed up: the refusal lasts only as long as its reason
    if why in ("BUILD", "BACKUP"):
        store.delete_instance(ACCOUNT, instance)


# -- the state document --------------------------------------------------------------------------


def test_a_state_document_round_trips_with_an_instance_in_build(store: Store, clock: Clock) -> None:
    made = store.create_instance(ACCOUNT, asked())
    clock.advance(2)
    document = store.snapshot()
    (stored,) = [i for i in document["accounts"][ACCOUNT]["instances"] if i["id"] == made.id]
    assert (stored["status"], stored["ready_at"]) == ("BUILD", START + 5)
    reloaded = new_store(clock, json.loads(json.dumps(document)))
    assert reloaded.snapshot() == document
    clock.advance(3)  # it is built at the time it was to be built
    assert reloaded.get_instance(ACCOUNT, made.id).status == "ACTIVE"


def test_a_document_without_flavors_gets_the_default_ones(clock: Clock) -> None:
    document = fixture_state()
    defaults = document.pop("flavors")
    store = new_store(clock, document, default_flavors=defaults)
    assert [(f.id, f.name, f.ram) for f in store.list_flavors()] == FLAVORS
    store.replace({"accounts": {}})
    assert [f.id for f in store.list_flavors()] == [f[0] for f in FLAVORS]
    assert new_store(clock, document).list_flavors() == []  # a store with no defaults
