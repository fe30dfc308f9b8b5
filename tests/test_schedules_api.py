"""Scheduled backups over HTTP, as a consumer drives them: the documented requests, a week and two
weeks of runs on the mock's clock (through the pytest plugin), run_now, and the 404s."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fixture_ids import HA, LEGACY, SCHEDULABLE
from redis_support import RedisServer
from support import EXAMPLES, read_json

from mockserver.plugin.pytest_plugin import BackupsMock
from mockserver.state.clock import parse_timestamp

DAY = 86_400
FULL, INCREMENTAL = "InnoBackupEx", "InnoBackupExIncremental"
CREATES = sorted((EXAMPLES / "createAutoBackup").glob("*.request.json"))


@pytest.fixture
def backups_mock(
    redis_server: RedisServer,
    store: str | None,
    backups_mock_session: BackupsMock,
    backups_mock_factory: Callable[..., BackupsMock],
) -> BackupsMock:
    """The plugin's mock, reset, with its state in memory; then one of the plugin's mocks with
    its state in Redis (`--store`, emptied for the test). Redis is started first, so that it
    stops after the plugin's mocks, which read their coverage as they stop."""
    if store is None:
        backups_mock_session.reset()
        return backups_mock_session
    return backups_mock_factory(store=store)


def call(mock: BackupsMock, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, mock.base_url + path, json=body, headers=mock.headers)


def scheduled(mock: BackupsMock, source: str = SCHEDULABLE) -> list[dict[str, Any]]:
    """The source's backups that schedules made, oldest first."""
    response = call(mock, "GET", f"/instances/{source}/backups")
    backups = [b for b in response.json()["backups"] if b["is_automated"] == 1]
    return sorted(backups, key=lambda b: (b["created"], b["id"]))


def weekday(timestamp: str) -> int:
    """0 for Sunday, as the API counts."""
    return (parse_timestamp(timestamp) // DAY + 4) % 7


@pytest.mark.parametrize("example", CREATES, ids=lambda path: path.name.split(".")[0])
def test_each_documented_create_request_is_accepted_by_a_fresh_mock(
    backups_mock: BackupsMock, example: Any
) -> None:
    request = read_json(example)
    documented = read_json(example.with_name(example.name.replace(".request.", ".response.")))
    response = call(backups_mock, "POST", "/schedules", request["body"])
    assert response.status_code == documented["status"] == 202, response.text
    schedule = response.json()["schedule"]
    assert set(schedule) == set(documented["body"]["schedule"])
    asked = request["body"]["schedule"]
    for name in ("action", "day_of_week", "hour", "minute", "instance_id"):
        assert schedule[name] == asked[name]
    assert schedule["copy_to"] == asked.get("copy_to", [])
    assert (schedule["running"], schedule["last_scheduled"]) == (False, None)
    assert schedule["full_backup_retention"] == 2
    assert weekday(schedule["next_run"]) == asked["day_of_week"]
    assert schedule["next_run"].endswith("T14:30:00Z")


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PUT", {"schedule": {"hour": 6}}), ("DELETE", None)],
)
def test_the_documented_schedule_id_is_not_found_on_a_fresh_mock(
    backups_mock: BackupsMock, method: str, body: Any
) -> None:
    response = call(backups_mock, method, "/schedules/2e351a71-dd28-4bcb-a7d6-d36a5b487173", body)
    assert response.status_code == 404
    assert response.json()["itemNotFound"]["message"] == (
        "Resource 2e351a71-dd28-4bcb-a7d6-d36a5b487173 cannot be found."
    )


def test_a_week_of_scheduled_backups(backups_mock: BackupsMock) -> None:
    # The README's example: a weekly full backup on Sunday at 02:00, daily incrementals.
    schedule = backups_mock.add_schedule(SCHEDULABLE, day_of_week=0, hour=2, minute=0)
    backups_mock.advance_to(schedule["next_run"])
    backups_mock.advance(days=6, hours=1)  # to Saturday 03:00

    made = scheduled(backups_mock)
    assert [b["type"] for b in made] == [FULL] + [INCREMENTAL] * 6
    assert all(b["status"] == "COMPLETED" and b["is_automated"] == 1 for b in made)
    for parent, child in itertools.pairwise(made):
        assert child["parent_id"] == parent["id"]  # each day builds on the day before


def test_two_weeks_of_runs_day_by_day(backups_mock: BackupsMock) -> None:
    schedule = backups_mock.add_schedule(SCHEDULABLE, day_of_week=3, hour=5, minute=15)
    first = schedule["next_run"]
    made: list[dict[str, Any]] = []
    next_run = first
    for day in range(15):
        run = parse_timestamp(first) + day * DAY
        backups_mock.advance_to(next_run)
        backups_mock.advance(minutes=1)  # the run's backup ends 5 s after it starts
        current = call(backups_mock, "GET", f"/schedules/{schedule['id']}").json()["schedule"]
        assert parse_timestamp(current["last_scheduled"]) == run, day
        assert parse_timestamp(current["next_run"]) == run + DAY, day
        assert current["running"] is False
        backups = scheduled(backups_mock)
        (new,) = [b for b in backups if b["id"] not in {m["id"] for m in made}]
        full = day % 7 == 0
        assert new["type"] == (FULL if full else INCREMENTAL), day
        assert new["parent_id"] == (None if full else made[-1]["id"]), day
        assert new["name"] == f"scheduled-{new['created'][:16]}Z"
        assert new["description"] == f"Made by schedule {schedule['id']}."
        assert parse_timestamp(new["created"]) == run
        made.append(new)
        fulls = [i for i, b in enumerate(made) if b["type"] == FULL]
        kept = made[fulls[-2] :] if len(fulls) > 2 else made  # retention: two full chains
        assert [b["id"] for b in backups] == [b["id"] for b in kept], day
        next_run = current["next_run"]
    assert len(scheduled(backups_mock)) == 8  # day 7's chain and day 14's full


def test_run_now_as_the_documented_string_makes_an_automated_backup(
    backups_mock: BackupsMock,
) -> None:
    schedule = backups_mock.add_schedule(SCHEDULABLE, hour=3)
    answer = call(
        backups_mock, "PUT", f"/schedules/{schedule['id']}", {"schedule": {"run_now": "true"}}
    )
    assert answer.status_code == 200, answer.text
    updated = answer.json()["schedule"]
    assert updated["running"] is True and updated["last_scheduled"] == backups_mock.clock()["now"]
    (backup,) = scheduled(backups_mock)
    assert (backup["status"], backup["type"], backup["is_automated"]) == ("NEW", FULL, 1)
    again = call(backups_mock, "PUT", f"/schedules/{schedule['id']}", {"schedule": {"run_now": 1}})
    assert again.status_code == 422  # the instance is in BACKUP


def test_schedules_are_listed_and_deleted_and_their_backups_stay(
    backups_mock: BackupsMock,
) -> None:
    mine = backups_mock.add_schedule(SCHEDULABLE, day_of_week=7, hour=1)
    ha = backups_mock.add_schedule(ha_id=HA, day_of_week=7, hour=1)
    listed = call(backups_mock, "GET", "/schedules").json()["schedules"]
    assert {s["id"] for s in listed} == {mine["id"], ha["id"]}
    assert ha["instance_id"] is None and ha["source"] == {"type": "ha", "id": HA}
    backups_mock.advance(days=1)
    assert call(backups_mock, "DELETE", f"/schedules/{mine['id']}").status_code == 202
    assert call(backups_mock, "GET", f"/schedules/{mine['id']}").status_code == 404
    assert len(scheduled(backups_mock)) == 1


def test_the_plugin_says_why_a_schedule_is_refused(backups_mock: BackupsMock) -> None:
    with pytest.raises(ValueError, match="422 Scheduled backups are not supported"):
        backups_mock.add_schedule(LEGACY)


def test_schedules_are_part_of_the_state_and_reset_drops_them(backups_mock: BackupsMock) -> None:
    schedule = backups_mock.add_schedule(SCHEDULABLE)
    (stored,) = backups_mock.state()["accounts"]["1234"]["schedules"]
    assert stored == schedule
    backups_mock.seed(backups_mock.state())
    assert call(backups_mock, "GET", f"/schedules/{schedule['id']}").json()["schedule"] == schedule
    backups_mock.reset()
    assert call(backups_mock, "GET", "/schedules").json() == {"schedules": []}


def test_unknown_members_are_accepted_and_ignored(backups_mock: BackupsMock) -> None:
    schedule = backups_mock.add_schedule(SCHEDULABLE, hour=1, note="ours", day_of_month=3)
    assert schedule["day_of_month"] is None and "note" not in schedule
    answer = call(
        backups_mock, "PUT", f"/schedules/{schedule['id']}", {"schedule": {"hour": 2, "x": 1}}
    )
    assert answer.status_code == 200 and answer.json()["schedule"]["hour"] == 2


@pytest.mark.parametrize(
    "change",
    [{}, {"note": 1}, {"hour": 24}, {"run_now": "yes"}, {"copy_to": ["LON"]}],
    ids=["nothing", "nothing known", "hour 24", "run_now yes", "copy to LON"],
)
def test_an_update_that_names_nothing_known_or_breaks_a_bound_is_a_bad_request(
    backups_mock: BackupsMock, change: dict[str, Any]
) -> None:
    schedule = backups_mock.add_schedule(SCHEDULABLE)
    answer = call(backups_mock, "PUT", f"/schedules/{schedule['id']}", {"schedule": change})
    assert answer.status_code == 400, answer.text
    shown = call(backups_mock, "GET", f"/schedules/{schedule['id']}").json()["schedule"]
    assert shown == schedule


@pytest.mark.parametrize("run_now", [False, 0, "false"])
def test_run_now_false_in_any_documented_form_runs_nothing(
    backups_mock: BackupsMock, run_now: Any
) -> None:
    schedule = backups_mock.add_schedule(SCHEDULABLE)
    body = {"schedule": {"run_now": run_now}}
    assert call(backups_mock, "PUT", f"/schedules/{schedule['id']}", body).status_code == 200
    assert scheduled(backups_mock) == []


def test_a_page_of_schedules_links_to_the_next(backups_mock: BackupsMock) -> None:
    made = []
    for instance in (SCHEDULABLE, HA):
        kind = {"ha_id": HA} if instance == HA else {"instance_id": instance}
        made.append(backups_mock.add_schedule(**kind)["id"])
        backups_mock.advance(1)
    first = call(backups_mock, "GET", "/schedules?limit=1").json()
    assert [s["id"] for s in first["schedules"]] == [made[1]]
    (link,) = first["links"]
    assert link["rel"] == "next" and link["href"].endswith(f"/schedules?limit=1&marker={made[1]}")
    rest = httpx.get(link["href"], headers=backups_mock.headers).json()
    assert [s["id"] for s in rest["schedules"]] == [made[0]] and "links" not in rest
