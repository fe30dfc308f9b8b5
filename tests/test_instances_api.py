"""Instances and flavors over HTTP (contract section 11), as a consumer sees them: the documented
restore, the answer's fields, the checks in order, BUILD -> ACTIVE, delete, the flavors, the
state document, and a week of a restored instance's life on the mock's clock."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fixture_ids import HA_MEMBERS, MYSQL
from starlette.testclient import TestClient
from support import EXAMPLES, FIXTURES, read_json

from mockserver import create_app
from mockserver.app import Mock
from mockserver.cli import settings_from
from mockserver.state.clock import parse_timestamp, timestamp

TOKEN = {"X-Auth-Token": "87c6033c-9ff6-405f-943e-2deb73f278b7"}
BASE = "/v1.0/1234"
ROOT = "http://testserver"
DOCUMENTED_ROOT = "https://ord.databases.api.rackspacecloud.com"
RESTORABLE = "61f12fef-edb1-4561-8122-e7c00ef26a82"  # the restore example's backup
UNKNOWN = "00000000-0000-4000-8000-000000000000"
DAY, JSON = 86_400, "application/json"
Response = Any  # httpx's, or httpx2's: the one starlette's TestClient answers with


@pytest.fixture(scope="module")
def mock(module_store: str | None) -> Mock:
    """One mock for the module (the defaults: --build-seconds 5), reset before each test; its
    state in memory, then in Redis."""
    store = ["--store", module_store] if module_store else []
    return create_app(settings_from(["--frozen-clock", *store], {}))


@pytest.fixture
def client(mock: Mock) -> Iterator[TestClient]:
    with TestClient(mock) as client:
        assert client.post("/__mock/reset").status_code == 200
        yield client


def call(client: TestClient, method: str, path: str, body: Any = None) -> Response:
    return client.request(method, BASE + path, json=body, headers=TOKEN)


def create(client: TestClient, **fields: Any) -> Response:
    instance = {"name": "orders", "flavorRef": 1, "volume": {"size": 2}} | fields
    return call(client, "POST", "/instances", {"instance": instance})


def restore(client: TestClient, backup_id: str, **fields: Any) -> Response:
    return create(client, restorePoint={"backupRef": backup_id}, **fields)


def back_up(client: TestClient, instance: str) -> Response:
    return call(client, "POST", "/backups", {"backup": {"name": "b", "instance": instance}})


def status_of(client: TestClient, instance: str) -> str:
    return str(call(client, "GET", f"/instances/{instance}").json()["instance"]["status"])


def fault(response: Response, status: int, name: str) -> str:
    """Assert the documented fault shape; its message."""
    assert (response.status_code, response.headers["content-type"]) == (status, JSON), response.text
    body = response.json()
    assert list(body) == [name] and body[name]["code"] == status
    return str(body[name]["message"])


def links(kind: str, item_id: str) -> list[dict[str, str]]:
    return [
        {"href": f"{ROOT}{BASE}/{kind}/{item_id}", "rel": "self"},
        {"href": f"{ROOT}/{kind}/{item_id}", "rel": "bookmark"},
    ]


def now(mock: Mock) -> str:
    return timestamp(mock.clock.now())


def seed_big_backup(client: TestClient) -> None:
    """The restore example's backup made 3 GB (it no longer fits the default 2 GB volume)."""
    state = read_json(FIXTURES / "state.json")
    for backup in state["accounts"]["1234"]["backups"]:
        if backup["id"] == RESTORABLE:
            backup["size"] = 3.0
    assert client.put("/__mock/state", json=state).status_code == 200


# -- create and restore ---------------------------------------------------------------------------


def test_the_documented_restore_succeeds_verbatim_on_a_fresh_mock(
    mock: Mock, client: TestClient
) -> None:
    request = read_json(EXAMPLES / "createInstance" / "restoreBackup.request.json")
    documented = read_json(EXAMPLES / "createInstance" / "restoreBackup.response.json")
    response = client.post(
        request["path"], content=json.dumps(request["body"]), headers=request["headers"]
    )
    assert response.status_code == documented["status"] == 200, response.text
    instance, expected = response.json()["instance"], documented["body"]["instance"]
    made = instance["id"]
    assert set(instance) == set(expected)
    for name in ("name", "status", "datastore", "volume"):
        assert instance[name] == expected[name], name
    # The documented links, on this mock's root and with the new instance's id.
    text = json.dumps(expected).replace(DOCUMENTED_ROOT, ROOT).replace(expected["id"], made)
    here = json.loads(text)
    assert (instance["flavor"], instance["links"]) == (here["flavor"], here["links"])
    assert str(uuid.UUID(instance["id"])) == instance["id"] != expected["id"]
    assert instance["created"] == instance["updated"] == now(mock)
    assert instance["hostname"].endswith(".rackspaceclouddb.com")


def test_a_created_instance_shows_every_field_and_is_listed_at_once(
    mock: Mock, client: TestClient
) -> None:
    datastore = {"type": "Percona", "version": "5.6"}
    ignored = {"databases": [{"name": "db"}], "users": [], "configuration": None, "note": 1}
    response = create(client, flavorRef=f"{ROOT}{BASE}/flavors/2", volume={"size": 10},
                      datastore=datastore, **ignored)  # fmt: skip
    assert response.status_code == 200, response.text
    instance = response.json()["instance"]
    made = instance["id"]
    assert instance == {
        "id": made, "name": "orders", "status": "BUILD",
        "datastore": {"type": "percona", "version": "5.6"},
        "flavor": {"id": "2", "links": links("flavors", "2")}, "volume": {"size": 10},
        "hostname": f"{made.replace('-', '')}.dfw.rackspaceclouddb.com",
        "links": links("instances", made), "created": now(mock), "updated": now(mock),
    }  # fmt: skip
    assert call(client, "GET", f"/instances/{made}").json() == {"instance": instance}
    listed = [i["id"] for i in call(client, "GET", "/instances").json()["instances"]]
    assert made in listed and listed == sorted(listed)


# Each request breaks two rules; the first in the contract's order answers.
@pytest.mark.parametrize(
    ("fields", "status", "name", "message"),
    [
        ({"name": "", "flavorRef": 99}, 400, "badRequest", "body/instance/name"),
        ({"volume": {"size": 151}, "restorePoint": {"backupRef": UNKNOWN}}, 400, "badRequest",
         "body/instance/volume/size"),
        ({"flavorRef": "9", "datastore": {"type": "db2"}}, 404, "itemNotFound", "Flavor 9 "),
        ({"flavorRef": "/flavors/99", "restorePoint": {"backupRef": "x"}}, 404, "itemNotFound",
         "Flavor /flavors/99 "),
        ({"datastore": {"type": "db2"}, "restorePoint": {"backupRef": UNKNOWN}}, 404,
         "itemNotFound", "Datastore 'db2'"),
        ({"datastore": {"version": "9"}, "restorePoint": {"backupRef": "new"}}, 404,
         "itemNotFound", "Datastore version '9'"),
        ({"datastore": {"type": "percona"}, "restorePoint": {"backupRef": "new"}}, 422,
         "unprocessableEntity", "is NEW"),
        ({"datastore": {"type": "percona"}, "restorePoint": {"backupRef": RESTORABLE}}, 400,
         "badRequest", "is 3.0 GB"),
    ],
    ids=["schema, flavor", "schema, backup", "flavor, datastore", "flavor, backup",
         "datastore, backup", "version, NEW backup", "NEW backup, datastore", "size, datastore"],
)  # fmt: skip
def test_create_checks_come_in_the_documented_order(
    client: TestClient, fields: dict[str, Any], status: int, name: str, message: str
) -> None:
    seed_big_backup(client)
    if fields.get("restorePoint") == {"backupRef": "new"}:
        backup = back_up(client, MYSQL).json()["backup"]
        fields = fields | {"restorePoint": {"backupRef": backup["id"]}}
    before = call(client, "GET", "/instances").json()
    assert message in fault(create(client, **fields), status, name)
    assert call(client, "GET", "/instances").json() == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"name": None}, "name"), ({"name": ""}, "name"), ({"name": "a" * 65}, "name"),
     ({"name": "øø-"}, "name"), ({"flavorRef": None}, "flavorRef"), ({"flavorRef": 0}, "flavorRef"),
     ({"flavorRef": 1.5}, "flavorRef"), ({"flavorRef": ""}, "flavorRef"),
     ({"flavorRef": True}, "flavorRef"), ({"volume": None}, "volume"), ({"volume": {}}, "volume"),
     ({"volume": {"size": 0}}, "volume/size"), ({"volume": {"size": 151}}, "volume/size"),
     ({"volume": {"size": "2"}}, "volume/size"), ({"volume": {"size": 2.5}}, "volume/size"),
     ({"name": "a" * 64}, None), ({"name": "ø1"}, None), ({"flavorRef": "2"}, None),
     ({"volume": {"size": 1}}, None), ({"volume": {"size": 150}}, None)],
)  # fmt: skip
def test_a_name_flavor_ref_or_volume_out_of_bounds_is_a_bad_request(
    client: TestClient, fields: dict[str, Any], field: str | None
) -> None:
    instance = {"name": "orders", "flavorRef": 1, "volume": {"size": 2}} | fields
    body = {"instance": {k: v for k, v in instance.items() if v is not None}}  # None: left out
    answer = call(client, "POST", "/instances", body)
    if field is None:  # within bounds
        assert answer.status_code == 200, answer.text
        return
    violations = fault(answer, 400, "badRequest").split(": ", 1)[1].split("; ")
    assert all(f"instance/{field}" in v.replace("instance: '", "instance/") for v in violations)


@pytest.mark.parametrize(
    ("content_type", "body", "status", "name"),
    [
        ("text/plain", b'{"instance": {}}' + b" " * 70_000, 415, "badMediaType"),
        (JSON, b'{"instance": {}}' + b" " * 70_000, 413, "overLimit"),
        (JSON, b'{"instance": {"name": "x"', 400, "badRequest"),
    ],
    ids=["not JSON, too large", "too large, invalid", "malformed"],
)
def test_a_body_that_is_not_json_or_too_large_is_refused_before_its_schema(
    client: TestClient, content_type: str, body: bytes, status: int, name: str
) -> None:
    headers = TOKEN | {"Content-Type": content_type}
    fault(client.post(f"{BASE}/instances", content=body, headers=headers), status, name)


# -- BUILD, then ACTIVE ---------------------------------------------------------------------------


def test_an_instance_is_build_for_five_seconds_then_active(mock: Mock, client: TestClient) -> None:
    made = create(client).json()["instance"]
    refused = fault(back_up(client, made["id"]), 422, "unprocessableEntity")
    assert "status BUILD" in refused
    mock.clock.advance(4.75)  # binary fractions, so that the clock's sums are exact
    assert status_of(client, made["id"]) == "BUILD"
    mock.clock.advance(0.25)
    shown = call(client, "GET", f"/instances/{made['id']}").json()["instance"]
    assert shown == made | {"status": "ACTIVE", "updated": now(mock)}
    assert parse_timestamp(shown["updated"]) - parse_timestamp(shown["created"]) == 5
    listed = call(client, "GET", "/instances").json()["instances"]
    assert [i["status"] for i in listed if i["id"] == made["id"]] == ["ACTIVE"]
    assert back_up(client, made["id"]).status_code == 202


def test_the_build_seconds_option_sets_how_long_build_lasts() -> None:
    mock = create_app(settings_from(["--frozen-clock", "--build-seconds", "2"], {}))
    with TestClient(mock) as client:
        made = create(client).json()["instance"]
        mock.clock.advance(1.75)
        assert status_of(client, made["id"]) == "BUILD"
        mock.clock.advance(0.25)
        assert status_of(client, made["id"]) == "ACTIVE"


# -- delete ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["unknown", "BUILD", "BACKUP", "HA member"])
def test_delete_is_refused_for_an_unknown_id_while_build_or_backup_and_for_an_ha_member(
    client: TestClient, target: str
) -> None:
    instance = {"unknown": UNKNOWN, "HA member": HA_MEMBERS[0], "BACKUP": MYSQL}.get(target, "")
    if target == "BUILD":
        instance = create(client).json()["instance"]["id"]
    if target == "BACKUP":
        back_up(client, MYSQL)
    answer = call(client, "DELETE", f"/instances/{instance}")
    if target == "unknown":
        assert fault(answer, 404, "itemNotFound") == f"Resource {UNKNOWN} cannot be found."
        return
    assert f"{instance} is" in fault(answer, 422, "unprocessableEntity")
    assert status_of(client, instance) == ("ACTIVE" if target == "HA member" else target)


# -- flavors --------------------------------------------------------------------------------------


def test_the_documented_flavor_list_and_show_are_what_the_mock_answers(client: TestClient) -> None:
    for operation, name in (("getFlavors", "listFlavors"), ("getFlavorById", "showFlavor")):
        request = read_json(EXAMPLES / operation / f"{name}.request.json")
        documented = read_json(EXAMPLES / operation / f"{name}.response.json")
        response = client.get(request["path"], headers=request["headers"])
        assert response.status_code == documented["status"] == 200
        # The example's last two flavors link to account 647683: the mock links to the caller's.
        text = json.dumps(documented["body"]).replace(DOCUMENTED_ROOT, ROOT)
        assert response.json() == json.loads(text.replace("/v1.0/647683/", f"{BASE}/"))


@pytest.mark.parametrize(
    ("flavor_id", "shown"), [("1.5", 1), ("8.0", 8), ("9", None), ("abc", None)]
)
def test_a_flavor_id_loses_its_decimal_part_and_an_unknown_one_is_not_found(
    client: TestClient, flavor_id: str, shown: int | None
) -> None:
    answer = call(client, "GET", f"/flavors/{flavor_id}")
    if shown is None:
        assert fault(answer, 404, "itemNotFound") == f"Resource {flavor_id} cannot be found."
    else:
        assert answer.json()["flavor"]["id"] == shown


# -- the state document ---------------------------------------------------------------------------


def test_get_then_put_of_the_state_changes_nothing_with_an_instance_in_build(
    mock: Mock, client: TestClient
) -> None:
    made = create(client).json()["instance"]
    mock.clock.advance(1)
    state = client.get("/__mock/state").json()
    put = client.put("/__mock/state", json=state)
    assert put.status_code == 200 and put.json() == state
    assert client.get("/__mock/state").json() == state
    assert call(client, "GET", f"/instances/{made['id']}").json()["instance"] == made
    mock.clock.advance(4)  # ACTIVE 5 s after it was made: its ready_at was kept
    assert status_of(client, made["id"]) == "ACTIVE"


def test_ready_at_on_an_instance_not_in_build_is_a_bad_state_document(client: TestClient) -> None:
    state = client.get("/__mock/state").json()
    wrong = json.loads(json.dumps(state))
    wrong["accounts"]["1234"]["instances"][0]["ready_at"] = 0
    assert "ready_at" in fault(client.put("/__mock/state", json=wrong), 400, "badRequest")
    assert client.get("/__mock/state").json() == state


def test_an_old_state_document_loads_with_the_default_flavors(client: TestClient) -> None:
    state = client.get("/__mock/state").json()
    flavors = state.pop("flavors")
    state["datastores"] = ["mysql", "percona"]  # names only, as before versions
    assert client.put("/__mock/state", json=state).status_code == 200
    assert client.get("/__mock/state").json()["flavors"] == flavors
    made = create(client, datastore={"type": "mysql", "version": "8.0"})
    assert made.json()["instance"]["datastore"] == {"type": "mysql", "version": "8.0"}
    fault(create(client, datastore={"type": "mariadb"}), 404, "itemNotFound")


# -- a week ---------------------------------------------------------------------------------------


def test_a_week_of_a_restored_instance(mock: Mock, client: TestClient) -> None:
    ours = back_up(client, MYSQL).json()["backup"]
    mock.clock.advance(5)
    restored = restore(client, ours["id"]).json()["instance"]
    made = restored["id"]
    assert restored["status"] == "BUILD"
    assert restored["datastore"] == {"type": "mysql", "version": "5.6"}
    building = fault(call(client, "DELETE", f"/instances/{made}"), 422, "unprocessableEntity")
    assert f"{made} is BUILD" in building
    mock.clock.advance(5)
    first = back_up(client, made).json()["backup"]
    assert (first["flavor_ram"], first["volume_size"]) == (512, 2)  # flavor 1, the volume asked
    assert first["datastore"] == ours["datastore"]
    assert status_of(client, made) == "BACKUP"
    refused = fault(call(client, "DELETE", f"/instances/{made}"), 422, "unprocessableEntity")
    assert f"backup {first['id']} of it runs" in refused
    schedule = {"schedule": {"action": "backup", "day_of_week": 0, "hour": 2, "minute": 0,
                             "instance_id": made}}  # fmt: skip
    planned = call(client, "POST", "/schedules", schedule).json()["schedule"]
    # To Saturday 03:00: Sunday's full backup and six daily incrementals, all COMPLETED.
    to_first = math.ceil(parse_timestamp(planned["next_run"]) - mock.clock.now())
    mock.clock.advance(to_first + 6 * DAY + 3600)
    backups = call(client, "GET", f"/instances/{made}/backups").json()["backups"]
    assert [b["type"] for b in backups].count("InnoBackupExIncremental") == 6
    assert len(backups) == 8 and {b["status"] for b in backups} == {"COMPLETED"}
    answer = call(client, "DELETE", f"/instances/{made}")
    assert (answer.status_code, answer.content) == (202, b"")
    gone = fault(call(client, "GET", f"/instances/{made}"), 404, "itemNotFound")
    assert gone == f"Resource {made} cannot be found."
    assert made not in [i["id"] for i in call(client, "GET", "/instances").json()["instances"]]
    fault(call(client, "GET", f"/instances/{made}/backups"), 404, "itemNotFound")
    fault(call(client, "GET", f"/schedules/{planned['id']}"), 404, "itemNotFound")
    kept = call(client, "GET", "/backups").json()["backups"]
    assert [b for b in kept if b["instance_id"] == made] == backups
    assert call(client, "GET", f"/backups/{first['id']}").json()["backup"] == backups[-1]
    again = restore(client, backups[0]["id"]).json()["instance"]  # the newest, an incremental
    mock.clock.advance(5)
    shown = call(client, "GET", f"/instances/{again['id']}").json()["instance"]
    assert (shown["status"], shown["datastore"]) == ("ACTIVE", restored["datastore"])
