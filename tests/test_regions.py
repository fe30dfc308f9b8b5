"""Regions and copies of backups in the store (contract section 12): a state per region, the copy
action's checks in order, the copy's fields and lifecycle, its independence, incremental chains,
the quota of the target region, the shared fate, scheduled copies (copy_to), and the state
document of every region. test_regions_api.py has the same over HTTP: the regional paths, the
action's answers, the journal, fault rules and the control API."""

from __future__ import annotations

import calendar
import json
import time
import uuid
from functools import partial
from typing import Any

import pytest
from fixture_ids import (
    FIXTURE_BACKUPS,
    FIXTURE_INSTANCES,
    HA,
    HA_BACKUP,
    MYSQL,
    PERCONA,
    PERCONA_BACKUP,
    SCHEDULABLE,
)
from support import FIXTURES, load_spec

from mockserver.state.clock import Clock
from mockserver.state.errors import BadRequest, MockError, NotFound, OverLimit, Unprocessable
from mockserver.state.models import (
    Backup,
    BackupRequest,
    CopyRequest,
    InstanceRequest,
    ScheduleChange,
    ScheduleRequest,
)
from mockserver.state.regions import Regions

ACCOUNT = "1234"
REGIONS = ("DFW", "IAD", "ORD", "LON", "HKG", "SYD")  # the contract's, in its order
UNKNOWN = "00000000-0000-4000-8000-000000000000"
FULL, INCREMENTAL = "InnoBackupEx", "InnoBackupExIncremental"
QUOTA_EXCEEDED = "Quota exceeded for resources: ['backups']."
DAY = 86_400
START = calendar.timegm((2026, 12, 2, 10, 0, 0))  # Wednesday: the clock of every test starts here
RUN = START + 3600  # 11:00 the same day: the first run of the schedules below
SIZE = 7.25  # the size PERCONA_BACKUP is given here: no size the mock would make up itself


def location(region: str, backup_id: str) -> str:
    return (
        f"https://snet-storage101.{region.lower()}1.clouddrive.com/v1/MossoCloudFS_{ACCOUNT}"
        f"/z_CLOUDDB_BACKUPS/{backup_id}.xbstream.gz"
    )


def at(text: str) -> int:
    """Epoch seconds of `YYYY-MM-DD HH:MM` UTC."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M"))


def fixture_state() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "state.json").read_text())
    return document


def sized_state() -> dict[str, Any]:
    """The fixture state with PERCONA_BACKUP of SIZE GB."""
    state = fixture_state()
    for backup in state["accounts"][ACCOUNT]["backups"]:
        if backup["id"] == PERCONA_BACKUP:
            backup["size"] = SIZE
    return state


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen=True, source=lambda: float(START))


def new_regions(
    clock: Clock, state: dict[str, Any] | None = None, own: str = "DFW", **options: Any
) -> Regions:
    settings: dict[str, Any] = {"quota": 50, "new_seconds": 1, "building_seconds": 4} | options
    flavors = fixture_state()["flavors"]
    chosen = fixture_state() if state is None else state
    return Regions(REGIONS, own, chosen, clock, default_flavors=flavors, **settings)


@pytest.fixture
def regions(clock: Clock) -> Regions:
    return new_regions(clock, sized_state())


def back_up(regions: Regions, region: str = "DFW", instance: str = MYSQL, **fields: Any) -> Backup:
    return regions[region].create_backup(ACCOUNT, BackupRequest("b", instance=instance, **fields))


def finished(
    regions: Regions, clock: Clock, region: str = "DFW", instance: str = MYSQL, **fields: Any
) -> Backup:
    """A backup made in `region` and ended (the clock moved 5 s)."""
    made = back_up(regions, region, instance, **fields)
    clock.advance(5)
    return regions[region].get_backup(ACCOUNT, made.id)


def copy_to(
    regions: Regions, backup_id: str, target: str, source: str = "DFW", **fields: Any
) -> Backup:
    return regions.copy_backup(source, ACCOUNT, backup_id, CopyRequest(target, **fields))


def listed(regions: Regions, region: str) -> list[str]:
    return [b.id for b in regions[region].list_backups(ACCOUNT).items]


def shown(regions: Regions, region: str, backup_id: str) -> Backup:
    return regions[region].get_backup(ACCOUNT, backup_id)


def active_instance(regions: Regions, clock: Clock, region: str) -> str:
    """A new instance of `region`, ACTIVE (the clock moved 5 s)."""
    made = regions[region].create_instance(ACCOUNT, InstanceRequest("db", "1", 2))
    clock.advance(5)
    return made.id


def fate_of(regions: Regions, region: str) -> str:
    return regions[region].backup_fate


def move_to(clock: Clock, moment: float) -> None:
    clock.advance(moment - clock.now())


def schedule(regions: Regions, region: str = "DFW", **fields: Any) -> str:
    defaults: dict[str, Any] = {"day_of_week": 7, "hour": 11, "minute": 0}
    defaults["instance_id"] = SCHEDULABLE
    request = ScheduleRequest(**(defaults | fields))
    return regions[region].create_schedule(ACCOUNT, request).id


# -- a state for each region -------------------------------------------------------------------


def test_the_regions_are_the_contracts_and_the_specs(clock: Clock) -> None:
    assert tuple(load_spec()["components"]["schemas"]["Region"]["enum"]) == REGIONS
    regions = new_regions(clock)
    assert (regions.codes, regions.own) == (REGIONS, "DFW")
    assert [store.region for store in regions] == list(REGIONS)
    assert regions.store is regions["DFW"]
    with pytest.raises(ValueError, match="XYZ"):
        new_regions(clock, own="XYZ")


@pytest.mark.parametrize("own", ["DFW", "IAD", "SYD"])
def test_the_fixture_state_is_the_own_regions_and_every_other_region_starts_empty(
    clock: Clock, own: str
) -> None:
    regions = new_regions(clock, own=own)
    for code in REGIONS:
        store = regions[code]
        instances = [i.id for i in store.list_instances(ACCOUNT, None, None).items]
        if code == own:
            assert listed(regions, code) == FIXTURE_BACKUPS, code
            assert instances == FIXTURE_INSTANCES, code
            assert [ha.id for ha in store.list_ha_instances(ACCOUNT)] == [HA], code
            assert store.get_backup(ACCOUNT, HA_BACKUP).id == HA_BACKUP
            continue
        assert (listed(regions, code), instances) == ([], []), code
        assert store.list_ha_instances(ACCOUNT) == [], code
        assert store.list_schedules(ACCOUNT, None, None).items == []
        for read in (
            partial(store.get_backup, ACCOUNT, HA_BACKUP),
            partial(store.get_instance, ACCOUNT, MYSQL),
            partial(store.get_ha_instance, ACCOUNT, HA),
            partial(store.list_backups, ACCOUNT, instance_id=MYSQL),
            partial(store.list_backups, ACCOUNT, ha_id=HA),
        ):
            with pytest.raises(NotFound):
                read()
        with pytest.raises(NotFound):  # no instance to back up there
            back_up(regions, code)


def test_what_is_made_in_one_region_is_absent_from_every_other(
    regions: Regions, clock: Clock
) -> None:
    instance = active_instance(regions, clock, "IAD")
    in_dfw = back_up(regions)
    in_iad = back_up(regions, "IAD", instance)
    planned = schedule(regions, "IAD", instance_id=instance)
    assert (in_iad.status, in_iad.flavor_ram, in_iad.volume_size) == ("NEW", 512, 2)
    assert listed(regions, "IAD") == [in_iad.id]
    assert in_dfw.id in listed(regions, "DFW") and in_iad.id not in listed(regions, "DFW")
    assert [s.id for s in regions["IAD"].list_schedules(ACCOUNT, None, None).items] == [planned]
    assert regions["DFW"].list_schedules(ACCOUNT, None, None).items == []
    dfw_instances = [i.id for i in regions["DFW"].list_instances(ACCOUNT, None, None).items]
    assert instance not in dfw_instances and dfw_instances == FIXTURE_INSTANCES
    for read in (
        lambda: regions["IAD"].get_backup(ACCOUNT, in_dfw.id),
        lambda: regions["DFW"].get_backup(ACCOUNT, in_iad.id),
        lambda: regions["DFW"].get_instance(ACCOUNT, instance),
        lambda: regions["DFW"].get_schedule(ACCOUNT, planned),
        lambda: regions["ORD"].get_backup(ACCOUNT, in_iad.id),
    ):
        with pytest.raises(NotFound):
            read()
    # Each running backup keeps its own region's instance in BACKUP.
    assert regions["DFW"].get_instance(ACCOUNT, MYSQL).status == "BACKUP"
    assert regions["IAD"].get_instance(ACCOUNT, instance).status == "BACKUP"


def test_the_clock_and_the_quota_setting_are_one_for_every_region(
    regions: Regions, clock: Clock
) -> None:
    assert all(store.clock is clock for store in regions)
    regions.quota = 1
    assert [store.quota for store in regions] == [1] * len(REGIONS)
    instance = active_instance(regions, clock, "ORD")
    back_up(regions, "ORD", instance)
    clock.advance(5)
    with pytest.raises(OverLimit, match=r"^Quota exceeded"):
        back_up(regions, "ORD", instance)


# -- the copy's checks, in order ---------------------------------------------------------------


def crowded(clock: Clock) -> tuple[Regions, dict[str, str]]:
    """Regions at a quota of 8, whose DFW holds, beside the fixture's four backups: a COMPLETED
    full backup F and its incremental I, a FAILED backup X, and a NEW incremental R of a fixture
    backup; ORD is full (eight copies of the fixture's backups); IAD is empty."""
    regions = new_regions(clock, sized_state(), quota=8)
    full = finished(regions, clock)
    incremental = finished(regions, clock, parent_id=full.id)
    regions.fate.mode = "fail_next"
    failed = finished(regions, clock, instance=PERCONA)
    running = back_up(regions, instance=PERCONA, parent_id=PERCONA_BACKUP)
    for backup_id in FIXTURE_BACKUPS * 2:
        copy_to(regions, backup_id, "ORD")
    assert (len(listed(regions, "DFW")), len(listed(regions, "ORD"))) == (8, 8)
    assert (failed.status, running.status, running.type) == ("FAILED", "NEW", INCREMENTAL)
    names = {"F": full.id, "I": incremental.id, "X": failed.id, "R": running.id}
    return regions, names


# Each copy breaks two rules (but the last, which breaks one): the first in the contract's order
# answers.
@pytest.mark.parametrize(
    ("account", "backup", "target", "error", "message"),
    [
        (ACCOUNT, "unknown", "LON", NotFound, "Resource {} cannot be found."),
        (ACCOUNT, "unknown", "DFW", NotFound, "Resource {} cannot be found."),
        ("5678", "F", "LON", NotFound, "Resource {} cannot be found."),
        (ACCOUNT, "R", "DFW", BadRequest, "Backup {} is in DFW already"),
        (ACCOUNT, "I", "DFW", BadRequest, "Backup {} is in DFW already"),
        (ACCOUNT, "R", "LON", BadRequest, "Backups cannot be copied from or to LON"),
        (ACCOUNT, "X", "LON", BadRequest, "Backups cannot be copied from or to LON"),
        (ACCOUNT, "I", "LON", BadRequest, "Backups cannot be copied from or to LON"),
        (ACCOUNT, "R", "IAD", Unprocessable, "Backup {} is NEW: only a COMPLETED backup"),
        (ACCOUNT, "X", "ORD", Unprocessable, "Backup {} is FAILED: only a COMPLETED backup"),
        (ACCOUNT, "R", "ORD", Unprocessable, "Backup {} is NEW: only a COMPLETED backup"),
        (ACCOUNT, "I", "ORD", BadRequest, "Backup {} is incremental and its parent"),
        (ACCOUNT, "F", "ORD", OverLimit, QUOTA_EXCEEDED),
    ],
    ids=["unknown, LON", "unknown, own region", "another account's, LON", "own region, NEW",
         "own region, incremental", "LON, NEW", "LON, FAILED", "LON, incremental",
         "NEW, incremental", "FAILED, quota", "NEW, quota", "incremental, quota", "quota"],
)  # fmt: skip
def test_copy_checks_come_in_the_documented_order_and_a_refusal_changes_nothing(
    clock: Clock,
    account: str,
    backup: str,
    target: str,
    error: type[MockError],
    message: str,
) -> None:
    regions, names = crowded(clock)
    backup_id = names.get(backup, UNKNOWN)
    before = regions.snapshot()
    with pytest.raises(MockError) as raised:
        regions.copy_backup("DFW", account, backup_id, CopyRequest(target))
    assert type(raised.value) is error
    assert raised.value.message.startswith(message.format(backup_id)), raised.value.message
    assert regions.snapshot() == before


def test_lon_is_neither_a_source_nor_a_target_and_a_region_is_not_its_own_target(
    clock: Clock,
) -> None:
    regions = new_regions(clock, own="LON")  # the fixture is LON's
    running = back_up(regions, "LON")
    for backup_id, target, message in [
        (PERCONA_BACKUP, "LON", f"Backup {PERCONA_BACKUP} is in LON already"),
        (running.id, "LON", f"Backup {running.id} is in LON already"),
        (PERCONA_BACKUP, "IAD", "Backups cannot be copied from or to LON"),
        (running.id, "IAD", "Backups cannot be copied from or to LON"),  # before the 422
    ]:
        with pytest.raises(BadRequest) as raised:
            copy_to(regions, backup_id, target, source="LON")
        assert raised.value.message.startswith(message)
    with pytest.raises(NotFound):
        copy_to(regions, UNKNOWN, "IAD", source="LON")
    assert [listed(regions, code) for code in REGIONS if code != "LON"] == [[]] * 5


def test_a_backup_of_another_region_is_not_found_in_this_one(
    regions: Regions, clock: Clock
) -> None:
    made = copy_to(regions, PERCONA_BACKUP, "IAD")
    clock.advance(5)
    with pytest.raises(NotFound, match=f"^Resource {made.id} cannot be found.$"):
        copy_to(regions, made.id, "ORD")  # asked of DFW: the copy is IAD's
    with pytest.raises(NotFound, match=f"^Resource {PERCONA_BACKUP} cannot be found.$"):
        copy_to(regions, PERCONA_BACKUP, "ORD", source="IAD")  # the original is DFW's
    assert copy_to(regions, made.id, "ORD", source="IAD").name == made.name


# -- the copy ----------------------------------------------------------------------------------


@pytest.mark.parametrize("original_id", [PERCONA_BACKUP, HA_BACKUP], ids=["instance", "HA"])
def test_a_copy_is_a_new_backup_of_the_account_in_the_target_with_the_originals_fields(
    regions: Regions, clock: Clock, original_id: str
) -> None:
    clock.advance(60)
    original = shown(regions, "DFW", original_id)
    made = copy_to(regions, original_id, "IAD")
    assert str(uuid.UUID(made.id)) == made.id and made.id not in FIXTURE_BACKUPS
    for name in ("name", "description", "type", "datastore", "flavor_ram", "volume_size",
                 "instance_id", "source"):  # fmt: skip
        assert getattr(made, name) == getattr(original, name), name
    assert (made.status, made.created, made.updated) == ("NEW", START + 60, START + 60)
    assert (made.parent_id, made.size, made.location_ref) == (None, None, None)
    assert made.is_automated is False
    assert shown(regions, "IAD", made.id) == made
    assert listed(regions, "IAD") == [made.id]
    assert regions["IAD"].list_backups("5678").items == []  # the same account's
    assert [listed(regions, code) for code in ("ORD", "LON", "HKG", "SYD")] == [[]] * 4
    assert shown(regions, "DFW", original_id) == original  # the original is as it was
    assert listed(regions, "DFW") == FIXTURE_BACKUPS


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ("test_instance-backup", "My standalone instance backup1")),
        ({"name": "dfw-to-iad"}, ("dfw-to-iad", "My standalone instance backup1")),
        ({"description": "a backup copy"}, ("test_instance-backup", "a backup copy")),
        ({"name": "dfw-to-iad", "description": "a backup copy"}, ("dfw-to-iad", "a backup copy")),
    ],
    ids=["neither", "name", "description", "both"],
)
def test_a_copy_takes_the_name_and_description_given_else_the_originals(
    regions: Regions, fields: dict[str, str], expected: tuple[str, str]
) -> None:
    made = copy_to(regions, PERCONA_BACKUP, "IAD", **fields)
    assert (made.name, made.description) == expected
    kept = shown(regions, "IAD", made.id)
    assert (kept.name, kept.description) == expected


def test_a_copy_of_an_automated_backup_is_not_automated(regions: Regions, clock: Clock) -> None:
    planned = schedule(regions)
    regions["DFW"].update_schedule(ACCOUNT, planned, ScheduleChange(run_now=True))
    clock.advance(5)
    (original,) = [b for b in regions["DFW"].list_backups(ACCOUNT).items if b.is_automated]
    made = copy_to(regions, original.id, "IAD")
    assert (made.is_automated, made.name, made.description) == (
        False,
        original.name,
        f"Made by schedule {planned}.",
    )


@pytest.mark.parametrize(("new_seconds", "building_seconds"), [(1, 4), (2.5, 0.5)])
def test_a_copy_goes_new_building_completed_on_the_clock_with_the_originals_size_at_the_end(
    clock: Clock, new_seconds: float, building_seconds: float
) -> None:
    options: dict[str, Any] = {"new_seconds": new_seconds, "building_seconds": building_seconds}
    regions = new_regions(clock, sized_state(), **options)
    made = copy_to(regions, PERCONA_BACKUP, "IAD")
    # Binary fractions: the clock's sums are exact.
    clock.advance(new_seconds - 0.25)
    assert shown(regions, "IAD", made.id) == made  # NEW still, nothing moved
    clock.advance(0.25)
    building = shown(regions, "IAD", made.id)
    assert (building.status, building.updated, building.size) == (
        "BUILDING",
        int(START + new_seconds),
        None,
    )
    clock.advance(building_seconds - 0.25)
    assert shown(regions, "IAD", made.id).status == "BUILDING"
    clock.advance(0.25)
    done = shown(regions, "IAD", made.id)
    assert (done.status, done.created) == ("COMPLETED", START)
    assert done.updated == int(START + new_seconds + building_seconds)
    assert (done.size, done.location_ref) == (SIZE, location("IAD", made.id))


def test_with_no_lifecycle_time_a_copy_answers_new_then_is_completed(clock: Clock) -> None:
    regions = new_regions(clock, sized_state(), new_seconds=0, building_seconds=0)
    made = copy_to(regions, PERCONA_BACKUP, "SYD")
    assert made.status == "NEW"
    done = shown(regions, "SYD", made.id)
    assert (done.status, done.size, done.location_ref) == (
        "COMPLETED",
        SIZE,
        location("SYD", made.id),
    )


def test_a_copy_makes_no_instance_busy(regions: Regions, clock: Clock) -> None:
    original = finished(regions, clock)
    copy_to(regions, original.id, "IAD")
    assert regions["DFW"].get_instance(ACCOUNT, MYSQL).status == "ACTIVE"
    assert back_up(regions).status == "NEW"  # the instance backed up can be backed up again


# -- independent from then on -----------------------------------------------------------------


def test_deleting_the_original_leaves_the_copy(regions: Regions, clock: Clock) -> None:
    original = finished(regions, clock)
    made = copy_to(regions, original.id, "IAD")
    clock.advance(2)  # the copy is BUILDING
    assert regions["DFW"].delete_backup(ACCOUNT, original.id) == [original.id]
    clock.advance(3)
    kept = shown(regions, "IAD", made.id)
    assert (kept.status, kept.size) == ("COMPLETED", original.size)
    assert listed(regions, "IAD") == [made.id]
    with pytest.raises(NotFound):
        shown(regions, "DFW", original.id)


def test_deleting_the_copy_leaves_the_original(regions: Regions, clock: Clock) -> None:
    original = finished(regions, clock)
    made = copy_to(regions, original.id, "IAD")
    with pytest.raises(Unprocessable, match="still running"):  # a running copy, as any backup
        regions["IAD"].delete_backup(ACCOUNT, made.id)
    clock.advance(5)
    assert regions["IAD"].delete_backup(ACCOUNT, made.id) == [made.id]
    assert shown(regions, "DFW", original.id) == original
    assert listed(regions, "IAD") == []
    assert copy_to(regions, original.id, "IAD").id != made.id  # it can be copied again


def test_deleting_a_copied_full_deletes_its_copied_incrementals_in_the_target_only(
    regions: Regions, clock: Clock
) -> None:
    full = finished(regions, clock)
    incremental = finished(regions, clock, parent_id=full.id)
    full_copy = copy_to(regions, full.id, "IAD")
    incremental_copy = copy_to(regions, incremental.id, "IAD")
    elsewhere = [copy_to(regions, b.id, "ORD").id for b in (full, incremental)]
    clock.advance(5)
    deleted = regions["IAD"].delete_backup(ACCOUNT, full_copy.id)
    assert sorted(deleted) == sorted([full_copy.id, incremental_copy.id])
    assert listed(regions, "IAD") == []
    assert sorted(listed(regions, "ORD")) == sorted(elsewhere)
    assert [shown(regions, "DFW", b.id) for b in (full, incremental)] == [full, incremental]
    # The parent's copy is gone: the incremental cannot be copied there before it is again.
    with pytest.raises(BadRequest, match="copy the parent first"):
        copy_to(regions, incremental.id, "IAD")


# -- incremental chains ------------------------------------------------------------------------


def test_an_incremental_chain_copied_in_order_names_the_copy_of_each_parent(
    regions: Regions, clock: Clock
) -> None:
    full = finished(regions, clock)
    first = finished(regions, clock, parent_id=full.id)
    second = finished(regions, clock, parent_id=first.id)
    copies = [copy_to(regions, b.id, "IAD") for b in (full, first, second)]
    assert [c.parent_id for c in copies] == [None, copies[0].id, copies[1].id]
    assert [c.type for c in copies] == [FULL, INCREMENTAL, INCREMENTAL]
    in_ord = [copy_to(regions, b.id, "ORD") for b in (full, first)]  # each region its own
    assert [c.parent_id for c in in_ord] == [None, in_ord[0].id]
    clock.advance(5)
    done = [shown(regions, "IAD", c.id) for c in copies]
    assert [(b.status, b.parent_id) for b in done] == [
        ("COMPLETED", None),
        ("COMPLETED", copies[0].id),
        ("COMPLETED", copies[1].id),
    ]
    assert [b.size for b in done] == [full.size, first.size, second.size]


def test_copying_an_incremental_before_its_parent_is_the_documented_bad_request(
    regions: Regions, clock: Clock
) -> None:
    full = finished(regions, clock)
    incremental = finished(regions, clock, parent_id=full.id)
    copy_to(regions, full.id, "ORD")  # a copy of the parent in another region does not count
    before = regions.snapshot()
    with pytest.raises(BadRequest) as raised:
        copy_to(regions, incremental.id, "IAD")
    assert raised.value.message == (
        f"Backup {incremental.id} is incremental and its parent {full.id} has no copy in IAD:"
        " copy the parent first."
    )
    assert regions.snapshot() == before
    parent = copy_to(regions, full.id, "IAD")
    assert copy_to(regions, incremental.id, "IAD").parent_id == parent.id


def test_a_failed_copy_of_the_parent_does_not_stand_for_it(regions: Regions, clock: Clock) -> None:
    full = finished(regions, clock)
    incremental = finished(regions, clock, parent_id=full.id)
    regions.fate.mode = "fail_next"
    copy_to(regions, full.id, "IAD")
    clock.advance(5)  # the parent's only copy in IAD ended FAILED: nothing to build on
    with pytest.raises(BadRequest):
        copy_to(regions, incremental.id, "IAD")
    parent = copy_to(regions, full.id, "IAD")  # copied again, and this one completes
    clock.advance(5)
    assert copy_to(regions, incremental.id, "IAD").parent_id == parent.id


def test_a_copy_copied_back_to_the_region_of_the_original_names_the_original_parent(
    regions: Regions, clock: Clock
) -> None:
    full = finished(regions, clock)
    incremental = finished(regions, clock, parent_id=full.id)
    copy_to(regions, full.id, "IAD")
    incremental_copy = copy_to(regions, incremental.id, "IAD")
    clock.advance(5)
    back = copy_to(regions, incremental_copy.id, "DFW", source="IAD")
    assert (back.parent_id, back.type) == (full.id, INCREMENTAL)
    assert back.id not in (incremental.id, incremental_copy.id)


# -- the quota of the target region ------------------------------------------------------------


def test_the_quota_is_counted_in_the_target_region(clock: Clock) -> None:
    regions = new_regions(clock, quota=5)  # DFW holds the fixture's four backups
    for backup_id in [*FIXTURE_BACKUPS, PERCONA_BACKUP]:
        copy_to(regions, backup_id, "IAD")
    before = regions.snapshot()
    with pytest.raises(OverLimit) as raised:
        copy_to(regions, HA_BACKUP, "IAD")
    assert raised.value.message.startswith(QUOTA_EXCEEDED)
    assert regions.snapshot() == before
    assert (len(listed(regions, "IAD")), listed(regions, "DFW")) == (5, FIXTURE_BACKUPS)
    # The source region's own count is its own: one more backup fits there; ORD takes copies.
    assert back_up(regions).status == "NEW"
    assert copy_to(regions, HA_BACKUP, "ORD").status == "NEW"
    clock.advance(5)
    regions["IAD"].delete_backup(ACCOUNT, listed(regions, "IAD")[0])  # room for one
    assert copy_to(regions, HA_BACKUP, "IAD").status == "NEW"


# -- one fate for every region -----------------------------------------------------------------


def test_fail_next_fails_exactly_one_backup_whichever_region_makes_it(
    regions: Regions, clock: Clock
) -> None:
    regions["IAD"].backup_fate = "fail_next"  # set through one region's store
    assert fate_of(regions, "DFW") == regions.fate.mode == "fail_next"
    assert finished(regions, clock).status == "FAILED"  # made in DFW
    assert fate_of(regions, "IAD") == "normal"  # used up everywhere
    made = copy_to(regions, PERCONA_BACKUP, "IAD")
    clock.advance(5)
    assert shown(regions, "IAD", made.id).status == "COMPLETED"
    assert finished(regions, clock).status == "COMPLETED"


def test_a_copy_is_a_backup_that_fail_next_fails(regions: Regions, clock: Clock) -> None:
    regions["DFW"].backup_fate = "fail_next"
    made = copy_to(regions, PERCONA_BACKUP, "IAD")
    clock.advance(5)
    failed = shown(regions, "IAD", made.id)
    assert (failed.status, failed.size, failed.location_ref) == ("FAILED", None, None)
    assert shown(regions, "DFW", PERCONA_BACKUP).status == "COMPLETED"
    assert finished(regions, clock).status == "COMPLETED"
    regions["ORD"].backup_fate = "fail_all"  # every backup, copies too, in every region
    failures = {code: copy_to(regions, PERCONA_BACKUP, code).id for code in ("IAD", "HKG")}
    assert finished(regions, clock).status == "FAILED"
    assert {shown(regions, code, b).status for code, b in failures.items()} == {"FAILED"}


# -- scheduled copies (copy_to) ----------------------------------------------------------------


def test_a_scheduled_backup_is_copied_to_each_copy_to_region_once_completed(
    regions: Regions, clock: Clock
) -> None:
    planned = schedule(regions, copy_to=["IAD", "ORD"])
    # Only the target regions are read until the end: reading them brings DFW up to the clock.
    move_to(clock, RUN + 4)  # the run's backup is BUILDING: nothing is copied yet
    assert listed(regions, "IAD") == []
    move_to(clock, RUN + 7)  # it ended at RUN + 5; its copies are NEW from then, BUILDING now
    (building,) = regions["IAD"].list_backups(ACCOUNT).items
    assert (building.status, building.created) == ("BUILDING", RUN + 5)
    move_to(clock, RUN + 10)
    copies = {code: regions[code].list_backups(ACCOUNT).items for code in ("IAD", "ORD")}
    for code, (made,) in copies.items():
        assert (made.name, made.description) == (
            "scheduled-2026-12-02T11:00Z",
            f"Made by schedule {planned}.",
        ), code
        assert (made.status, made.is_automated, made.parent_id, made.type) == (
            "COMPLETED",
            False,
            None,
            FULL,
        ), code
        assert (made.instance_id, made.location_ref) == (SCHEDULABLE, location(code, made.id))
    assert [listed(regions, code) for code in ("LON", "HKG", "SYD")] == [[], [], []]
    (original,) = [b for b in regions["DFW"].list_backups(ACCOUNT).items if b.is_automated]
    assert (original.updated, original.is_automated) == (RUN + 5, True)
    assert copies["IAD"][0].size == original.size
    assert copies["IAD"][0].id != copies["ORD"][0].id != original.id


def test_a_scheduled_incremental_is_copied_with_the_copy_of_its_parent(
    regions: Regions, clock: Clock
) -> None:
    schedule(regions, day_of_week=3, copy_to=["IAD"])  # a full today (Wednesday), then daily
    move_to(clock, at("2026-12-03 12:00"))
    incremental, full = regions["IAD"].list_backups(ACCOUNT).items  # newest first
    assert (full.name, full.type, full.parent_id) == ("scheduled-2026-12-02T11:00Z", FULL, None)
    assert (incremental.name, incremental.type, incremental.parent_id) == (
        "scheduled-2026-12-03T11:00Z",
        INCREMENTAL,
        full.id,
    )
    assert {full.status, incremental.status} == {"COMPLETED"}


def test_a_scheduled_backup_whose_parent_has_no_copy_there_is_not_copied(
    regions: Regions, clock: Clock
) -> None:
    planned = schedule(regions, day_of_week=3)  # no copy_to when the first full is made
    move_to(clock, at("2026-12-02 12:00"))
    regions["DFW"].update_schedule(ACCOUNT, planned, ScheduleChange(copy_to=["IAD"]))
    move_to(clock, at("2026-12-03 12:00"))  # Thursday's incremental: its parent is not in IAD
    assert listed(regions, "IAD") == []
    move_to(clock, at("2026-12-09 12:00"))  # the next Wednesday's full is copied
    (full,) = regions["IAD"].list_backups(ACCOUNT).items
    assert (full.name, full.type) == ("scheduled-2026-12-09T11:00Z", FULL)
    move_to(clock, at("2026-12-10 12:00"))  # and the incremental made from it
    incremental, _ = regions["IAD"].list_backups(ACCOUNT).items
    assert (incremental.type, incremental.parent_id) == (INCREMENTAL, full.id)


def test_a_scheduled_backup_is_not_copied_to_a_region_at_the_quota(clock: Clock) -> None:
    regions = new_regions(clock, quota=5)  # DFW holds four backups: the run makes the fifth
    for backup_id in [*FIXTURE_BACKUPS, PERCONA_BACKUP]:
        copy_to(regions, backup_id, "IAD")
    schedule(regions, copy_to=["IAD", "ORD"])
    move_to(clock, RUN + 60)
    in_iad = regions["IAD"].list_backups(ACCOUNT).items
    assert len(in_iad) == 5 and not any(b.name.startswith("scheduled-") for b in in_iad)
    (in_ord,) = regions["ORD"].list_backups(ACCOUNT).items  # ORD had room
    assert in_ord.name == "scheduled-2026-12-02T11:00Z"
    assert [b.status for b in regions["DFW"].list_backups(ACCOUNT).items if b.is_automated] == [
        "COMPLETED"
    ]


def test_retention_in_the_source_region_leaves_the_copies(regions: Regions, clock: Clock) -> None:
    schedule(regions, full_backup_retention=1, copy_to=["IAD"])  # a full every day at 11:00
    move_to(clock, at("2026-12-04 12:00"))
    kept = [b for b in regions["DFW"].list_backups(ACCOUNT).items if b.is_automated]
    assert [b.name for b in kept] == ["scheduled-2026-12-04T11:00Z"]
    copies = regions["IAD"].list_backups(ACCOUNT).items
    assert [b.name for b in copies] == [f"scheduled-2026-12-0{day}T11:00Z" for day in (4, 3, 2)]
    assert {b.status for b in copies} == {"COMPLETED"}


def test_a_failed_scheduled_backup_is_not_copied(regions: Regions, clock: Clock) -> None:
    schedule(regions, copy_to=["IAD"])
    regions.fate.mode = "fail_next"  # the run's backup ends FAILED
    move_to(clock, RUN + 60)
    assert listed(regions, "IAD") == []
    move_to(clock, RUN + DAY + 60)  # the next day's run ends COMPLETED: copied
    (made,) = regions["IAD"].list_backups(ACCOUNT).items
    assert (made.name, made.status) == ("scheduled-2026-12-03T11:00Z", "COMPLETED")


def test_a_scheduled_copy_due_by_the_clock_takes_its_place_in_the_quota_before_a_later_request(
    clock: Clock,
) -> None:
    regions = new_regions(clock, quota=5)
    instance = active_instance(regions, clock, "IAD")
    for backup_id in FIXTURE_BACKUPS:  # IAD holds four: room for one more
        copy_to(regions, backup_id, "IAD")
    schedule(regions, copy_to=["IAD"])
    move_to(clock, RUN + 60)  # the run's copy was made at RUN + 5, though nothing read it
    with pytest.raises(OverLimit):
        back_up(regions, "IAD", instance)
    with pytest.raises(OverLimit):
        copy_to(regions, PERCONA_BACKUP, "IAD")
    names = [b.name for b in regions["IAD"].list_backups(ACCOUNT).items]
    assert names[0] == "scheduled-2026-12-02T11:00Z" and len(names) == 5


def test_a_state_document_taken_with_nothing_read_holds_the_scheduled_copies(
    regions: Regions, clock: Clock
) -> None:
    instance = active_instance(regions, clock, "IAD")
    schedule(regions, copy_to=["IAD"])
    schedule(regions, "IAD", instance_id=instance, copy_to=["DFW", "ORD"])
    move_to(clock, RUN + 60)
    document = regions.snapshot()
    in_iad = document["regions"]["IAD"]["accounts"][ACCOUNT]["backups"]
    in_ord = document["regions"]["ORD"]["accounts"][ACCOUNT]["backups"]
    in_dfw = document["accounts"][ACCOUNT]["backups"]
    copies = [b for b in [*in_iad, *in_ord, *in_dfw] if "copy_of" in b]
    assert len(copies) == 3 and {b["status"] for b in copies} == {"COMPLETED"}
    assert {b["copy_of"]["region"] for b in in_ord} == {"IAD"}
    assert regions.snapshot() == document


def test_a_schedule_of_another_region_copies_to_the_own_region(
    regions: Regions, clock: Clock
) -> None:
    instance = active_instance(regions, clock, "IAD")
    schedule(regions, "IAD", instance_id=instance, copy_to=["DFW"])
    move_to(clock, RUN + 10)
    (made,) = [b for b in regions["DFW"].list_backups(ACCOUNT).items if b.instance_id == instance]
    assert (made.name, made.status, made.is_automated) == (
        "scheduled-2026-12-02T11:00Z",
        "COMPLETED",
        False,
    )
    assert made.location_ref == location("DFW", made.id)


# -- the state document ------------------------------------------------------------------------


@pytest.mark.parametrize("own", ["DFW", "IAD"])
def test_the_state_document_holds_the_own_region_at_the_top_and_the_others_under_regions(
    clock: Clock, own: str
) -> None:
    document = new_regions(clock, own=own).snapshot()
    assert document["region"] == own
    assert list(document["accounts"]) == [ACCOUNT]
    assert [b["id"] for b in document["accounts"][ACCOUNT]["backups"]] == FIXTURE_BACKUPS
    assert document["regions"] == {code: {"accounts": {}} for code in REGIONS if code != own}


def test_a_state_document_round_trips_with_copies_and_running_lifecycles(
    regions: Regions, clock: Clock
) -> None:
    full = finished(regions, clock)
    incremental = finished(regions, clock, parent_id=full.id)
    copy_to(regions, PERCONA_BACKUP, "ORD", name="kept")
    clock.advance(5)
    full_copy = copy_to(regions, full.id, "IAD")
    incremental_copy = copy_to(regions, incremental.id, "IAD")
    percona_copy = copy_to(regions, PERCONA_BACKUP, "IAD")
    clock.advance(2)  # the copies to IAD are BUILDING
    document = json.loads(json.dumps(regions.snapshot()))
    stored = {b["id"]: b for b in document["regions"]["IAD"]["accounts"][ACCOUNT]["backups"]}
    assert stored[incremental_copy.id]["copy_of"] == {"region": "DFW", "id": incremental.id}
    assert stored[incremental_copy.id]["parent_id"] == full_copy.id
    assert stored[percona_copy.id]["lifecycle"]["size"] == SIZE
    assert stored[full_copy.id]["lifecycle"]["size"] == full.size
    assert stored[full_copy.id]["status"] == "BUILDING"
    (ord_copy,) = document["regions"]["ORD"]["accounts"][ACCOUNT]["backups"]
    assert (ord_copy["status"], ord_copy["copy_of"]) == (
        "COMPLETED",
        {"region": "DFW", "id": PERCONA_BACKUP},
    )
    reloaded = new_regions(clock, document)
    assert reloaded.snapshot() == document
    regions.replace(document)
    assert regions.snapshot() == document
    clock.advance(3)  # the copies end as they were to, with their originals' sizes
    assert shown(reloaded, "IAD", percona_copy.id).size == SIZE
    assert shown(reloaded, "IAD", incremental_copy.id).size == incremental.size
    # The loaded copies are known as copies: a new incremental of the chain finds its parent's.
    third = finished(reloaded, clock, parent_id=incremental.id)
    assert copy_to(reloaded, third.id, "IAD").parent_id == incremental_copy.id


@pytest.mark.parametrize("own", ["DFW", "IAD"])
def test_a_document_without_regions_loads_as_the_own_regions(clock: Clock, own: str) -> None:
    regions = new_regions(clock, own=own)
    copy_to(regions, PERCONA_BACKUP, "ORD", source=own)
    regions.replace(fixture_state())
    assert listed(regions, own) == FIXTURE_BACKUPS
    assert [listed(regions, code) for code in REGIONS if code != own] == [[]] * 5
    assert regions.snapshot() == new_regions(clock, own=own).snapshot()


def test_a_document_may_name_the_region_of_its_top_accounts(clock: Clock) -> None:
    regions = new_regions(clock)
    document = fixture_state() | {"region": "IAD", "regions": {"DFW": {"accounts": {}}}}
    regions.replace(document)
    assert (listed(regions, "IAD"), listed(regions, "DFW")) == (FIXTURE_BACKUPS, [])
    snapshot = regions.snapshot()
    assert (snapshot["region"], snapshot["accounts"]) == ("DFW", {})
    assert [b["id"] for b in snapshot["regions"]["IAD"]["accounts"][ACCOUNT]["backups"]] == (
        FIXTURE_BACKUPS
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"regions": {"XYZ": {"accounts": {}}}}, "XYZ is not a region"),
        ({"regions": {"iad": {"accounts": {}}}}, "iad is not a region"),
        ({"region": "XYZ"}, "XYZ is not a region"),
        ({"region": "DFW", "regions": {"DFW": {"accounts": {}}}}, "given twice"),
        ({"regions": {"DFW": {"accounts": {}}}}, "given twice"),
        ({"region": "IAD", "regions": {"IAD": {"accounts": {}}}}, "given twice"),
        ({"regions": {"IAD": {"accounts": {ACCOUNT: {"backups": [{"id": "x"}]}}}}}, "KeyError"),
    ],
    ids=["unknown code", "lower case", "unknown region", "own region twice", "own region again",
         "another region twice", "a wrong backup in another region"],
)  # fmt: skip
def test_a_state_document_naming_a_region_wrongly_is_refused_and_changes_nothing(
    regions: Regions, change: dict[str, Any], message: str
) -> None:
    copy_to(regions, PERCONA_BACKUP, "IAD")
    before = regions.snapshot()
    with pytest.raises(BadRequest, match=message):
        regions.replace(fixture_state() | change)
    assert regions.snapshot() == before
