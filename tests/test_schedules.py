"""Scheduled backups in the store (contract section 10): checks, runs on the clock, retention."""

from __future__ import annotations

import calendar
import json
import time
from typing import Any

import pytest
from fixture_ids import HA, LEGACY, MYSQL, PERCONA, SCHEDULABLE, SHUTDOWN
from support import FIXTURES

from mockserver.state.clock import Clock, timestamp
from mockserver.state.errors import BadRequest, NotFound, OverLimit, Unprocessable
from mockserver.state.models import BackupRequest, Schedule, ScheduleChange, ScheduleRequest
from mockserver.state.store import Store

ACCOUNT = "1234"
HA_MEMBER = "9e63f30a-a29a-407c-9eeb-af071ae86404"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
DAY = 86_400
FULL, INCREMENTAL = "InnoBackupEx", "InnoBackupExIncremental"
# Wednesday 2026-12-02 10:00:00 UTC: the clock of every test starts here.
START = calendar.timegm((2026, 12, 2, 10, 0, 0))


def at(text: str) -> int:
    """Epoch seconds of `YYYY-MM-DD HH:MM` UTC."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M"))


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen=True, source=lambda: float(START))


def new_store(clock: Clock, **options: Any) -> Store:
    state = json.loads((FIXTURES / "state.json").read_text())
    settings: dict[str, Any] = {"quota": 50, "new_seconds": 1, "building_seconds": 4} | options
    return Store(state, clock, **settings)


@pytest.fixture
def store(clock: Clock) -> Store:
    return new_store(clock)


def request(**fields: Any) -> ScheduleRequest:
    defaults: dict[str, Any] = {"day_of_week": 0, "hour": 14, "minute": 30}
    if "source_id" not in fields:
        defaults["instance_id"] = SCHEDULABLE
    return ScheduleRequest(**(defaults | fields))


def automated(store: Store, source: str = SCHEDULABLE) -> list[Any]:
    """The backups the schedules made of `source`, oldest first."""
    backups = store.list_backups(ACCOUNT, limit=20).items
    return sorted((b for b in backups if b.is_automated and b.source["id"] == source), key=_key)


def _key(backup: Any) -> tuple[int, str]:
    return backup.created, backup.id


def move_to(clock: Clock, moment: float) -> None:
    clock.advance(moment - clock.now())


# -- create ------------------------------------------------------------------------------------


def test_a_new_schedule_shows_what_was_asked_and_runs_first_on_the_next_day_of_week(
    store: Store,
) -> None:
    schedule = store.create_schedule(ACCOUNT, request())
    assert (schedule.source, schedule.day_of_week, schedule.hour, schedule.minute) == (
        {"type": "instance", "id": SCHEDULABLE},
        0,
        14,
        30,
    )
    assert (schedule.full_backup_retention, schedule.copy_to) == (2, [])
    assert (schedule.running, schedule.last_scheduled) == (False, None)
    assert schedule.created == schedule.updated == START
    assert schedule.next_run == at("2026-12-06 14:30")  # the Sunday after Wednesday 2 December


@pytest.mark.parametrize(
    ("day_of_week", "hour", "minute", "first_run"),
    [
        (3, 11, 0, "2026-12-02 11:00"),  # later today, a Wednesday
        (3, 10, 0, "2026-12-09 10:00"),  # now exactly: next week
        (3, 9, 59, "2026-12-09 09:59"),
        (4, 0, 0, "2026-12-03 00:00"),
        (2, 23, 59, "2026-12-08 23:59"),
        (7, 9, 0, "2026-12-03 09:00"),  # every day: the next 09:00
        (7, 10, 1, "2026-12-02 10:01"),
    ],
)
def test_the_first_run_is_the_next_hour_and_minute_on_day_of_week(
    store: Store, day_of_week: int, hour: int, minute: int, first_run: str
) -> None:
    asked = request(day_of_week=day_of_week, hour=hour, minute=minute)
    assert store.create_schedule(ACCOUNT, asked).next_run == at(first_run)


@pytest.mark.parametrize(
    ("fields", "source"),
    [
        ({"instance_id": SCHEDULABLE}, {"type": "instance", "id": SCHEDULABLE}),
        ({"instance_id": None, "source_id": SCHEDULABLE}, {"type": "instance", "id": SCHEDULABLE}),
        ({"instance_id": None, "source_id": HA, "source_type": "ha"}, {"type": "ha", "id": HA}),
        (
            {"instance_id": SCHEDULABLE, "source_id": SCHEDULABLE},
            {"type": "instance", "id": SCHEDULABLE},
        ),
    ],
    ids=["instance_id", "source_id", "HA source", "both, the same"],
)
def test_the_target_is_instance_id_or_source_id(
    store: Store, fields: dict[str, Any], source: dict[str, str]
) -> None:
    assert store.create_schedule(ACCOUNT, request(**fields)).source == source


@pytest.mark.parametrize(
    "fields",
    [
        {"instance_id": None},
        {"instance_id": ""},
        {"instance_id": SCHEDULABLE, "source_id": MYSQL},
        {"instance_id": SCHEDULABLE, "source_id": HA, "source_type": "ha"},
        {"copy_to": ["LON"]},
        {"copy_to": ["IAD", "DFW"]},
    ],
    ids=["no target", "empty target", "two instances", "instance and HA", "to LON", "to itself"],
)
def test_a_create_without_one_target_or_copying_to_lon_or_itself_is_a_bad_request(
    store: Store, fields: dict[str, Any]
) -> None:
    with pytest.raises(BadRequest):
        store.create_schedule(ACCOUNT, request(**fields))
    assert store.list_schedules(ACCOUNT, None, None).items == []


def test_copy_to_names_other_regions_in_the_order_given(store: Store) -> None:
    schedule = store.create_schedule(ACCOUNT, request(copy_to=["ORD", "IAD"]))
    assert schedule.copy_to == ["ORD", "IAD"]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"instance_id": UNKNOWN}, NotFound),
        ({"instance_id": None, "source_id": UNKNOWN, "source_type": "ha"}, NotFound),
        ({"instance_id": None, "source_id": MYSQL, "source_type": "ha"}, NotFound),
        ({"instance_id": LEGACY}, Unprocessable),  # mysql 5.5
        ({"instance_id": HA_MEMBER}, Unprocessable),
    ],
    ids=["unknown instance", "unknown HA", "instance as HA", "mysql 5.5", "HA member"],
)
def test_a_target_the_account_lacks_is_not_found_and_one_on_an_unsupported_datastore_is_422(
    store: Store, fields: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        store.create_schedule(ACCOUNT, request(**fields))


@pytest.mark.parametrize("target", [MYSQL, PERCONA, SHUTDOWN], ids=["mysql", "percona", "mariadb"])
def test_mysql_and_percona_5_6_and_mariadb_10_can_be_scheduled(store: Store, target: str) -> None:
    assert store.create_schedule(ACCOUNT, request(instance_id=target)).source["id"] == target


def test_a_target_has_one_schedule(store: Store) -> None:
    store.create_schedule(ACCOUNT, request())
    with pytest.raises(Unprocessable, match="one schedule per target"):
        store.create_schedule(ACCOUNT, request(hour=3))
    assert len(store.list_schedules(ACCOUNT, None, None).items) == 1


def test_another_accounts_instance_cannot_be_scheduled(store: Store) -> None:
    with pytest.raises(NotFound):
        store.create_schedule("5678", request())


def test_the_checks_come_in_the_contracts_order(clock: Clock) -> None:
    store = new_store(clock, region="SYD")
    with pytest.raises(BadRequest):  # 400 before 404
        store.create_schedule(ACCOUNT, request(instance_id=UNKNOWN, copy_to=["LON"]))
    with pytest.raises(NotFound):  # 404 before 422
        store.create_schedule(ACCOUNT, request(instance_id=UNKNOWN))
    with pytest.raises(Unprocessable, match="datastore"):  # the datastore before the region
        store.create_schedule(ACCOUNT, request(instance_id=LEGACY))


@pytest.mark.parametrize("region", ["SYD", "HKG"])
def test_there_are_no_scheduled_backups_in_sydney_and_hong_kong(clock: Clock, region: str) -> None:
    with pytest.raises(Unprocessable, match=region):
        new_store(clock, region=region).create_schedule(ACCOUNT, request())


def test_copy_to_may_name_dfw_when_the_mock_is_another_region(clock: Clock) -> None:
    store = new_store(clock, region="IAD")
    assert store.create_schedule(ACCOUNT, request(copy_to=["DFW"])).copy_to == ["DFW"]
    with pytest.raises(BadRequest):
        store.create_schedule(ACCOUNT, request(instance_id=MYSQL, copy_to=["IAD"]))


# -- runs on the clock -------------------------------------------------------------------------


def test_a_run_that_falls_due_makes_a_full_backup_at_its_own_time(
    store: Store, clock: Clock
) -> None:
    schedule = store.create_schedule(ACCOUNT, request())
    move_to(clock, schedule.next_run + 2)  # the run's backup is BUILDING by now
    (backup,) = automated(store)
    assert (backup.created, backup.status, backup.type) == (schedule.next_run, "BUILDING", FULL)
    assert backup.name == "scheduled-2026-12-06T14:30Z"
    assert backup.description == f"Made by schedule {schedule.id}."
    assert (backup.is_automated, backup.parent_id, backup.instance_id) == (True, None, SCHEDULABLE)
    assert backup.datastore["version"] == "5.6"
    shown = store.get_schedule(ACCOUNT, schedule.id)
    assert (shown.running, shown.last_scheduled) == (True, schedule.next_run)
    assert shown.next_run == at("2026-12-07 14:30")  # then daily
    assert store.get_instance(ACCOUNT, SCHEDULABLE).status == "BACKUP"
    clock.advance(3)
    assert store.get_schedule(ACCOUNT, schedule.id).running is False
    assert store.get_instance(ACCOUNT, SCHEDULABLE).status == "ACTIVE"


def test_two_weeks_make_a_weekly_full_backup_daily_incrementals_and_keep_two_fulls(
    store: Store, clock: Clock
) -> None:
    schedule = store.create_schedule(ACCOUNT, request(day_of_week=0, hour=2, minute=0))
    assert schedule.next_run == at("2026-12-06 02:00")
    made: list[Any] = []  # every backup made, in order, as it was when made
    for day in range(6, 27):  # Sunday 6 December to Saturday 26 December
        move_to(clock, at(f"2026-12-{day:02d} 12:00"))
        current = store.get_schedule(ACCOUNT, schedule.id)
        assert current.next_run == at(f"2026-12-{day:02d} 02:00") + DAY, day
        assert current.last_scheduled == at(f"2026-12-{day:02d} 02:00"), day
        backups = automated(store)
        new = [b for b in backups if b.id not in {m.id for m in made}]
        assert len(new) == 1, day
        (backup,) = new
        sunday = day in (6, 13, 20)
        assert backup.type == (FULL if sunday else INCREMENTAL), day
        assert backup.parent_id == (None if sunday else made[-1].id), day
        assert backup.is_automated and backup.status == "COMPLETED"
        made.append(backup)
        # Retention: the two newest full backups and their incrementals; the third full's
        # completion (20 December) deleted the first week's chain.
        kept = made[made.index(next(b for b in made if b.type == FULL)) :]
        fulls = [b for b in made if b.type == FULL]
        if len(fulls) > 2:
            kept = made[made.index(fulls[-2]) :]
        assert [b.id for b in backups] == [b.id for b in kept], day


def test_moving_the_clock_eight_days_at_once_makes_eight_runs_each_at_its_time(
    store: Store, clock: Clock
) -> None:
    schedule = store.create_schedule(ACCOUNT, request(day_of_week=7, hour=10, minute=30))
    clock.advance(8 * DAY)
    backups = automated(store)
    # Every day a full backup; retention keeps the newest two.
    assert [b.created for b in backups] == [at("2026-12-08 10:30"), at("2026-12-09 10:30")]
    assert all(b.type == FULL for b in backups)
    assert store.get_schedule(ACCOUNT, schedule.id).next_run == at("2026-12-10 10:30")


def test_a_year_of_runs_is_made_when_the_clock_moves_a_year(store: Store, clock: Clock) -> None:
    schedule = store.create_schedule(ACCOUNT, request(day_of_week=0, hour=0, minute=0))
    clock.advance(365 * DAY)
    current = store.get_schedule(ACCOUNT, schedule.id)
    assert current.last_scheduled == at("2027-12-02 00:00")  # a Thursday: yesterday's run
    assert len(automated(store)) <= 2 * 7 + 1  # two weeks of chains at most


def test_a_run_on_a_busy_instance_is_skipped_and_the_next_day_makes_the_first_full(
    store: Store, clock: Clock
) -> None:
    schedule = store.create_schedule(ACCOUNT, request(day_of_week=0, hour=14, minute=30))
    move_to(clock, schedule.next_run - 2)
    store.create_backup(ACCOUNT, BackupRequest(name="by hand", instance=SCHEDULABLE))
    move_to(clock, schedule.next_run + 60)
    skipped = store.get_schedule(ACCOUNT, schedule.id)
    assert automated(store) == [] and skipped.last_scheduled is None
    assert skipped.next_run == at("2026-12-07 14:30")
    move_to(clock, at("2026-12-07 15:00"))
    (backup,) = automated(store)
    assert (backup.created, backup.type) == (at("2026-12-07 14:30"), FULL)  # a Monday


def test_a_run_on_an_instance_that_is_not_active_makes_nothing(store: Store, clock: Clock) -> None:
    schedule = store.create_schedule(ACCOUNT, request(instance_id=SHUTDOWN, day_of_week=7))
    clock.advance(3 * DAY)
    shown = store.get_schedule(ACCOUNT, schedule.id)
    assert automated(store, SHUTDOWN) == [] and shown.last_scheduled is None
    assert shown.next_run == at("2026-12-05 14:30")


def test_a_run_at_the_quota_makes_nothing(clock: Clock) -> None:
    store = new_store(clock, quota=3)  # the fixture's three backups fill it
    schedule = store.create_schedule(ACCOUNT, request(day_of_week=7))
    clock.advance(DAY)
    assert automated(store) == []
    assert store.get_schedule(ACCOUNT, schedule.id).last_scheduled is None


def test_an_incremental_run_builds_on_the_newest_completed_backup_of_its_schedule(
    store: Store, clock: Clock
) -> None:
    schedule = store.create_schedule(ACCOUNT, request(day_of_week=0, hour=1, minute=0))
    move_to(clock, at("2026-12-06 12:00"))  # the Sunday full
    # A backup by hand of the same instance, newer, is not the schedule's: not the parent.
    store.create_backup(ACCOUNT, BackupRequest(name="by hand", instance=SCHEDULABLE))
    store.backup_fate = "fail_next"
    move_to(clock, at("2026-12-07 12:00"))  # Monday's incremental ends FAILED
    move_to(clock, at("2026-12-08 12:00"))
    sunday, monday, tuesday = automated(store)
    assert monday.status == "FAILED" and monday.parent_id == sunday.id
    assert tuesday.parent_id == sunday.id  # the newest COMPLETED one of the schedule
    assert schedule.id in (tuesday.description or "")


def test_with_no_completed_backup_left_a_run_makes_a_full_one(store: Store, clock: Clock) -> None:
    store.create_schedule(ACCOUNT, request(day_of_week=0, hour=1, minute=0))
    store.backup_fate = "fail_all"
    move_to(clock, at("2026-12-07 12:00"))  # Sunday's full and Monday's run both end FAILED
    assert [b.type for b in automated(store)] == [FULL, FULL]


def test_an_ha_schedule_backs_up_the_ha_instance(store: Store, clock: Clock) -> None:
    schedule = store.create_schedule(
        ACCOUNT, request(instance_id=None, source_id=HA, source_type="ha")
    )
    move_to(clock, schedule.next_run + 1)
    (backup,) = automated(store, HA)
    assert (backup.source, backup.instance_id) == ({"type": "ha", "id": HA}, None)
    assert store.get_ha_instance(ACCOUNT, HA)[0].state == "BACKUP"


# -- retention ---------------------------------------------------------------------------------


def test_retention_keeps_a_full_backup_with_an_incremental_made_through_the_api(
    store: Store, clock: Clock
) -> None:
    schedule = store.create_schedule(ACCOUNT, request(day_of_week=7, hour=1, minute=0))
    move_to(clock, at("2026-12-03 12:00"))
    (first,) = automated(store)
    mine = store.create_backup(
        ACCOUNT, BackupRequest(name="mine", instance=SCHEDULABLE, parent_id=first.id)
    )
    move_to(clock, at("2026-12-06 12:00"))  # three more fulls
    kept = [b.id for b in automated(store)]
    assert first.id in kept and len(kept) == 3  # the first, and the newest two
    assert store.get_backup(ACCOUNT, mine.id).status == "COMPLETED"
    assert schedule.full_backup_retention == 2


def test_retention_keeps_a_chain_that_runs_until_a_later_completion(
    store: Store, clock: Clock
) -> None:
    store.create_schedule(
        ACCOUNT, request(day_of_week=7, hour=1, minute=0, full_backup_retention=1)
    )
    move_to(clock, at("2026-12-03 12:00"))
    (first,) = automated(store)
    # Through the state document (the API cannot run two backups of one instance at once): an
    # incremental of the schedule, of the first full, still BUILDING when the next full ends.
    document = store.snapshot()
    child = dict(document["accounts"][ACCOUNT]["backups"][0], id=UNKNOWN, parent_id=first.id)
    ends = at("2026-12-04 01:00") + 10
    child.update(
        status="BUILDING",
        type=INCREMENTAL,
        locationRef=None,
        size=None,
        lifecycle={"building_at": START, "ends_at": ends, "ends": "COMPLETED", "busy": []},
    )
    document["accounts"][ACCOUNT]["backups"].insert(0, child)
    store.replace(document)
    move_to(clock, at("2026-12-04 12:00"))  # the second full ended while the chain ran
    assert first.id in [b.id for b in automated(store)]
    move_to(clock, at("2026-12-05 12:00"))  # the third one's end deletes both older chains
    assert [b.type for b in automated(store)] == [FULL]
    assert UNKNOWN not in [b.id for b in automated(store)]


def test_a_larger_retention_keeps_more_fulls(store: Store, clock: Clock) -> None:
    store.create_schedule(
        ACCOUNT, request(day_of_week=7, hour=1, minute=0, full_backup_retention=3)
    )
    move_to(clock, at("2026-12-08 12:00"))
    assert len(automated(store)) == 3


# -- update, run_now, delete -------------------------------------------------------------------


def test_an_update_changes_what_it_names_and_recomputes_next_run(
    store: Store, clock: Clock
) -> None:
    schedule = store.create_schedule(ACCOUNT, request())
    clock.advance(60)
    updated = store.update_schedule(ACCOUNT, schedule.id, ScheduleChange(day_of_week=3, hour=11))
    assert (updated.day_of_week, updated.hour, updated.minute) == (3, 11, 30)
    assert updated.next_run == at("2026-12-02 11:30")
    assert updated.updated == START + 60 and updated.created == START
    assert store.get_schedule(ACCOUNT, schedule.id).next_run == updated.next_run


def test_an_update_after_the_first_full_runs_daily(store: Store, clock: Clock) -> None:
    schedule = store.create_schedule(ACCOUNT, request(day_of_week=0, hour=2, minute=0))
    move_to(clock, at("2026-12-06 12:00"))
    updated = store.update_schedule(ACCOUNT, schedule.id, ScheduleChange(hour=13))
    assert updated.next_run == at("2026-12-06 13:00")


def test_run_now_makes_a_backup_at_once(store: Store, clock: Clock) -> None:
    schedule = store.create_schedule(ACCOUNT, request())
    updated = store.update_schedule(ACCOUNT, schedule.id, ScheduleChange(run_now=True))
    (backup,) = automated(store)
    assert (backup.created, backup.type, backup.status) == (START, FULL, "NEW")
    assert (updated.last_scheduled, updated.running) == (START, True)
    assert updated.next_run == at("2026-12-02 14:30")  # daily, now the first full is made


def test_run_now_on_a_busy_target_is_422_and_changes_nothing(store: Store) -> None:
    schedule = store.create_schedule(ACCOUNT, request())
    store.create_backup(ACCOUNT, BackupRequest(name="by hand", instance=SCHEDULABLE))
    with pytest.raises(Unprocessable):
        store.update_schedule(ACCOUNT, schedule.id, ScheduleChange(hour=3, run_now=True))
    assert store.get_schedule(ACCOUNT, schedule.id) == schedule


def test_run_now_at_the_quota_is_413(clock: Clock) -> None:
    store = new_store(clock, quota=3)
    schedule = store.create_schedule(ACCOUNT, request())
    with pytest.raises(OverLimit, match="Quota exceeded"):
        store.update_schedule(ACCOUNT, schedule.id, ScheduleChange(run_now=True))


def test_run_now_false_runs_nothing(store: Store) -> None:
    schedule = store.create_schedule(ACCOUNT, request())
    store.update_schedule(ACCOUNT, schedule.id, ScheduleChange(run_now=False))
    assert automated(store) == []


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (ScheduleChange(), BadRequest),
        (ScheduleChange(copy_to=["LON"]), BadRequest),
        (ScheduleChange(copy_to=["DFW"]), BadRequest),
    ],
    ids=["nothing", "copy to LON", "copy to itself"],
)
def test_an_update_of_nothing_or_copying_to_lon_or_itself_is_a_bad_request(
    store: Store, change: ScheduleChange, error: type[Exception]
) -> None:
    schedule = store.create_schedule(ACCOUNT, request())
    with pytest.raises(error):
        store.update_schedule(ACCOUNT, schedule.id, change)
    assert store.get_schedule(ACCOUNT, schedule.id) == schedule


def test_an_unknown_schedule_is_not_found(store: Store) -> None:
    for act in (
        lambda: store.get_schedule(ACCOUNT, UNKNOWN),
        lambda: store.update_schedule(ACCOUNT, UNKNOWN, ScheduleChange(hour=1)),
        lambda: store.delete_schedule(ACCOUNT, UNKNOWN),
        lambda: store.get_schedule(ACCOUNT, "not-a-uuid"),
    ):
        with pytest.raises(NotFound, match="cannot be found"):
            act()


def test_a_deleted_schedule_leaves_its_backups_and_retention_stops(
    store: Store, clock: Clock
) -> None:
    schedule = store.create_schedule(ACCOUNT, request(day_of_week=7, hour=1, minute=0))
    move_to(clock, at("2026-12-04 12:00"))
    made = [b.id for b in automated(store)]
    store.delete_schedule(ACCOUNT, schedule.id)
    with pytest.raises(NotFound):
        store.get_schedule(ACCOUNT, schedule.id)
    store.create_schedule(ACCOUNT, request(day_of_week=7, hour=1, minute=0))  # a new one
    move_to(clock, at("2026-12-08 12:00"))
    assert set(made) <= {b.id for b in automated(store)}  # the old schedule's fulls all stay


# -- lists and the state document -------------------------------------------------------------


def test_schedules_are_listed_newest_first_a_page_at_a_time(store: Store, clock: Clock) -> None:
    made = []
    for target in (SCHEDULABLE, MYSQL, PERCONA, SHUTDOWN):
        made.append(store.create_schedule(ACCOUNT, request(instance_id=target)).id)
        clock.advance(1)
    first = store.list_schedules(ACCOUNT, 3, None)
    rest = store.list_schedules(ACCOUNT, 3, first.items[-1].id)
    assert [s.id for s in first.items + rest.items] == made[::-1]
    assert first.more and not rest.more
    with pytest.raises(BadRequest):
        store.list_schedules(ACCOUNT, None, UNKNOWN)
    with pytest.raises(BadRequest):
        store.list_schedules(ACCOUNT, 0, None)


def test_the_state_document_carries_schedules_and_a_round_trip_changes_nothing(
    store: Store, clock: Clock
) -> None:
    schedule = store.create_schedule(ACCOUNT, request(copy_to=["IAD"]))
    move_to(clock, schedule.next_run + 1)
    snapshot = store.snapshot()
    (document,) = snapshot["accounts"][ACCOUNT]["schedules"]
    assert document["id"] == schedule.id and document["running"] is True
    assert document["next_run"] == timestamp(schedule.next_run + DAY)
    running = [b for b in snapshot["accounts"][ACCOUNT]["backups"] if b.get("schedule_id")]
    assert [b["lifecycle"]["ends_at"] for b in running] == [schedule.next_run + 5]
    store.replace(snapshot)
    assert store.snapshot() == snapshot
    clock.advance(DAY)  # the loaded schedule runs on, and the loaded backup is its parent
    newest = automated(store)[-1]
    assert newest.type == INCREMENTAL and newest.parent_id == running[0]["id"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": {"type": "instance", "id": UNKNOWN}}, "which the account does not have"),
        ({"source": {"type": "vm", "id": SCHEDULABLE}}, "source type"),
        ({"hour": 24}, "hour"),
        ({"full_backup_retention": 0}, "full_backup_retention"),
    ],
)
def test_a_state_document_with_a_wrong_schedule_is_refused_and_changes_nothing(
    store: Store, change: dict[str, Any], message: str
) -> None:
    schedule = store.create_schedule(ACCOUNT, request())
    snapshot = store.snapshot()
    document = json.loads(json.dumps(snapshot))
    document["accounts"][ACCOUNT]["schedules"][0].update(change)
    with pytest.raises(BadRequest, match=message):
        store.replace(document)
    assert store.get_schedule(ACCOUNT, schedule.id).source["id"] == SCHEDULABLE


def test_a_state_document_with_two_schedules_of_one_target_is_refused(store: Store) -> None:
    store.create_schedule(ACCOUNT, request())
    document = store.snapshot()
    twin = dict(document["accounts"][ACCOUNT]["schedules"][0], id=UNKNOWN)
    document["accounts"][ACCOUNT]["schedules"].append(twin)
    with pytest.raises(BadRequest, match="two schedules"):
        store.replace(document)


def test_a_view_is_a_copy(store: Store) -> None:
    schedule = store.create_schedule(ACCOUNT, request())
    schedule.copy_to.append("IAD")
    assert isinstance(schedule, Schedule)
    assert store.get_schedule(ACCOUNT, schedule.id).copy_to == []
