"""Cleanup deletes every backup the run created, children before parents, waits for those
still running (at most its timeout, then names what it left and how to delete it), does not take
a 202 for an answer until show agrees, and touches nothing else."""

from __future__ import annotations

import time
from collections.abc import Iterator

import broken_mocks
import httpx
import pytest

from contract_tests.api import Api
from contract_tests.cleanup import CleanupReport, clean_up, delete_command
from contract_tests.contract import Contract
from contract_tests.inventory import Inventory
from contract_tests.ledger import Ledger
from contract_tests.target import Target
from contract_tests.timeline import Control, Timeline
from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.threaded import ThreadedServer

INSTANCE = "d4603f69-ec7e-4e9b-803f-600b9205576f"
HA = "130922a2-b9ab-4e95-86be-9c5d79171b5e"


def backups_in(mock: Mock) -> set[str]:
    return {b["id"] for b in mock.store.snapshot()["accounts"]["1234"]["backups"]}


def api_on(url: str, http: httpx.Client) -> Api:
    target = Target(f"{url}/v1.0/1234", broken_mocks.TOKEN, INSTANCE, HA)
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


def test_cleanup_gives_up_after_its_timeout_and_names_what_it_left() -> None:
    # No control API and backups that do not end in the test's time: cleanup must wait in
    # real time, and stop waiting after its timeout.
    never = Settings(
        control=False, frozen_clock=True, tokens={broken_mocks.TOKEN: frozenset({"1234"})}
    )
    mock = create_app(never)
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
