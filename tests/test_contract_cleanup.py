"""Cleanup deletes every backup the run created, children before parents, waits for those
still running (at most its timeout, then names what it left and how to delete it), does not take
a 202 for an answer until show agrees, and touches nothing else; it deletes the run's schedules
first, then the backups they made, and leaves other schedules and their backups alone; it deletes
the instances the run restored once they are built (on a mock by moving its clock), also one
whose create answer was lost, never another, and names one it cannot delete with the command
that deletes it; it deletes the copies the run made in other regions (those whose finding a stop
cut off, those of its schedules' backups) once they have ended, and names one it cannot delete
with the command that deletes it in its region."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import broken_mocks
import broken_wrapper
import fixture_ids
import httpx
import pytest

from contract_tests import copying, restoring, scheduling
from contract_tests.api import Api
from contract_tests.cleanup import CleanupReport, clean_up, delete_command
from contract_tests.contract import Contract
from contract_tests.inventory import Inventory
from contract_tests.ledger import Ledger
from contract_tests.regions import Region
from contract_tests.report import render
from contract_tests.run import Run
from contract_tests.settings import Settings as RunSettings
from contract_tests.source import Source
from contract_tests.target import Target
from contract_tests.timeline import Control, Timeline
from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.plugin.threaded import ThreadedServer

INSTANCE = fixture_ids.MYSQL
HA = fixture_ids.HA
DAY = 86_400
AT = {"day_of_week": 7, "hour": 12, "minute": 0}  # a full backup every day at noon


def backups_in(mock: Mock) -> set[str]:
    return {b["id"] for b in mock.store.snapshot()["accounts"]["1234"]["backups"]}


def schedules_in(mock: Mock) -> set[str]:
    return {s["id"] for s in mock.store.snapshot()["accounts"]["1234"].get("schedules", [])}


def instances_in(mock: Mock) -> set[str]:
    return {i["id"] for i in mock.store.snapshot()["accounts"]["1234"]["instances"]}


def schedule_around_the_api(url: str, **target: str) -> str:
    """A schedule the run's Api did not see created (another client's, or one whose answer the
    run never got)."""
    body = {"schedule": {"action": "backup", **AT, **target}}
    answer = httpx.post(
        f"{url}/v1.0/1234/schedules", json=body, headers={"X-Auth-Token": broken_mocks.TOKEN}
    )
    assert answer.status_code == 202, answer.text
    schedule_id: str = answer.json()["schedule"]["id"]
    return schedule_id


def api_on(url: str, http: httpx.Client) -> Api:
    target = Target(f"{url}/v1.0/1234", broken_mocks.TOKEN, INSTANCE, HA, restores=True)
    return Api(
        target,
        http,
        contract=Contract.load(),
        ledger=Ledger(),
        inventory=Inventory(),
        timeline=Timeline(Control.detect(http, target.root), timeout=600),
    )


@pytest.fixture(params=["true-mock", "running-backup-delete-accepted"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Mock, Api]]:
    """A mock, or one that answers 202 to deleting a running backup and deletes nothing."""
    mock = broken_mocks.true_mock()
    app = mock if request.param == "true-mock" else broken_mocks.VARIANTS[request.param](mock)
    with ThreadedServer(app) as server, httpx.Client() as http:
        yield mock, api_on(server.url, http)


def test_cleanup_deletes_the_runs_running_backups_and_nothing_else(
    served: tuple[Mock, Api],
) -> None:
    mock, api = served
    before = backups_in(mock)
    full = api.create(instance=INSTANCE).document("backup")["id"]
    ha = api.create(ha=HA).document("backup")["id"]  # both still NEW: the clock is frozen
    report = CleanupReport()
    clean_up(api, report, timeout=600)
    assert backups_in(mock) == before
    assert sorted(report.deleted) == sorted([full, ha]) and not report.left


def test_the_inventory_hands_back_children_before_parents_and_forgets_only_the_gone() -> None:
    inventory = Inventory()
    for backup_id in ("parent", "child", "grandchild"):
        inventory.remember(backup_id)
    inventory.forget("child")
    assert inventory.remaining() == ["grandchild", "parent"]
    assert inventory.owns("child") and not inventory.owns("stranger")


def test_a_backup_whose_create_answer_was_lost_is_found_by_its_run_name_and_deleted() -> None:
    mock = broken_mocks.true_mock()
    with ThreadedServer(mock) as server, httpx.Client() as http:
        api = api_on(server.url, http)
        before = backups_in(mock)
        headers = {"X-Auth-Token": broken_mocks.TOKEN}
        # Sent around the Api, as if the run had stopped before the answer came back.
        for name in (api.new_name(), "contract-tests someone-else 1"):
            body = {"backup": {"name": name, "instance": INSTANCE}}
            http.post(f"{server.url}/v1.0/1234/backups", json=body, headers=headers)
            mock.clock.advance(5)
        stranger = backups_in(mock) - before
        api.adopt_unacknowledged()
        report = CleanupReport()
        clean_up(api, report, timeout=600)
    assert len(report.deleted) == 1 and not report.left
    assert backups_in(mock) == before | (stranger - set(report.deleted))
    assert len(backups_in(mock) - before) == 1  # the other run's backup is left alone


def stopped_clock_mock() -> Mock:
    """A mock whose clock never moves and that has no control API to move it: what is running
    or building stays so, and cleanup can only wait."""
    return create_app(
        Settings(control=False, frozen_clock=True, tokens={broken_mocks.TOKEN: frozenset({"1234"})})
    )


def test_cleanup_gives_up_after_its_timeout_and_names_what_it_left() -> None:
    # No control API and backups that do not end in the test's time: cleanup must wait in
    # real time, and stop waiting after its timeout.
    mock = stopped_clock_mock()
    with ThreadedServer(mock) as server, httpx.Client() as http:
        api = api_on(server.url, http)
        running = api.create(instance=INSTANCE).document("backup")["id"]
        report = CleanupReport()
        began = time.monotonic()
        clean_up(api, report, timeout=1.0)
        waited = time.monotonic() - began
    assert list(report.left) == [running] and not report.deleted
    assert "still running" in report.left[running] and "gave up after 1 s" in report.left[running]
    assert 1.0 <= waited < 30  # it waited its timeout, and not for ever
    assert running in backups_in(mock)


def test_the_delete_command_of_a_left_backup_runs_as_it_is() -> None:
    target = Target("https://db.example.com/v1.0/1234", "t", None, None)
    assert delete_command(target, "abc") == (
        'curl -X DELETE -H "X-Auth-Token: $CONTRACT_TESTS_TOKEN"'
        " https://db.example.com/v1.0/1234/backups/abc"
    )


def test_cleanup_deletes_the_runs_schedules_then_the_backups_they_made_and_nothing_else() -> None:
    mock = broken_mocks.true_mock()
    with ThreadedServer(mock) as server, httpx.Client() as http:
        api = api_on(server.url, http)
        before = backups_in(mock)
        # Someone else's schedule of a source the run backs up: it and its backups stay.
        theirs = schedule_around_the_api(server.url, source_id=HA, source_type="ha")
        ours = scheduling.create(api, Source("instance", INSTANCE), **AT)
        assert ours.status == 202
        ours_id = ours.document("schedule")["id"]
        assert scheduling.update(api, ours_id, run_now=True).status == 200
        mock.clock.advance(3 * DAY)  # and the runs of three days, of both schedules
        made = backups_in(mock) - before
        report = CleanupReport()
        clean_up(api, report, timeout=600)
    left = backups_in(mock) - before
    assert report.schedules_deleted == [ours_id] and not report.leaves_anything()
    assert schedules_in(mock) == {theirs}
    assert len(made) >= 4 and left and left < made  # the run's went, the other schedule's stay
    assert all(mock.store.get_backup("1234", i).schedule_id == theirs for i in left)


def test_a_schedule_whose_create_answer_was_lost_is_found_and_deleted() -> None:
    mock = broken_mocks.true_mock()
    with ThreadedServer(mock) as server, httpx.Client() as http:
        api = api_on(server.url, http)
        there_before = schedule_around_the_api(server.url, source_id=HA, source_type="ha")
        api.note_schedules_before()
        # Sent around the Api, as if the run had stopped before the answer came back.
        lost = schedule_around_the_api(server.url, instance_id=INSTANCE)
        elsewhere = schedule_around_the_api(server.url, instance_id=fixture_ids.PERCONA)
        api.adopt_unacknowledged()
        report = CleanupReport()
        clean_up(api, report, timeout=600)
    assert report.schedules_deleted == [lost] and not report.leaves_anything()
    assert schedules_in(mock) == {there_before, elsewhere}


class ScheduleDeleteIgnored(broken_wrapper.Broken):
    """Deleting a schedule answers 202 and deletes nothing."""

    def before(self, request: broken_wrapper.Request) -> broken_wrapper.Answer | None:
        if request.method == "DELETE" and broken_wrapper.SCHEDULE_PATH.match(request.path):
            return broken_wrapper.Answer(202, [], b"")
        return None


def test_a_schedule_cleanup_cannot_delete_is_named_with_the_command_that_deletes_it() -> None:
    mock = broken_mocks.true_mock()
    with ThreadedServer(ScheduleDeleteIgnored(mock)) as server, httpx.Client() as http:
        api = api_on(server.url, http)
        created = scheduling.create(api, Source("instance", INSTANCE), **AT)
        schedule_id = created.document("schedule")["id"]
        run = Run(RunSettings(None, None, None, None), inventory=api.inventory)
        run.target = api.target
        clean_up(api, run.cleanup, timeout=1)
    assert list(run.cleanup.schedules_left) == [schedule_id] and not run.cleanup.deleted
    assert "show still answers 200" in run.cleanup.schedules_left[schedule_id]
    text = render(run)
    assert f"left: schedule {schedule_id}:" in text and "could not be deleted" in text
    assert delete_command(api.target, schedule_id, "schedules") in text
    assert schedules_in(mock) == {schedule_id}


# -- instances -----------------------------------------------------------------------------------


def test_cleanup_deletes_the_runs_instances_once_built_and_no_other_instance() -> None:
    mock = broken_mocks.true_mock()
    with ThreadedServer(mock) as server, httpx.Client() as http:
        api = api_on(server.url, http)
        before = instances_in(mock)
        backup = restoring.restorable(api)
        assert backup is not None
        restored = [restoring.restore(api, backup).document("instance")["id"] for _ in range(2)]
        # One of them backed up: it stays BACKUP until the backup ends, its backup outlives it.
        mock.clock.advance(60)
        assert api.create(instance=restored[0]).status == 202
        report = CleanupReport()
        clean_up(api, report, timeout=600)  # BUILD and BACKUP on a frozen clock: it moves it
    assert instances_in(mock) == before and sorted(report.instances_deleted) == sorted(restored)
    assert not report.leaves_anything() and len(report.deleted) == 1


def test_an_instance_whose_create_answer_was_lost_is_found_by_its_run_name_and_deleted() -> None:
    mock = broken_mocks.true_mock()
    with ThreadedServer(mock) as server, httpx.Client() as http:
        api = api_on(server.url, http)
        before = instances_in(mock)
        headers = {"X-Auth-Token": broken_mocks.TOKEN}
        # Sent around the Api, as if the run had stopped before the answer came back.
        for name in (api.new_name(), "contract-tests someone-else 1"):
            body = {"instance": {"name": name, "flavorRef": 1, "volume": {"size": 1}}}
            answer = http.post(f"{server.url}/v1.0/1234/instances", json=body, headers=headers)
            assert answer.status_code == 200, answer.text
        stranger = instances_in(mock) - before
        api.adopt_unacknowledged()
        report = CleanupReport()
        clean_up(api, report, timeout=600)
    assert len(report.instances_deleted) == 1 and not report.leaves_anything()
    assert instances_in(mock) == before | (stranger - set(report.instances_deleted))
    assert len(instances_in(mock) - before) == 1  # the other run's instance is left alone


def test_an_instance_that_is_never_built_is_named_with_the_command_that_deletes_it() -> None:
    # No control API and a frozen clock: the instance stays BUILD, which cannot be deleted.
    mock = stopped_clock_mock()
    with ThreadedServer(mock) as server, httpx.Client() as http:
        api = api_on(server.url, http)
        backup = restoring.restorable(api)
        assert backup is not None
        instance_id = restoring.restore(api, backup).document("instance")["id"]
        run = Run(RunSettings(None, None, None, None), inventory=api.inventory)
        run.target = api.target
        clean_up(api, run.cleanup, timeout=1)
    why = run.cleanup.instances_left[instance_id]
    assert "still BUILD" in why and "gave up after 1 s" in why and not run.cleanup.deleted
    text = render(run)
    assert f"left: instance {instance_id}:" in text and "could not be deleted" in text
    assert delete_command(api.target, instance_id, "instances") in text
    assert f"/v1.0/1234/instances/{instance_id}" in delete_command(
        api.target, instance_id, "instances"
    )
    assert instance_id in instances_in(mock)


# -- copies in other regions ---------------------------------------------------------------------


def copies_in(mock: Mock, region: str = "IAD") -> set[str]:
    accounts = mock.regions.snapshot()["regions"][region]["accounts"]  # every region caught up
    return {b["id"] for b in accounts.get("1234", {}).get("backups", [])}


def copying_api(url: str, http: httpx.Client) -> Api:
    """An Api of DFW (the mock's own region) that copies to IAD, as the suite's does on a mock."""
    api = api_on(url, http)
    iad = Region("IAD", f"{url}/iad")
    return api.with_target(replace(api.target, region="DFW", copy_to=iad, elsewhere=(iad,)))


def copy_around_the_api(url: str, backup_id: str, name: str) -> None:
    """A copy the run's Api did not see asked for (another client's, or one whose answer the run
    never got)."""
    body = {"copy-backup": {"target_backup_region": "IAD", "name": name}}
    answer = httpx.post(
        f"{url}/v1.0/1234/backups/{backup_id}/action",
        json=body,
        headers={"X-Auth-Token": broken_mocks.TOKEN},
    )
    assert answer.status_code == 202, answer.text


def test_cleanup_deletes_the_runs_copies_in_their_region_once_ended_and_no_other() -> None:
    mock = broken_mocks.true_mock()
    with ThreadedServer(mock) as server, httpx.Client() as http:
        api = copying_api(server.url, http)
        there = copying.destination(api)
        copy_around_the_api(server.url, fixture_ids.PERCONA_BACKUP, "someone else's")
        theirs = copies_in(mock)
        original = api.show(fixture_ids.PERCONA_BACKUP).document("backup")
        made = [copying.copy(api, there, original) for _ in range(2)]  # both NEW: frozen clock
        assert all(m.answer.status == 202 and m.copy is not None for m in made)
        report = CleanupReport()
        clean_up(api, report, timeout=600)  # it moves the clock until they can go
    assert copies_in(mock) == theirs and len(theirs) == 1
    assert sorted(report.region("IAD").deleted) == sorted(m.copy_id for m in made)
    assert not report.leaves_anything() and not report.deleted


def test_a_copy_whose_answer_was_lost_is_found_by_its_run_name_in_its_region_and_deleted() -> None:
    mock = broken_mocks.true_mock()
    with ThreadedServer(mock) as server, httpx.Client() as http:
        api = copying_api(server.url, http)
        # Sent around the Api, as if the run had stopped before it found the copy.
        copy_around_the_api(server.url, fixture_ids.PERCONA_BACKUP, api.new_name())
        copy_around_the_api(server.url, fixture_ids.PERCONA_BACKUP, "contract-tests other 1")
        stranger = copies_in(mock)
        api.adopt_unacknowledged()
        report = CleanupReport()
        clean_up(api, report, timeout=600)
    assert len(report.region("IAD").deleted) == 1 and not report.leaves_anything()
    assert copies_in(mock) == stranger - set(report.region("IAD").deleted)
    assert len(copies_in(mock)) == 1  # the other run's copy is left alone


def test_the_copies_of_the_runs_scheduled_backups_are_deleted_with_them() -> None:
    mock = broken_mocks.true_mock()
    with ThreadedServer(mock) as server, httpx.Client() as http:
        api = copying_api(server.url, http)
        before = backups_in(mock)
        ours = scheduling.create(api, Source("instance", INSTANCE), copy_to=["IAD"], **AT)
        assert ours.status == 202, ours.body
        assert scheduling.update(api, ours.document("schedule")["id"], run_now=True).status == 200
        mock.clock.advance(60)  # the backup ends, and is copied to IAD
        assert len(copies_in(mock)) == 1
        report = CleanupReport()
        clean_up(api, report, timeout=600)
    assert backups_in(mock) == before and copies_in(mock) == set()
    assert not report.leaves_anything() and len(report.region("IAD").deleted) == 1


def test_a_copy_that_never_ends_is_named_with_the_command_that_deletes_it_in_its_region() -> None:
    # No control API and a frozen clock: the copy stays NEW, which cannot be deleted.
    mock = stopped_clock_mock()
    with ThreadedServer(mock) as server, httpx.Client() as http:
        api = copying_api(server.url, http)
        original = api.show(fixture_ids.PERCONA_BACKUP).document("backup")
        made = copying.copy(api, copying.destination(api), original)
        run = Run(RunSettings(None, None, None, None), inventory=api.inventory)
        run.target = api.target
        clean_up(api, run.cleanup, timeout=1)
    why = run.cleanup.region("IAD").left[made.copy_id]
    assert "still running" in why and "gave up after 1 s" in why
    text = render(run)
    assert f"left: copy {made.copy_id} in IAD:" in text and "1 could not be deleted" in text
    assert f"{server.url}/iad/v1.0/1234/backups/{made.copy_id}" in text
    assert made.copy_id in copies_in(mock)
