"""The control API (section 7): reset, state, clock, journal and fault injection."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.state.clock import CLOCK_LAST_SECOND
from mockserver.state.timetable import weekday

TOKEN = {"X-Auth-Token": "t"}
BACKUPS = "/v1.0/1234/backups"
SCHEDULES = "/v1.0/1234/schedules"
MYSQL = "d4603f69-ec7e-4e9b-803f-600b9205576f"
HA_BACKUP = "0c1b5616-fdc5-45ae-b2dc-6f1440d55d0e"


def create(client: TestClient) -> Any:
    return client.post(BACKUPS, json={"backup": {"name": "x", "instance": MYSQL}}, headers=TOKEN)


def test_reset_goes_back_to_the_fixture_state_and_drops_fault_rules(client: TestClient) -> None:
    fixture = client.get("/__mock/state").json()
    assert create(client).status_code == 202
    client.post("/__mock/faults", json={"path": "/v1.0/*", "status": 503, "count": None})
    clock = client.get("/__mock/clock").json()
    assert client.post("/__mock/reset").json() == {"reset": True}
    assert client.get("/__mock/state").json() == fixture
    assert client.get("/__mock/faults").json() == {"rules": [], "backups": "normal"}
    assert client.get("/__mock/clock").json()["epoch"] == clock["epoch"]  # the clock goes on
    journal = client.get("/__mock/requests").json()["requests"]
    assert [e["method"] for e in journal] == [
        "POST"
    ]  # the journal goes on (control calls are not in it)


def test_get_then_put_of_the_state_changes_nothing(client: TestClient) -> None:
    create(client)
    state = client.get("/__mock/state").json()
    response = client.put("/__mock/state", json=state)
    assert response.status_code == 200 and response.json() == state
    assert client.get("/__mock/state").json() == state


def test_put_state_replaces_everything(client: TestClient) -> None:
    response = client.put("/__mock/state", json={"accounts": {"42": {}}})
    assert response.status_code == 200
    assert client.get(BACKUPS, headers=TOKEN).json() == {"backups": []}
    assert client.get("/__mock/state").json()["accounts"]["42"]["backups"] == []


@pytest.mark.parametrize(
    "document",
    [
        {"accounts": {"1234": {"backups": [{"id": "x"}]}}},
        {"accounts": []},
        {"nothing": True},
        {"accounts": {"1": {"instances": [{"id": MYSQL}]}}},
    ],
    ids=["incomplete backup", "accounts not an object", "no accounts", "incomplete instance"],
)
def test_invalid_state_is_bad_request_and_changes_nothing(
    client: TestClient, document: Any
) -> None:
    before = client.get("/__mock/state").json()
    response = client.put("/__mock/state", json=document)
    assert response.status_code == 400 and "badRequest" in response.json()
    assert client.get("/__mock/state").json() == before


def test_state_that_only_the_store_can_refuse_is_bad_request_too(client: TestClient) -> None:
    state = client.get("/__mock/state").json()
    state["accounts"]["1234"]["backups"][0]["parent_id"] = "00000000-0000-4000-8000-000000000000"
    response = client.put("/__mock/state", json=state)
    assert response.status_code == 400 and "parent" in response.json()["badRequest"]["message"]


def test_clock_moves_forward_and_drives_the_lifecycle(client: TestClient) -> None:
    backup_id = create(client).json()["backup"]["id"]
    before = client.get("/__mock/clock").json()
    moved = client.post("/__mock/clock", json={"advance_seconds": 5}).json()
    assert moved["epoch"] - before["epoch"] == pytest.approx(5)
    assert moved["offset_seconds"] == before["offset_seconds"] + 5 and moved["frozen"] is True
    assert moved["now"].endswith("Z")
    status = client.get(f"{BACKUPS}/{backup_id}", headers=TOKEN).json()["backup"]["status"]
    assert status == "COMPLETED"


@pytest.mark.parametrize("body", [{"advance_seconds": -1}, {"advance_seconds": "5"}, {}])
def test_clock_refuses_going_back_or_nonsense(client: TestClient, body: Any) -> None:
    assert client.post("/__mock/clock", json=body).status_code == 400


def test_clock_stops_where_everything_the_api_shows_can_still_be_shown(
    client: TestClient,
) -> None:
    last, step = CLOCK_LAST_SECOND, 3153600000  # 9999-12-24T23:59:59Z; a move's most (100 y)
    while (now := client.get("/__mock/clock").json())["epoch"] < last - step:
        client.post("/__mock/clock", json={"advance_seconds": step})
    refused = client.post("/__mock/clock", json={"advance_seconds": last + 1 - now["epoch"]})
    assert refused.status_code == 400 and "9999-12-24T23:59:59Z" in refused.text
    assert client.get("/__mock/clock").json()["offset_seconds"] == now["offset_seconds"]
    to_last = last + 0.5 - now["epoch"]  # half a second in: no rounding lands a second short
    moved = client.post("/__mock/clock", json={"advance_seconds": to_last}).json()
    assert moved["now"] == "9999-12-24T23:59:59Z"
    created = create(client)  # a backup made at the last second is shown, and listed
    assert created.status_code == 202 and created.json()["backup"]["created"] == moved["now"]
    listed = client.get(BACKUPS, headers=TOKEN).json()["backups"][0]
    assert listed["id"] == created.json()["backup"]["id"]
    # The furthest time shown: the next run of a weekly schedule whose hour has just passed.
    weekly = {"action": "backup", "instance_id": MYSQL, "day_of_week": weekday(last)}
    weekly |= {"hour": 0, "minute": 0, "full_backup_retention": 2}
    made = client.post(SCHEDULES, headers=TOKEN, json={"schedule": weekly})
    assert made.status_code == 202, made.text
    assert made.json()["schedule"]["next_run"] == "9999-12-31T00:00:00Z"


def test_journal_records_requests_oldest_first_and_filters(client: TestClient) -> None:
    create(client)
    client.get(BACKUPS, headers=TOKEN)
    client.get(f"{BACKUPS}/{HA_BACKUP}", headers=TOKEN)
    entries = client.get("/__mock/requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", BACKUPS, 202),
        ("GET", BACKUPS, 200),
        ("GET", f"{BACKUPS}/{HA_BACKUP}", 200),
    ]
    assert entries[0]["body"] == {"backup": {"name": "x", "instance": MYSQL}}
    assert entries[0]["headers"]["x-auth-token"] == "t"
    posts = client.get("/__mock/requests", params={"method": "post"}).json()["requests"]
    assert len(posts) == 1
    shows = client.get("/__mock/requests", params={"path": "/v1.0/*/backups/*"}).json()
    assert [e["path"] for e in shows["requests"]] == [f"{BACKUPS}/{HA_BACKUP}"]
    assert client.delete("/__mock/requests").status_code == 204
    assert client.get("/__mock/requests").json() == {"requests": []}


def test_journal_is_bounded(store: str | None) -> None:
    with TestClient(create_app(Settings(journal_size=5, store=store))) as client:
        for _ in range(9):
            client.get(BACKUPS, headers=TOKEN)
        assert len(client.get("/__mock/requests").json()["requests"]) == 5


def test_fault_rule_answers_its_status_for_the_next_count_matches(client: TestClient) -> None:
    rule = {
        "method": "GET",
        "path": "/v1.0/1234/backups*",
        "status": 503,
        "latency_ms": 0,
        "count": 2,
    }
    response = client.post("/__mock/faults", json=rule)
    assert response.status_code == 201 and response.json()["rules"][0]["remaining"] == 2
    for _ in range(2):
        answer = client.get(BACKUPS, headers=TOKEN)
        assert answer.status_code == 503 and "serviceUnavailable" in answer.json()
    assert client.get(BACKUPS, headers=TOKEN).status_code == 200
    assert client.post(BACKUPS, json={}, headers=TOKEN).status_code == 400  # method differs


def test_fault_rule_with_null_count_matches_every_request_until_cleared(client: TestClient) -> None:
    client.post("/__mock/faults", json={"path": "/v1.0/*", "status": 500, "count": None})
    for _ in range(3):
        assert client.get(BACKUPS, headers=TOKEN).status_code == 500
    assert client.delete("/__mock/faults").status_code == 204
    assert client.get(BACKUPS, headers=TOKEN).status_code == 200


def test_latency_rule_delays_without_changing_the_answer(client: TestClient) -> None:
    client.post("/__mock/faults", json={"path": BACKUPS, "latency_ms": 300})
    started = time.monotonic()
    assert client.get(BACKUPS, headers=TOKEN).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_backups_can_be_made_to_fail(mock: Mock, client: TestClient) -> None:
    assert (
        client.post("/__mock/faults", json={"backups": "fail_next"}).json()["backups"]
        == "fail_next"
    )
    first = create(client).json()["backup"]["id"]
    mock.clock.advance(5)
    second = create(client).json()["backup"]["id"]
    mock.clock.advance(5)
    statuses = [
        client.get(f"{BACKUPS}/{i}", headers=TOKEN).json()["backup"]["status"]
        for i in (first, second)
    ]
    assert statuses == ["FAILED", "COMPLETED"]
    client.post("/__mock/faults", json={"backups": "fail_all"})
    third = create(client).json()["backup"]["id"]
    mock.clock.advance(5)
    assert client.get(f"{BACKUPS}/{third}", headers=TOKEN).json()["backup"]["status"] == "FAILED"


@pytest.mark.parametrize(
    "rule",
    [
        {"path": "/x", "status": 200},
        {"path": "/x", "count": 0},
        {"backups": "sometimes"},
        {"method": "GET"},
    ],
)
def test_invalid_fault_rule_is_bad_request(client: TestClient, rule: Any) -> None:
    assert client.post("/__mock/faults", json=rule).status_code == 400


def test_control_api_can_be_turned_off() -> None:
    with TestClient(create_app(Settings(control=False))) as client:
        response = client.post("/__mock/reset")
        assert response.status_code == 404 and "itemNotFound" in response.json()


def test_control_api_needs_its_token_when_one_is_set() -> None:
    with TestClient(create_app(Settings(control_token="s3cret"))) as client:
        assert client.get("/__mock/state").status_code == 401
        assert client.get("/__mock/state", headers={"X-Mock-Token": "wrong"}).status_code == 401
        assert client.get("/__mock/state", headers={"X-Mock-Token": "s3cret"}).status_code == 200


def test_control_api_needs_no_auth_token(client: TestClient) -> None:
    assert client.get("/__mock/clock").status_code == 200


def test_control_api_has_its_own_spec_and_docs(client: TestClient) -> None:
    spec = client.get("/__mock/openapi.json").json()
    assert "/state" in spec["paths"] and "Backup" in spec["components"]["schemas"]
    assert client.get("/__mock/ui/").status_code == 200


def test_api_spec_is_served_as_json_and_yaml_with_a_docs_page(client: TestClient) -> None:
    assert "/v1.0/{accountId}/backups" in client.get("/openapi.json").json()["paths"]
    assert client.get("/openapi.yaml").text.startswith(("openapi", "components", "info"))
    assert "swagger" in client.get("/ui/").text.lower()
