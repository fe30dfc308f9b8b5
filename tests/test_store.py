"""The store's rules, without HTTP: create checks, lifecycle, lists, cascades, state documents."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from support import FIXTURES

from mockserver.state.clock import Clock
from mockserver.state.errors import BadRequest, NotFound, OverLimit, Unprocessable
from mockserver.state.models import BackupRequest
from mockserver.state.store import Store

ACCOUNT = "1234"
MYSQL = "d4603f69-ec7e-4e9b-803f-600b9205576f"
PERCONA = "f4aaba46-fb5f-4316-988d-88da77759968"
STOPPED = "7545e164-c45d-4ca7-bb6c-e2c677d2c864"
HA = "130922a2-b9ab-4e95-86be-9c5d79171b5e"
HA_SOURCE = "9e63f30a-a29a-407c-9eeb-af071ae86404"
HA_REPLICA = "58c4b532-9526-455f-99ae-d7e3b95d06dd"
HA_BACKUP = "0c1b5616-fdc5-45ae-b2dc-6f1440d55d0e"
PERCONA_BACKUP = "d9f56b04-e17d-41f0-ae92-30a3b47b8d29"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def fixture_state() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / "state.json").read_text())
    return document


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen=True)


@pytest.fixture
def store(clock: Clock) -> Store:
    return Store(fixture_state(), clock, quota=50, new_seconds=1, building_seconds=4)


def of_instance(instance: str = MYSQL, **fields: Any) -> BackupRequest:
    return BackupRequest(name="snapshot", instance=instance, **fields)


def of_ha(**fields: Any) -> BackupRequest:
    return BackupRequest(name="ha-backup", source={"type": "ha", "id": HA}, **fields)


def finish(store: Store, clock: Clock) -> None:
    clock.advance(store.new_seconds + store.building_seconds)


# -- create -------------------------------------------------------------------------------------


def test_new_backup_starts_new_with_no_size_and_copies_the_instance(store: Store) -> None:
    backup = store.create_backup(ACCOUNT, of_instance(description="d"))
    assert (backup.status, backup.size, backup.location_ref) == ("NEW", None, None)
    assert backup.created == backup.updated
    assert backup.instance_id == MYSQL and backup.source == {"type": "instance", "id": MYSQL}
    assert backup.datastore == {
        "type": "mysql",
        "version": "5.6",
        "version_id": "1379cc8b-4bc5-4c4a-9e9d-7a9ad27c0866",
    }
    assert (backup.flavor_ram, backup.volume_size, backup.type) == (1024, 2, "InnoBackupEx")
    assert backup.parent_id is None and backup.description == "d"


def test_ha_backup_has_no_instance_id_and_copies_the_ha_instance(store: Store) -> None:
    backup = store.create_backup(ACCOUNT, of_ha())
    assert backup.instance_id is None and backup.source == {"type": "ha", "id": HA}
    assert (backup.flavor_ram, backup.volume_size, backup.datastore["type"]) == (1024, 1, "mysql")


@pytest.mark.parametrize(
    "request_",
    [
        BackupRequest(name="x"),
        BackupRequest(name="x", instance=""),
        BackupRequest(name="x", instance=None, source={"type": "instance", "id": MYSQL}),
        BackupRequest(name="x", instance=MYSQL, source={"type": "ha", "id": HA}),
        BackupRequest(name="x", instance=MYSQL, source={"type": "instance", "id": PERCONA}),
    ],
    ids=[
        "nothing",
        "empty instance",
        "instance source without instance",
        "ha with instance",
        "other instance in source",
    ],
)
def test_create_without_one_clear_target_is_bad_request(
    store: Store, request_: BackupRequest
) -> None:
    with pytest.raises(BadRequest):
        store.create_backup(ACCOUNT, request_)


def test_instance_with_matching_instance_source_is_accepted(store: Store) -> None:
    backup = store.create_backup(ACCOUNT, of_instance(source={"type": "instance", "id": MYSQL}))
    assert backup.instance_id == MYSQL


def test_quota_is_checked_before_the_target_exists(clock: Clock) -> None:
    store = Store(fixture_state(), clock, quota=3)  # the fixture account holds 3 backups
    with pytest.raises(
        OverLimit, match=r"^Quota exceeded for resources: \['backups'\]\.$"
    ) as error:
        store.create_backup(ACCOUNT, of_instance(UNKNOWN))
    assert error.value.retry_after is None


def test_quota_counts_per_account(clock: Clock) -> None:
    store = Store(fixture_state(), clock, quota=3)  # account 1234 is full, "other" is empty
    with pytest.raises(NotFound):  # so "other" passes the quota and fails on the instance
        store.create_backup("other", of_instance(MYSQL))


def test_unknown_instance_or_ha_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound, match=f"Resource {UNKNOWN} cannot be found."):
        store.create_backup(ACCOUNT, of_instance(UNKNOWN))
    with pytest.raises(NotFound):
        store.create_backup(ACCOUNT, BackupRequest(name="x", source={"type": "ha", "id": UNKNOWN}))


def test_instances_of_another_account_are_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.create_backup("5678", of_instance(MYSQL))


def test_instance_that_is_not_active_is_unprocessable(store: Store) -> None:
    with pytest.raises(Unprocessable, match="SHUTDOWN"):
        store.create_backup(ACCOUNT, of_instance(STOPPED))


def test_second_backup_while_one_runs_is_unprocessable(store: Store, clock: Clock) -> None:
    store.create_backup(ACCOUNT, of_instance())
    with pytest.raises(Unprocessable, match="BACKUP"):
        store.create_backup(ACCOUNT, of_instance())
    finish(store, clock)
    assert store.create_backup(ACCOUNT, of_instance()).status == "NEW"


def test_second_ha_backup_while_one_runs_is_unprocessable(store: Store) -> None:
    store.create_backup(ACCOUNT, of_ha())
    with pytest.raises(Unprocessable):
        store.create_backup(ACCOUNT, of_ha())


def test_member_of_an_ha_instance_cannot_be_backed_up_alone(store: Store) -> None:
    with pytest.raises(Unprocessable, match="HA instance"):
        store.create_backup(ACCOUNT, of_instance(HA_SOURCE))


def test_target_checks_come_before_the_parent_check(store: Store) -> None:
    with pytest.raises(Unprocessable):
        store.create_backup(ACCOUNT, of_instance(STOPPED, parent_id=UNKNOWN))
    with pytest.raises(NotFound, match=UNKNOWN):
        store.create_backup(ACCOUNT, of_instance(parent_id=UNKNOWN))


def test_parent_must_be_a_backup_of_this_account(store: Store) -> None:
    with pytest.raises(NotFound):
        store.create_backup("5678", BackupRequest(name="x", instance=MYSQL, parent_id=HA_BACKUP))


def test_parent_id_makes_an_incremental_backup(store: Store) -> None:
    backup = store.create_backup(ACCOUNT, of_ha(parent_id=HA_BACKUP))
    assert (backup.parent_id, backup.type) == (HA_BACKUP, "InnoBackupExIncremental")


def test_incremental_takes_the_newest_completed_backup_of_the_same_source(
    store: Store, clock: Clock
) -> None:
    first = store.create_backup(ACCOUNT, of_ha(incremental=True))
    assert first.parent_id == HA_BACKUP  # the fixture's COMPLETED HA backup
    finish(store, clock)
    second = store.create_backup(ACCOUNT, of_ha(incremental=True))
    assert second.parent_id == first.id


def test_incremental_without_a_completed_backup_is_a_full_backup(store: Store) -> None:
    backup = store.create_backup(ACCOUNT, of_instance(incremental=True))
    assert (backup.parent_id, backup.type) == (None, "InnoBackupEx")


def test_incremental_skips_backups_that_have_not_completed(store: Store, clock: Clock) -> None:
    store.backup_fate = "fail_next"
    failed = store.create_backup(ACCOUNT, of_instance(PERCONA))
    finish(store, clock)
    assert store.get_backup(ACCOUNT, failed.id).status == "FAILED"
    backup = store.create_backup(ACCOUNT, of_instance(PERCONA, incremental=True))
    assert backup.parent_id == PERCONA_BACKUP


# -- lifecycle ----------------------------------------------------------------------------------


def test_backup_moves_new_building_completed_on_the_clock(store: Store, clock: Clock) -> None:
    backup = store.create_backup(ACCOUNT, of_instance())
    clock.advance(0.99)
    assert store.get_backup(ACCOUNT, backup.id).status == "NEW"
    clock.advance(0.01)
    building = store.get_backup(ACCOUNT, backup.id)
    assert building.status == "BUILDING" and building.updated == backup.created + 1
    clock.advance(4)
    done = store.get_backup(ACCOUNT, backup.id)
    assert done.status == "COMPLETED" and done.updated == backup.created + 5
    assert done.size is not None and done.size > 0
    assert done.location_ref is not None
    assert done.location_ref.endswith(f"/z_CLOUDDB_BACKUPS/{backup.id}.xbstream.gz")


def test_zero_durations_complete_at_once(clock: Clock) -> None:
    store = Store(fixture_state(), clock, new_seconds=0, building_seconds=0)
    backup = store.create_backup(ACCOUNT, of_instance())
    assert backup.status == "NEW"  # the create answer, as section 2 says
    assert store.get_backup(ACCOUNT, backup.id).status == "COMPLETED"
    assert store.get_instance(ACCOUNT, MYSQL).status == "ACTIVE"


def test_instance_is_in_backup_while_its_backup_runs(store: Store, clock: Clock) -> None:
    store.create_backup(ACCOUNT, of_instance())
    assert store.get_instance(ACCOUNT, MYSQL).status == "BACKUP"
    clock.advance(2)
    assert store.get_instance(ACCOUNT, MYSQL).status == "BACKUP"
    clock.advance(3)
    assert store.get_instance(ACCOUNT, MYSQL).status == "ACTIVE"


def test_ha_instance_and_the_replica_taken_are_in_backup_while_it_runs(
    store: Store, clock: Clock
) -> None:
    store.create_backup(ACCOUNT, of_ha())
    ha, members = store.get_ha_instance(ACCOUNT, HA)
    statuses = {member.id: member.status for member in members}
    assert ha.state == "BACKUP"
    assert statuses[HA_REPLICA] == "BACKUP" and statuses[HA_SOURCE] == "ACTIVE"
    assert store.list_ha_instances(ACCOUNT)[0].state == "BACKUP"
    finish(store, clock)
    ha, members = store.get_ha_instance(ACCOUNT, HA)
    assert ha.state == "ACTIVE" and {m.status for m in members} == {"ACTIVE"}


def test_fail_next_fails_one_backup_and_fail_all_every_one(store: Store, clock: Clock) -> None:
    store.backup_fate = "fail_next"
    first = store.create_backup(ACCOUNT, of_instance())
    finish(store, clock)
    second = store.create_backup(ACCOUNT, of_instance())
    finish(store, clock)
    assert store.get_backup(ACCOUNT, first.id).status == "FAILED"
    assert store.get_backup(ACCOUNT, first.id).size is None
    assert store.get_backup(ACCOUNT, second.id).status == "COMPLETED"
    store.backup_fate = "fail_all"
    for _ in range(2):
        backup = store.create_backup(ACCOUNT, of_instance())
        finish(store, clock)
        assert store.get_backup(ACCOUNT, backup.id).status == "FAILED"
    assert store.get_instance(ACCOUNT, MYSQL).status == "ACTIVE"


# -- read ---------------------------------------------------------------------------------------


def test_lists_are_newest_first(store: Store, clock: Clock) -> None:
    ids = []
    for instance in (MYSQL, PERCONA):
        ids.append(store.create_backup(ACCOUNT, of_instance(instance)).id)
        clock.advance(1)
    page = store.list_backups(ACCOUNT)
    assert [b.id for b in page.items[:2]] == ids[::-1]
    created = [(b.created, b.id) for b in page.items]
    assert created == sorted(created, reverse=True)


def test_limit_defaults_to_twenty_and_is_cut_to_twenty(clock: Clock) -> None:
    store = Store(seeded(45), clock)
    assert len(store.list_backups(ACCOUNT).items) == 20
    assert len(store.list_backups(ACCOUNT, limit=1000).items) == 20
    assert len(store.list_backups(ACCOUNT, limit=7).items) == 7


@pytest.mark.parametrize("limit", [0, -1])
def test_limit_below_one_is_bad_request(store: Store, limit: int) -> None:
    with pytest.raises(BadRequest):
        store.list_backups(ACCOUNT, limit=limit)


def test_walking_the_pages_returns_every_backup_once(clock: Clock) -> None:
    store = Store(seeded(53), clock)
    seen, marker, pages = [], None, 0
    while True:
        page = store.list_backups(ACCOUNT, limit=10, marker=marker)
        seen += [b.id for b in page.items]
        pages += 1
        if not page.more:
            break
        marker = page.items[-1].id
    assert pages == 6 and len(seen) == len(set(seen)) == 57  # 53 seeded + the fixture's 4


def test_last_page_says_no_more(store: Store) -> None:
    page = store.list_backups(ACCOUNT, limit=4)  # the fixture's four backups
    assert len(page.items) == 4 and not page.more
    assert store.list_backups(ACCOUNT, limit=3).more


def test_unknown_marker_is_bad_request(store: Store) -> None:
    with pytest.raises(BadRequest, match="marker"):
        store.list_backups(ACCOUNT, marker=UNKNOWN)


def test_datastore_filters_by_type_and_unknown_type_is_not_found(store: Store) -> None:
    assert [b.id for b in store.list_backups(ACCOUNT, datastore="percona").items] == [
        PERCONA_BACKUP
    ]
    assert store.list_backups(ACCOUNT, datastore="mariadb").items == []
    with pytest.raises(NotFound):
        store.list_backups(ACCOUNT, datastore="oracle")


@pytest.mark.parametrize("listed_first", [True, False])
def test_a_datastore_list_holds_the_backups_made_and_not_those_deleted(
    store: Store, clock: Clock, listed_first: bool
) -> None:
    # The datastore index is built by the first list that asks, then kept up by every change.
    def mysql_ids() -> list[str]:
        return [b.id for b in store.list_backups(ACCOUNT, datastore="mysql", limit=100).items]

    before = mysql_ids() if listed_first else None
    made = store.create_backup(ACCOUNT, of_instance())
    clock.advance(60)  # completed, so that it can be deleted
    after = mysql_ids()
    assert after[0] == made.id and made.id not in (before or [])
    store.delete_backup(ACCOUNT, made.id)
    assert made.id not in mysql_ids()
    assert [b.id for b in store.list_backups(ACCOUNT, datastore="percona").items] == [
        PERCONA_BACKUP
    ]


@pytest.mark.parametrize("listed_first", [True, False])
def test_an_instance_list_holds_the_backups_made_and_not_those_deleted(
    store: Store, clock: Clock, listed_first: bool
) -> None:
    # A source's index is built by the first request that asks, then kept up by every change.
    def of_mysql() -> list[str]:
        return [b.id for b in store.list_backups(ACCOUNT, instance_id=MYSQL, limit=100).items]

    before = of_mysql() if listed_first else []
    made = store.create_backup(ACCOUNT, of_instance())
    clock.advance(60)  # completed, so that it can be deleted
    other = store.create_backup(ACCOUNT, of_instance(PERCONA))
    assert of_mysql() == [made.id, *before]
    clock.advance(60)
    store.delete_backup(ACCOUNT, made.id)
    assert of_mysql() == before
    assert store.list_backups(ACCOUNT, instance_id=PERCONA).items[0].id == other.id


def test_per_instance_and_per_ha_lists_hold_only_their_backups(store: Store) -> None:
    mine = store.create_backup(ACCOUNT, of_instance())
    ha = store.create_backup(ACCOUNT, of_ha())
    assert [b.id for b in store.list_backups(ACCOUNT, instance_id=MYSQL).items] == [mine.id]
    assert [b.id for b in store.list_backups(ACCOUNT, ha_id=HA).items] == [ha.id, HA_BACKUP]
    with pytest.raises(NotFound):
        store.list_backups(ACCOUNT, instance_id=UNKNOWN)
    with pytest.raises(NotFound):
        store.list_backups(ACCOUNT, ha_id=MYSQL)


def test_show_of_an_unknown_or_foreign_id_is_not_found(store: Store) -> None:
    for account, backup_id in ((ACCOUNT, UNKNOWN), (ACCOUNT, "not-a-uuid"), ("5678", HA_BACKUP)):
        with pytest.raises(NotFound, match=f"Resource {backup_id} cannot be found."):
            store.get_backup(account, backup_id)


def test_accounts_need_no_creation(store: Store) -> None:
    assert store.list_backups("new-account").items == []
    assert store.list_instances("new-account", None, None).items == []


def test_instances_are_paged_by_id(store: Store) -> None:
    first = store.list_instances(ACCOUNT, 4, None)
    rest = store.list_instances(ACCOUNT, 4, first.items[-1].id)
    ids = [i.id for i in first.items + rest.items]
    assert first.more and not rest.more and ids == sorted(ids) and len(ids) == 8


# -- delete -------------------------------------------------------------------------------------


def test_delete_removes_the_backup_and_every_descendant(store: Store, clock: Clock) -> None:
    child = store.create_backup(ACCOUNT, of_ha(parent_id=HA_BACKUP))
    finish(store, clock)
    grandchild = store.create_backup(ACCOUNT, of_ha(parent_id=child.id))
    finish(store, clock)
    other = store.create_backup(ACCOUNT, of_instance())
    finish(store, clock)
    deleted = store.delete_backup(ACCOUNT, HA_BACKUP)
    assert set(deleted) == {HA_BACKUP, child.id, grandchild.id}
    remaining = {b.id for b in store.list_backups(ACCOUNT).items}
    assert remaining.isdisjoint(deleted) and other.id in remaining
    for backup_id in deleted:
        with pytest.raises(NotFound):
            store.get_backup(ACCOUNT, backup_id)


def test_delete_of_a_chain_with_a_running_backup_removes_nothing(
    store: Store, clock: Clock
) -> None:
    child = store.create_backup(ACCOUNT, of_ha(parent_id=HA_BACKUP))
    before = store.snapshot()
    with pytest.raises(Unprocessable, match=child.id):
        store.delete_backup(ACCOUNT, HA_BACKUP)
    with pytest.raises(Unprocessable):
        store.delete_backup(ACCOUNT, child.id)
    assert store.snapshot() == before
    finish(store, clock)
    assert set(store.delete_backup(ACCOUNT, HA_BACKUP)) == {HA_BACKUP, child.id}


def test_delete_frees_quota(clock: Clock) -> None:
    store = Store(fixture_state(), clock, quota=4, new_seconds=0, building_seconds=0)
    store.delete_backup(ACCOUNT, PERCONA_BACKUP)
    assert store.create_backup(ACCOUNT, of_instance()).status == "NEW"


def test_delete_of_an_unknown_id_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.delete_backup(ACCOUNT, UNKNOWN)


# -- the state document -------------------------------------------------------------------------


def test_snapshot_then_replace_changes_nothing(store: Store, clock: Clock) -> None:
    store.create_backup(ACCOUNT, of_ha())  # a running backup, with its lifecycle
    before = store.snapshot()
    store.replace(copy.deepcopy(before))
    assert store.snapshot() == before
    finish(store, clock)
    assert store.get_ha_instance(ACCOUNT, HA)[0].state == "ACTIVE"


@pytest.mark.parametrize(
    "breakage",
    [
        lambda s: s["accounts"][ACCOUNT]["backups"].append(s["accounts"][ACCOUNT]["backups"][0]),
        lambda s: s["accounts"][ACCOUNT]["backups"][0].update(parent_id=UNKNOWN),
        lambda s: s["accounts"][ACCOUNT]["backups"][0].update(created="yesterday"),
        lambda s: s["accounts"][ACCOUNT]["backups"][0].update(status="NEW"),
        lambda s: s["accounts"][ACCOUNT]["instances"][0].pop("volume"),
    ],
    ids=[
        "duplicate id",
        "unknown parent",
        "bad timestamp",
        "running without lifecycle",
        "instance without volume",
    ],
)
def test_invalid_state_document_is_refused_and_changes_nothing(store: Store, breakage: Any) -> None:
    before = store.snapshot()
    document = copy.deepcopy(before)
    breakage(document)
    with pytest.raises(BadRequest, match="Invalid state document"):
        store.replace(document)
    assert store.snapshot() == before


def test_revision_moves_on_every_change(store: Store) -> None:
    start = store.revision
    store.create_backup(ACCOUNT, of_instance())
    assert store.revision > start


def seeded(count: int) -> dict[str, Any]:
    """The fixture state with `count` more COMPLETED backups of one instance, a second apart."""
    document = fixture_state()
    template = document["accounts"][ACCOUNT]["backups"][1]
    for number in range(count):
        backup = copy.deepcopy(template)
        backup["id"] = f"00000000-0000-4000-8000-{number:012d}"
        backup["created"] = backup["updated"] = (
            f"2020-01-01T00:{number // 60:02d}:{number % 60:02d}Z"
        )
        backup["locationRef"] = backup["locationRef"].replace(template["id"], backup["id"])
        document["accounts"][ACCOUNT]["backups"].append(backup)
    return document
