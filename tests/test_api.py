"""The contract's rules (sections 3 to 6) as a client sees them, through the ASGI app."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient
from support import EXAMPLES, read_json

from mockserver import Settings, create_app
from mockserver.app import Mock

TOKEN = {"X-Auth-Token": "87c6033c-9ff6-405f-943e-2deb73f278b7"}
BASE = "/v1.0/1234"
MYSQL = "d4603f69-ec7e-4e9b-803f-600b9205576f"
STOPPED = "7545e164-c45d-4ca7-bb6c-e2c677d2c864"
HA = "130922a2-b9ab-4e95-86be-9c5d79171b5e"
HA_BACKUP = "0c1b5616-fdc5-45ae-b2dc-6f1440d55d0e"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def client_for(store: str | None, **settings: Any) -> tuple[Mock, TestClient]:
    """A mock with these settings, its state in `store` (the `store` fixture's), and a client
    of it, to use in a `with` block (that closes it)."""
    mock = create_app(Settings(frozen_clock=True, store=store, **settings))
    return mock, TestClient(mock)


def create(client: TestClient, backup: dict[str, Any], **headers: str) -> Any:
    return client.post(f"{BASE}/backups", json={"backup": backup}, headers={**TOKEN, **headers})


def fault(response: Any, status: int, name: str) -> dict[str, Any]:
    """Assert the documented fault shape and return the fault."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == [name]
    assert body[name]["code"] == status and isinstance(body[name]["message"], str)
    detail: dict[str, Any] = body[name]
    return detail


# -- the seed document --------------------------------------------------------------------------


def test_seed_examples_succeed_verbatim_against_a_fresh_mock(
    mock: Mock, client: TestClient
) -> None:
    first = read_json(EXAMPLES / "createBackup" / "createHaBackup.request.json")
    second = read_json(EXAMPLES / "createBackup" / "createIncrementalHaBackup.request.json")
    documented = read_json(EXAMPLES / "createBackup" / "createHaBackup.response.json")["body"]
    response = client.post(
        first["path"], content=json.dumps(first["body"]), headers=first["headers"]
    )
    assert response.status_code == 202
    backup = response.json()["backup"]
    assert set(backup) == set(documented["backup"])
    for field in ("status", "description", "datastore", "size", "is_automated", "name",
                  "parent_id", "flavor_ram", "instance_id", "source", "locationRef", "type",
                  "volume_size"):  # fmt: skip
        assert backup[field] == documented["backup"][field], field
    assert backup["created"] == backup["updated"]
    mock.clock.advance(5)  # the first backup ends, and the HA instance is ACTIVE again
    response = client.post(
        second["path"], content=json.dumps(second["body"]), headers=second["headers"]
    )
    assert response.status_code == 202
    incremental = response.json()["backup"]
    assert incremental["parent_id"] == HA_BACKUP
    assert incremental["type"] == "InnoBackupExIncremental"


# -- create (section 3) -------------------------------------------------------------------------


def test_create_answers_202_with_a_new_backup(client: TestClient) -> None:
    response = create(client, {"name": "snapshot", "instance": MYSQL, "description": None})
    assert response.status_code == 202
    backup = response.json()["backup"]
    assert (backup["status"], backup["size"], backup["locationRef"]) == ("NEW", None, None)
    assert backup["is_automated"] is False and backup["created"].endswith("Z")


def test_create_of_a_non_json_body_is_bad_media_type(client: TestClient) -> None:
    response = client.post(
        f"{BASE}/backups", content=b"name=x", headers={**TOKEN, "Content-Type": "text/plain"}
    )
    fault(response, 415, "badMediaType")


def test_create_over_64_kib_is_over_limit(client: TestClient) -> None:
    body = json.dumps({"backup": {"name": "x", "instance": MYSQL, "pad": "x" * 70_000}})
    response = client.post(
        f"{BASE}/backups", content=body, headers={**TOKEN, "Content-Type": "application/json"}
    )
    fault(response, 413, "overLimit")


def test_bad_request_lists_every_violation(client: TestClient) -> None:
    response = create(client, {"name": "", "instance": "nope", "parent_id": 7, "incremental": 3})
    message = fault(response, 400, "badRequest")["message"]
    for field in ("name", "instance", "parent_id", "incremental"):
        assert f"body/backup/{field}" in message


@pytest.mark.parametrize(
    "content",
    [b'{"backup": {"name": "x"', b"\xff\xfe{}", b"[" * 100_000, b'{"backup": NaN}', b""],
    ids=["truncated", "invalid utf-8", "deeply nested", "NaN", "empty"],
)
def test_malformed_bodies_are_bad_requests(client: TestClient, content: bytes) -> None:
    response = client.post(
        f"{BASE}/backups",
        content=content[:60_000],
        headers={**TOKEN, "Content-Type": "application/json"},
    )
    fault(response, 400, "badRequest")


def test_target_rules_are_bad_requests(client: TestClient) -> None:
    response = create(client, {"name": "x", "instance": MYSQL, "source": {"type": "ha", "id": HA}})
    assert "disagree" in fault(response, 400, "badRequest")["message"]
    fault(create(client, {"name": "x"}), 400, "badRequest")


def test_unknown_members_and_is_automated_are_ignored(client: TestClient) -> None:
    response = create(
        client, {"name": "x", "instance": MYSQL, "is_automated": 1, "copy_to": ["IAD"]}
    )
    assert response.status_code == 202 and response.json()["backup"]["is_automated"] is False


def test_quota_is_over_limit_with_the_documented_message_and_no_retry_after(
    store: str | None,
) -> None:
    _, client = client_for(store, quota=3)
    with client:
        response = create(client, {"name": "x", "instance": MYSQL})
    assert (
        fault(response, 413, "overLimit")["message"] == "Quota exceeded for resources: ['backups']."
    )
    assert "retry-after" not in response.headers


def test_unknown_target_is_not_found(client: TestClient) -> None:
    response = create(client, {"name": "x", "instance": UNKNOWN})
    assert fault(response, 404, "itemNotFound")["message"] == f"Resource {UNKNOWN} cannot be found."


def test_target_that_is_not_active_is_unprocessable(client: TestClient) -> None:
    fault(create(client, {"name": "x", "instance": STOPPED}), 422, "unprocessableEntity")


def test_second_backup_while_one_runs_is_unprocessable(client: TestClient) -> None:
    assert create(client, {"name": "x", "instance": MYSQL}).status_code == 202
    fault(create(client, {"name": "y", "instance": MYSQL}), 422, "unprocessableEntity")


def test_unknown_parent_is_not_found(client: TestClient) -> None:
    fault(
        create(client, {"name": "x", "instance": MYSQL, "parent_id": UNKNOWN}), 404, "itemNotFound"
    )


def test_troveclient_incremental_flag_picks_the_newest_completed_parent(client: TestClient) -> None:
    response = create(
        client,
        {"name": "x", "instance": None, "source": {"type": "ha", "id": HA}, "incremental": 1},
    )
    assert response.json()["backup"]["parent_id"] == HA_BACKUP


# -- lifecycle (section 4) ----------------------------------------------------------------------


def test_lifecycle_is_visible_in_show_and_on_the_instance(mock: Mock, client: TestClient) -> None:
    backup = create(client, {"name": "x", "instance": MYSQL}).json()["backup"]
    show = f"{BASE}/backups/{backup['id']}"
    assert (
        client.get(f"{BASE}/instances/{MYSQL}", headers=TOKEN).json()["instance"]["status"]
        == "BACKUP"
    )
    mock.clock.advance(1)
    assert client.get(show, headers=TOKEN).json()["backup"]["status"] == "BUILDING"
    mock.clock.advance(4)
    done = client.get(show, headers=TOKEN).json()["backup"]
    assert done["status"] == "COMPLETED" and done["size"] > 0 and done["is_automated"] == 0
    assert done["locationRef"].endswith(f"z_CLOUDDB_BACKUPS/{backup['id']}.xbstream.gz")
    assert (
        client.get(f"{BASE}/instances/{MYSQL}", headers=TOKEN).json()["instance"]["status"]
        == "ACTIVE"
    )


def test_ha_backup_puts_the_ha_instance_in_backup(mock: Mock, client: TestClient) -> None:
    create(client, {"name": "x", "instance": "", "source": {"type": "ha", "id": HA}})
    ha = client.get(f"{BASE}/ha/{HA}", headers=TOKEN).json()["ha_instance"]
    assert ha["state"] == "BACKUP" and ha["replicas"][0]["status"] == "BACKUP"
    assert client.get(f"{BASE}/ha", headers=TOKEN).json()["ha_instances"][0]["state"] == "BACKUP"
    mock.clock.advance(5)
    assert client.get(f"{BASE}/ha/{HA}", headers=TOKEN).json()["ha_instance"]["state"] == "ACTIVE"


# -- read and delete (section 5) ----------------------------------------------------------------


def test_next_link_is_absolute_keeps_the_query_and_walks_every_item(client: TestClient) -> None:
    url: str | None = f"{BASE}/backups?limit=2&datastore=mysql"
    seen: list[str] = []
    while url:
        body = client.get(url, headers=TOKEN).json()
        seen += [b["id"] for b in body["backups"]]
        links = body.get("links")
        if links:
            (link,) = links
            assert link["rel"] == "next" and link["href"].startswith(
                "http://testserver/v1.0/1234/backups?"
            )
            assert "datastore=mysql" in link["href"] and "limit=2" in link["href"]
            url = link["href"].removeprefix("http://testserver")
        else:
            url = None
    assert len(seen) == len(set(seen)) == 3  # the mysql backups of the fixture


def test_no_links_when_the_page_is_the_last(client: TestClient) -> None:
    assert "links" not in client.get(f"{BASE}/backups", headers=TOKEN).json()


@pytest.mark.parametrize("query", ["limit=0", "limit=-3", "limit=abc", f"marker={UNKNOWN}"])
def test_invalid_limit_or_unknown_marker_is_bad_request(client: TestClient, query: str) -> None:
    fault(client.get(f"{BASE}/backups?{query}", headers=TOKEN), 400, "badRequest")


def test_unknown_datastore_is_not_found(client: TestClient) -> None:
    fault(client.get(f"{BASE}/backups?datastore=oracle", headers=TOKEN), 404, "itemNotFound")


@pytest.mark.parametrize(
    "path",
    [
        f"/v1.0/1234/backups/{UNKNOWN}",
        "/v1.0/1234/backups/not-a-uuid",
        f"/v1.0/5678/backups/{HA_BACKUP}",
        f"/v1.0/1234/instances/{UNKNOWN}/backups",
        f"/v1.0/1234/ha/{UNKNOWN}/backups",
        f"/v1.0/1234/instances/{UNKNOWN}",
        f"/v1.0/1234/ha/{UNKNOWN}",
    ],
)
def test_ids_the_account_does_not_have_are_not_found(client: TestClient, path: str) -> None:
    resource = path.split("/")[-2 if path.endswith("/backups") else -1]
    message = fault(client.get(path, headers=TOKEN), 404, "itemNotFound")["message"]
    assert message == f"Resource {resource} cannot be found."


def test_delete_answers_202_with_no_body_and_cascades(mock: Mock, client: TestClient) -> None:
    child = create(
        client, {"name": "x", "source": {"type": "ha", "id": HA}, "parent_id": HA_BACKUP}
    )
    child_id = child.json()["backup"]["id"]
    mock.clock.advance(5)
    response = client.delete(f"{BASE}/backups/{HA_BACKUP}", headers=TOKEN)
    assert response.status_code == 202 and response.content == b""
    for backup_id in (HA_BACKUP, child_id):
        fault(client.get(f"{BASE}/backups/{backup_id}", headers=TOKEN), 404, "itemNotFound")


def test_delete_of_a_running_chain_is_unprocessable_and_removes_nothing(client: TestClient) -> None:
    create(client, {"name": "x", "source": {"type": "ha", "id": HA}, "parent_id": HA_BACKUP})
    before = client.get(f"{BASE}/backups", headers=TOKEN).json()
    fault(client.delete(f"{BASE}/backups/{HA_BACKUP}", headers=TOKEN), 422, "unprocessableEntity")
    assert client.get(f"{BASE}/backups", headers=TOKEN).json() == before


# -- faults, auth, limits, forced responses (section 6) -----------------------------------------


def test_unknown_path_and_unknown_version_are_not_found(client: TestClient) -> None:
    for path in ("/v2.0/1234/backups", "/v1.0/1234/snapshots", "/nothing"):
        fault(client.get(path, headers=TOKEN), 404, "itemNotFound")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", f"{BASE}/backups", "GET, POST"),
        ("PATCH", f"{BASE}/backups/{HA_BACKUP}", "DELETE, GET"),
        ("POST", f"{BASE}/instances/{MYSQL}/backups", "GET"),
        ("DELETE", "/", "GET"),
    ],
)
def test_undocumented_method_is_bad_method_with_the_documented_allow(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path, headers=TOKEN)
    fault(response, 405, "badMethod")
    assert response.headers["allow"] == allow


@pytest.mark.parametrize("headers", [{}, {"X-Auth-Token": ""}, {"X-Auth-Token": "  "}])
def test_missing_or_empty_token_is_unauthorized(
    client: TestClient, headers: dict[str, str]
) -> None:
    fault(client.get(f"{BASE}/backups", headers=headers), 401, "unauthorized")


def test_versions_need_no_token(client: TestClient) -> None:
    assert client.get("/").json()["versions"][0]["id"] == "v1.0"


def test_token_table_refuses_unknown_tokens_and_foreign_accounts(store: str | None) -> None:
    tokens = {"alice": frozenset({"1234"}), "root": frozenset({"*"})}
    _, client = client_for(store, tokens=tokens)
    with client:
        unknown = {"X-Auth-Token": "mallory"}
        fault(client.get(f"{BASE}/backups", headers=unknown), 401, "unauthorized")
        fault(client.get("/v1.0/5678/backups", headers={"X-Auth-Token": "alice"}), 403, "forbidden")
        assert client.get(f"{BASE}/backups", headers={"X-Auth-Token": "alice"}).status_code == 200
        assert client.get("/v1.0/5678/backups", headers={"X-Auth-Token": "root"}).status_code == 200


def test_rate_limits_are_off_by_default(client: TestClient) -> None:
    for _ in range(25):
        assert client.get(f"{BASE}/backups/{HA_BACKUP}", headers=TOKEN).status_code == 200


def test_rate_limit_is_over_limit_with_retry_after_and_details(store: str | None) -> None:
    mock, client = client_for(store, rate_limits=True)
    with client:
        for _ in range(20):
            assert client.delete(f"{BASE}/backups/{UNKNOWN}", headers=TOKEN).status_code == 404
        response = client.delete(f"{BASE}/backups/{UNKNOWN}", headers=TOKEN)
        assert "20" in fault(response, 413, "overLimit")["details"]
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert client.get(f"{BASE}/backups", headers=TOKEN).status_code == 200  # per operation
        mock.clock.advance(60)
        assert client.delete(f"{BASE}/backups/{UNKNOWN}", headers=TOKEN).status_code == 404


def test_prefer_code_forces_a_documented_status_and_changes_nothing(client: TestClient) -> None:
    before = client.get(f"{BASE}/backups", headers=TOKEN).json()
    response = create(client, {"name": "x", "instance": MYSQL}, Prefer="code=503")
    fault(response, 503, "serviceUnavailable")
    forced = client.get(f"{BASE}/backups", headers={**TOKEN, "Prefer": "code=200"})
    assert forced.status_code == 200 and "backups" in forced.json()
    assert client.get(f"{BASE}/backups", headers=TOKEN).json() == before


def test_prefer_code_of_an_undocumented_status_is_bad_request(client: TestClient) -> None:
    response = client.get(f"{BASE}/backups", headers={**TOKEN, "Prefer": "code=418"})
    assert "418" in fault(response, 400, "badRequest")["message"]


def test_unexpected_exception_is_instance_fault_and_the_mock_keeps_serving(mock: Mock) -> None:
    def explode(*_: Any, **__: Any) -> Any:
        raise RuntimeError("boom")

    mock.store.view_backup = explode  # type: ignore[method-assign]
    with TestClient(mock, raise_server_exceptions=False) as client:
        fault(client.get(f"{BASE}/backups/{HA_BACKUP}", headers=TOKEN), 500, "instanceFault")
        assert client.get(f"{BASE}/backups", headers=TOKEN).status_code == 200


def test_responses_are_checked_against_the_spec(mock: Mock) -> None:
    mock.store.snapshot()  # a backup the spec forbids: a name longer than 64 characters
    state = mock.store.snapshot()
    state["accounts"]["1234"]["backups"][0]["name"] = "n" * 65
    mock.store.replace(state)
    with TestClient(mock, raise_server_exceptions=False) as client:
        response = client.get(f"{BASE}/backups", headers=TOKEN)
    assert "does not conform" in fault(response, 500, "instanceFault")["message"]
