"""Regions and copies of backups over HTTP (contract section 12), as a consumer sees them: each
region's API under its lower-case code (the own region's at /v1.0 too), links with the prefix, the
copy-backup action's answers, the journal, fault rules, the state document and reset of every
region, scheduled copies, and the issue's two "done when" stories on the mock's clock."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
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
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.state.clock import parse_timestamp

TOKEN = {"X-Auth-Token": "87c6033c-9ff6-405f-943e-2deb73f278b7"}
ROOT = "http://testserver"
DFW, IAD, ORD = "/v1.0/1234", "/iad/v1.0/1234", "/ord/v1.0/1234"
OTHERS = ["iad", "ord", "lon", "hkg", "syd"]  # the regions other than the mock's own, DFW
UNKNOWN = "00000000-0000-4000-8000-000000000000"
JSON = "application/json"
FULL, INCREMENTAL = "InnoBackupEx", "InnoBackupExIncremental"
QUOTA_EXCEEDED = "Quota exceeded for resources: ['backups']."
BACKUP_FIELDS = {"id", "name", "description", "status", "created", "updated", "instance_id",
                 "source", "parent_id", "locationRef", "size", "type", "is_automated",
                 "flavor_ram", "volume_size", "datastore"}  # fmt: skip
Response = Any  # httpx's, or httpx2's: the one starlette's TestClient answers with


@pytest.fixture(scope="module")
def mock(module_store: str | None) -> Mock:
    """One mock for the module (DFW, a frozen clock), reset before each test; its state in
    memory, then in Redis."""
    return create_app(Settings(frozen_clock=True, store=module_store))


@pytest.fixture
def client(mock: Mock) -> Iterator[TestClient]:
    with TestClient(mock) as client:
        assert client.post("/__mock/reset").status_code == 200
        assert client.delete("/__mock/requests").status_code == 204
        yield client


def call(client: TestClient, method: str, path: str, body: Any = None) -> Response:
    return client.request(method, path, json=body, headers=TOKEN)


def fault(response: Response, status: int, name: str) -> str:
    """Assert the documented fault shape; its message."""
    assert (response.status_code, response.headers["content-type"]) == (status, JSON), response.text
    body = response.json()
    assert list(body) == [name] and body[name]["code"] == status
    return str(body[name]["message"])


def advance(client: TestClient, seconds: float) -> None:
    answer = client.post("/__mock/clock", json={"advance_seconds": seconds})
    assert answer.status_code == 200, answer.text


def back_up(client: TestClient, base: str = DFW, instance: str = MYSQL, **fields: Any) -> Any:
    body = {"backup": {"name": "b", "instance": instance} | fields}
    answer = call(client, "POST", f"{base}/backups", body)
    assert answer.status_code == 202, answer.text
    return answer.json()["backup"]


def copy(client: TestClient, backup_id: str, target: str, base: str = DFW, **fields: Any) -> Any:
    body = {"copy-backup": {"target_backup_region": target} | fields}
    return call(client, "POST", f"{base}/backups/{backup_id}/action", body)


def copied(client: TestClient, backup_id: str, target: str, base: str = DFW) -> None:
    answer = copy(client, backup_id, target, base)
    assert (answer.status_code, answer.content) == (202, b""), answer.text


def backups(client: TestClient, base: str) -> list[dict[str, Any]]:
    answer = call(client, "GET", f"{base}/backups")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["backups"]
    return found


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def new_instance(client: TestClient, base: str, **fields: Any) -> Any:
    instance = {"name": "db", "flavorRef": "1", "volume": {"size": 2}} | fields
    answer = call(client, "POST", f"{base}/instances", {"instance": instance})
    assert answer.status_code == 200, answer.text
    return answer.json()["instance"]


def location(region: str, backup_id: str) -> str:
    return (
        f"https://snet-storage101.{region}1.clouddrive.com/v1/MossoCloudFS_1234"
        f"/z_CLOUDDB_BACKUPS/{backup_id}.xbstream.gz"
    )


def state(client: TestClient) -> Any:
    return client.get("/__mock/state").json()


# -- a region's API at its prefix --------------------------------------------------------------

LISTS = [
    ("/backups", "backups", FIXTURE_BACKUPS),
    ("/instances", "instances", FIXTURE_INSTANCES),
    ("/ha", "ha_instances", [HA]),
    (f"/instances/{SCHEDULABLE}/backups", "backups", FIXTURE_BACKUPS[2:]),
    (f"/ha/{HA}/backups", "backups", [HA_BACKUP]),
    ("/schedules", "schedules", []),
]
SHOWS = [f"/backups/{HA_BACKUP}", f"/instances/{MYSQL}", f"/ha/{HA}"]


@pytest.mark.parametrize("base", [DFW, "/dfw/v1.0/1234"], ids=["v1.0", "dfw"])
def test_the_own_region_answers_with_the_fixture_at_v1_0_and_under_its_prefix(
    client: TestClient, base: str
) -> None:
    for path, key, expected in LISTS:
        answer = call(client, "GET", base + path)
        assert (answer.status_code, ids(answer.json()[key])) == (200, expected), path
    for path in SHOWS:
        assert call(client, "GET", base + path).status_code == 200, path
    flavors = call(client, "GET", f"{base}/flavors").json()["flavors"]
    assert [f["id"] for f in flavors] == list(range(1, 9))


@pytest.mark.parametrize("region", OTHERS)
def test_every_other_region_answers_its_own_empty_state(client: TestClient, region: str) -> None:
    base = f"/{region}/v1.0/1234"
    for path, key, _ in LISTS:
        if "/backups" in path and path != "/backups":  # the instance's list: no such instance
            message = fault(call(client, "GET", base + path), 404, "itemNotFound")
            assert message == f"Resource {path.split('/')[2]} cannot be found."
            continue
        answer = call(client, "GET", base + path)
        assert (answer.status_code, answer.json()) == (200, {key: []}), path
    for path in SHOWS:
        message = fault(call(client, "GET", base + path), 404, "itemNotFound")
        assert message == f"Resource {path.split('/')[-1]} cannot be found.", path
    # Flavors are the same in every region (the fixture's), linked under the region's prefix.
    flavor = call(client, "GET", f"{base}/flavors/2").json()["flavor"]
    assert (flavor["name"], flavor["links"][0]["href"]) == (
        "1GB Instance",
        f"{ROOT}{base}/flavors/2",
    )
    fault(client.get(f"{base}/backups"), 401, "unauthorized")  # the token rule holds there too


def test_what_is_made_through_a_regions_path_is_read_only_through_it(
    client: TestClient,
) -> None:
    instance = new_instance(client, IAD)
    assert instance["hostname"].endswith(".iad.rackspaceclouddb.com")
    advance(client, 5)
    made = back_up(client, IAD, instance["id"])
    schedule = {"schedule": {"action": "backup", "day_of_week": 0, "hour": 2, "minute": 0,
                             "instance_id": instance["id"], "copy_to": ["DFW"]}}  # fmt: skip
    planned = call(client, "POST", f"{IAD}/schedules", schedule)
    assert planned.status_code == 202, planned.text
    planned_id = planned.json()["schedule"]["id"]
    in_dfw = back_up(client)
    assert ids(backups(client, IAD)) == [made["id"]]
    assert in_dfw["id"] in ids(backups(client, DFW)) and made["id"] not in ids(backups(client, DFW))
    dfw_instances = ids(call(client, "GET", f"{DFW}/instances").json()["instances"])
    assert dfw_instances == FIXTURE_INSTANCES
    assert ids(call(client, "GET", f"{IAD}/instances").json()["instances"]) == [instance["id"]]
    assert ids(call(client, "GET", f"{IAD}/schedules").json()["schedules"]) == [planned_id]
    assert call(client, "GET", f"{DFW}/schedules").json() == {"schedules": []}
    for path in (
        f"{DFW}/backups/{made['id']}",
        f"{DFW}/instances/{instance['id']}",
        f"{DFW}/schedules/{planned_id}",
        f"{IAD}/backups/{in_dfw['id']}",
        f"{ORD}/backups/{made['id']}",
        f"/dfw/v1.0/1234/instances/{instance['id']}",
    ):
        fault(call(client, "GET", path), 404, "itemNotFound")
    shown = call(client, "GET", f"{IAD}/instances/{instance['id']}").json()["instance"]
    assert shown["status"] == "BACKUP"


@pytest.mark.parametrize("prefix", ["", "/dfw", "/iad"], ids=["v1.0", "dfw", "iad"])
def test_links_carry_the_prefix_the_request_was_sent_with(client: TestClient, prefix: str) -> None:
    base = f"{prefix}/v1.0/1234"
    versions = client.get(f"{prefix}/").json()["versions"]
    assert versions[0]["links"] == [{"href": f"{ROOT}{prefix}/v1.0/", "rel": "self"}]
    made = new_instance(client, base)
    assert made["links"] == [
        {"href": f"{ROOT}{base}/instances/{made['id']}", "rel": "self"},
        {"href": f"{ROOT}{prefix}/instances/{made['id']}", "rel": "bookmark"},
    ]
    assert made["flavor"]["links"][0]["href"] == f"{ROOT}{base}/flavors/1"
    shown = call(client, "GET", f"{base}/instances/{made['id']}").json()["instance"]
    assert shown["links"] == made["links"]
    flavors = call(client, "GET", f"{base}/flavors").json()["flavors"]
    bookmarks = {f["links"][1]["href"] for f in flavors}
    assert bookmarks == {f"{ROOT}{prefix}/flavors/{n}" for n in range(1, 9)}
    for backup_id in FIXTURE_BACKUPS[:3]:  # IAD too holds three pages of one then
        copied(client, backup_id, "IAD")
    first = call(client, "GET", f"{base}/backups?limit=1").json()
    (link,) = first["links"]
    assert link == {
        "href": f"{ROOT}{base}/backups?limit=1&marker={first['backups'][0]['id']}",
        "rel": "next",
    }
    second = call(client, "GET", link["href"].removeprefix(ROOT)).json()
    assert len(second["backups"]) == 1 and second["backups"] != first["backups"]
    assert second["links"][0]["href"].startswith(f"{ROOT}{base}/backups?")


def test_the_own_region_is_one_state_at_v1_0_and_under_its_prefix(client: TestClient) -> None:
    through_prefix = back_up(client, "/dfw/v1.0/1234", PERCONA)
    through_root = back_up(client, DFW, MYSQL)
    assert call(client, "GET", f"{DFW}/backups/{through_prefix['id']}").status_code == 200
    assert call(client, "GET", f"/dfw/v1.0/1234/backups/{through_root['id']}").status_code == 200
    assert backups(client, DFW) == backups(client, "/dfw/v1.0/1234")
    advance(client, 5)
    answer = call(client, "DELETE", f"/dfw/v1.0/1234/backups/{through_root['id']}")
    assert answer.status_code == 202
    fault(call(client, "GET", f"{DFW}/backups/{through_root['id']}"), 404, "itemNotFound")


def test_a_mock_of_another_region_serves_that_region_at_v1_0() -> None:
    mock = create_app(Settings(frozen_clock=True, region="IAD"))
    with TestClient(mock) as client:
        assert ids(backups(client, DFW)) == ids(backups(client, IAD)) == FIXTURE_BACKUPS
        assert backups(client, "/dfw/v1.0/1234") == []
        made = back_up(client, DFW)
        assert made["id"] in ids(backups(client, IAD))
        fault(copy(client, made["id"], "IAD"), 400, "badRequest")  # its own region
        advance(client, 5)
        copied(client, made["id"], "DFW")
        assert [b["name"] for b in backups(client, "/dfw/v1.0/1234")] == ["b"]
        document = state(client)
        assert document["region"] == "IAD"
        assert set(document["regions"]) == {"DFW", "ORD", "LON", "HKG", "SYD"}
        journal = client.get("/__mock/requests", params={"region": "IAD"}).json()["requests"]
        assert {e["path"] for e in journal} >= {f"{DFW}/backups", f"{IAD}/backups"}


@pytest.mark.parametrize(
    "path",
    ["/xyz/v1.0/1234/backups", "/IAD/v1.0/1234/backups", "/Iad/v1.0/1234/backups",
     "/iadx/v1.0/1234/backups", "/iad/v2.0/1234/backups", "/iad/iad/v1.0/1234/backups",
     "/v1.0/iad/1234/backups"],
)  # fmt: skip
def test_an_unknown_or_upper_case_region_prefix_is_not_found(client: TestClient, path: str) -> None:
    fault(call(client, "GET", path), 404, "itemNotFound")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/iad/__mock/state", None), ("POST", "/iad/__mock/reset", None),
     ("GET", "/dfw/__mock/clock", None), ("POST", "/ord/__mock/clock", {"advance_seconds": 60}),
     ("PUT", "/iad/__mock/state", {"accounts": {}}), ("DELETE", "/dfw/__mock/requests", None),
     ("POST", "/iad/__mock/faults", {"backups": "fail_all"})],
)  # fmt: skip
def test_the_control_api_is_served_at___mock_only(
    client: TestClient, method: str, path: str, body: Any
) -> None:
    back_up(client)  # in the journal, and in the state
    before = (
        state(client),
        client.get("/__mock/clock").json(),
        client.get("/__mock/faults").json(),
    )
    fault(client.request(method, path, json=body), 404, "itemNotFound")
    after = (state(client), client.get("/__mock/clock").json(), client.get("/__mock/faults").json())
    assert after == before
    assert len(client.get("/__mock/requests").json()["requests"]) == 2


# -- the copy action ---------------------------------------------------------------------------


def test_the_documented_copy_answers_202_with_no_body_and_the_copy_is_new_in_the_target(
    mock: Mock, client: TestClient
) -> None:
    # The method page's request, without its trailing comma.
    body = {"copy-backup": {"target_backup_region": "IAD", "description": "a backup copy",
                            "name": "dfw-to-iad"}}  # fmt: skip
    original = call(client, "GET", f"{DFW}/backups/{PERCONA_BACKUP}").json()["backup"]
    answer = call(client, "POST", f"{DFW}/backups/{PERCONA_BACKUP}/action", body)
    assert (answer.status_code, answer.content) == (202, b"")
    assert "content-type" not in answer.headers
    (made,) = backups(client, IAD)
    assert set(made) == BACKUP_FIELDS
    assert (made["name"], made["description"], made["status"]) == (
        "dfw-to-iad",
        "a backup copy",
        "NEW",
    )
    assert made["id"] != PERCONA_BACKUP and made["created"] == made["updated"]
    assert parse_timestamp(made["created"]) == int(mock.clock.now())
    same = ("type", "datastore", "flavor_ram", "volume_size", "instance_id", "source")
    assert {k: made[k] for k in same} == {k: original[k] for k in same}
    assert (made["parent_id"], made["size"], made["locationRef"], made["is_automated"]) == (
        None,
        None,
        None,
        0,
    )
    assert call(client, "GET", f"{IAD}/backups/{made['id']}").json() == {"backup": made}
    assert ids(backups(client, DFW)) == FIXTURE_BACKUPS
    advance(client, 5)
    done = call(client, "GET", f"{IAD}/backups/{made['id']}").json()["backup"]
    assert (done["status"], done["size"], done["locationRef"]) == (
        "COMPLETED",
        original["size"],
        location("iad", made["id"]),
    )
    assert call(client, "GET", f"{DFW}/backups/{PERCONA_BACKUP}").json()["backup"] == original


ORIGINAL_NAMES = ("test_instance-backup", "My standalone instance backup1")  # PERCONA_BACKUP's


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": None, "description": None}, ORIGINAL_NAMES),
        ({"name": "ø-1", "description": ""}, ("ø-1", "")),
        ({"unknown": 1}, ORIGINAL_NAMES),
    ],
    ids=["null: the original's", "given", "an unknown member"],
)
def test_a_copys_name_and_description_are_the_ones_given_else_the_originals(
    client: TestClient, fields: dict[str, Any], expected: tuple[str, str]
) -> None:
    copied_with = copy(client, PERCONA_BACKUP, "HKG", **fields)
    assert copied_with.status_code == 202, copied_with.text
    (made,) = backups(client, "/hkg/v1.0/1234")
    assert (made["name"], made["description"]) == expected


def chain(client: TestClient) -> dict[str, str]:
    """In DFW: a COMPLETED full backup F of MYSQL, its COMPLETED incremental I, and a NEW backup
    R of PERCONA."""
    full = back_up(client)
    advance(client, 5)
    incremental = back_up(client, parent_id=full["id"])
    advance(client, 5)
    running = back_up(client, instance=PERCONA)
    assert incremental["type"] == INCREMENTAL
    return {"F": full["id"], "I": incremental["id"], "R": running["id"]}


# Where a request breaks two rules, the first in the contract's order answers.
@pytest.mark.parametrize(
    ("backup", "body", "status", "name", "message"),
    [
        ("unknown", {"copy-backup": {"target_backup_region": "IAD"}}, 404, "itemNotFound",
         "Resource {} cannot be found."),
        ("unknown", {"copy-backup": {"target_backup_region": "LON"}}, 404, "itemNotFound",
         "Resource {} cannot be found."),
        ("F", {"copy-backup": {"target_backup_region": "DFW"}}, 400, "badRequest",
         "Backup {} is in DFW already"),
        ("F", {"copy-backup": {"target_backup_region": "LON"}}, 400, "badRequest",
         "Backups cannot be copied from or to LON"),
        ("R", {"copy-backup": {"target_backup_region": "LON"}}, 400, "badRequest",
         "Backups cannot be copied from or to LON"),
        ("R", {"copy-backup": {"target_backup_region": "IAD"}}, 422, "unprocessableEntity",
         "Backup {} is NEW: only a COMPLETED backup can be copied."),
        ("I", {"copy-backup": {"target_backup_region": "IAD"}}, 400, "badRequest",
         "Backup {} is incremental and its parent"),
        ("unknown", {"restore": {}}, 400, "badRequest", "'restore' was unexpected"),
        ("F", {"restore": {}}, 400, "badRequest", "'copy-backup' is a required property"),
        ("F", {"copy-backup": {}}, 400, "badRequest",
         "'target_backup_region' is a required property"),
        ("F", {"copy-backup": {"target_backup_region": "iad"}}, 400, "badRequest",
         "'iad' is not one of"),
        ("F", {"copy-backup": {"target_backup_region": "XYZ"}}, 400, "badRequest",
         "'XYZ' is not one of"),
        ("F", {"copy-backup": {"target_backup_region": None}}, 400, "badRequest",
         "target_backup_region"),
        ("F", {"copy-backup": {"target_backup_region": "IAD"}, "restore": {}}, 400, "badRequest",
         "'restore' was unexpected"),
        ("F", {"copy-backup": {"target_backup_region": "IAD", "name": ""}}, 400, "badRequest",
         "copy-backup/name"),
        ("F", {"copy-backup": "IAD"}, 400, "badRequest", "copy-backup"),
    ],
    ids=["unknown", "unknown, LON", "own region", "to LON", "LON, NEW", "NEW",
         "incremental first", "schema, unknown", "another action", "no region", "lower case",
         "unknown region", "null region", "two actions", "empty name", "not an object"],
)  # fmt: skip
def test_a_refused_copy_answers_its_documented_fault_and_changes_nothing(
    client: TestClient, backup: str, body: Any, status: int, name: str, message: str
) -> None:
    names = chain(client)
    backup_id = names.get(backup, UNKNOWN)
    before = state(client)
    answer = call(client, "POST", f"{DFW}/backups/{backup_id}/action", body)
    assert message.format(backup_id) in fault(answer, status, name)
    assert state(client) == before


@pytest.mark.parametrize(
    ("content_type", "body", "status", "name"),
    [
        ("text/plain", b'{"copy-backup": {"target_backup_region": "IAD"}}', 415, "badMediaType"),
        ("text/plain", b"{}" + b" " * 70_000, 415, "badMediaType"),
        (JSON, b'{"copy-backup": {}}' + b" " * 70_000, 413, "overLimit"),
        (JSON, b'{"copy-backup": {"target_backup_region": "IAD"', 400, "badRequest"),
        (JSON, b'{"copy-backup": {"target_backup_region": "\xff"}}', 400, "badRequest"),
        (JSON, b"", 400, "badRequest"),
    ],
    ids=["not JSON", "not JSON, too large", "too large, invalid", "malformed", "not UTF-8",
         "empty"],
)  # fmt: skip
def test_a_copy_body_that_is_not_json_or_too_large_is_refused_before_its_schema(
    client: TestClient, content_type: str, body: bytes, status: int, name: str
) -> None:
    headers = TOKEN | {"Content-Type": content_type}
    path = f"{DFW}/backups/{PERCONA_BACKUP}/action"
    fault(client.post(path, content=body, headers=headers), status, name)
    assert backups(client, IAD) == []


def test_a_copy_past_the_quota_of_the_target_region_is_413() -> None:
    mock = create_app(Settings(frozen_clock=True, quota=5))  # DFW holds four backups
    with TestClient(mock) as client:
        for backup_id in [*FIXTURE_BACKUPS, PERCONA_BACKUP]:
            copied(client, backup_id, "IAD")
        before = state(client)
        refused = copy(client, HA_BACKUP, "IAD")
        assert fault(refused, 413, "overLimit").startswith(QUOTA_EXCEEDED)
        assert "retry-after" not in refused.headers
        assert state(client) == before
        back_up(client)  # DFW's count is its own: a fifth backup fits there
        copied(client, HA_BACKUP, "ORD")


def test_a_copy_copies_the_backup_of_the_region_the_request_is_sent_to(
    client: TestClient,
) -> None:
    copied(client, PERCONA_BACKUP, "IAD")
    (made,) = backups(client, IAD)
    advance(client, 5)
    fault(copy(client, made["id"], "ORD"), 404, "itemNotFound")  # sent to DFW: not DFW's
    fault(copy(client, PERCONA_BACKUP, "ORD", base=IAD), 404, "itemNotFound")  # not IAD's
    copied(client, made["id"], "ORD", base=IAD)
    (again,) = backups(client, ORD)
    assert (again["name"], again["instance_id"]) == (made["name"], PERCONA)
    stored = state(client)["regions"]["ORD"]["accounts"]["1234"]["backups"]
    assert stored[0]["copy_of"] == {"region": "IAD", "id": made["id"]}


def test_deleting_a_copy_or_its_original_leaves_the_other(client: TestClient) -> None:
    made = back_up(client)
    advance(client, 5)
    copied(client, made["id"], "IAD")
    copied(client, made["id"], "ORD")
    advance(client, 5)
    in_iad, in_ord = backups(client, IAD)[0], backups(client, ORD)[0]
    assert call(client, "DELETE", f"{IAD}/backups/{in_iad['id']}").status_code == 202
    assert call(client, "GET", f"{DFW}/backups/{made['id']}").json()["backup"]["status"] == (
        "COMPLETED"
    )
    assert call(client, "DELETE", f"{DFW}/backups/{made['id']}").status_code == 202
    assert backups(client, ORD) == [in_ord] and backups(client, IAD) == []


# -- the journal and fault rules ---------------------------------------------------------------


def test_the_journal_names_each_requests_region_and_filters_by_it(client: TestClient) -> None:
    paths = [f"{DFW}/backups", "/dfw/v1.0/1234/backups", f"{IAD}/backups", f"{ORD}/flavors"]
    for path in paths:
        assert call(client, "GET", path).status_code == 200
    copied(client, PERCONA_BACKUP, "IAD")  # sent to DFW: a request to DFW
    entries = client.get("/__mock/requests").json()["requests"]
    action = f"{DFW}/backups/{PERCONA_BACKUP}/action"
    assert [(e["path"], e["region"]) for e in entries] == [
        (paths[0], "DFW"),
        (paths[1], "DFW"),
        (paths[2], "IAD"),
        (paths[3], "ORD"),
        (action, "DFW"),
    ]

    def journal(**query: str) -> list[str]:
        answer = client.get("/__mock/requests", params=query)
        assert answer.status_code == 200, answer.text
        return [e["path"] for e in answer.json()["requests"]]

    assert journal(region="DFW") == [paths[0], paths[1], action]
    assert journal(region="IAD") == [paths[2]]
    assert journal(region="SYD") == []
    assert journal(region="DFW", path="/dfw/*") == [paths[1]]
    assert journal(path="/iad/v1.0/*") == [paths[2]]
    assert journal(path="/v1.0/*") == [paths[0], action]
    fault(client.get("/__mock/requests", params={"region": "iad"}), 400, "badRequest")


def test_a_fault_rule_for_a_region_matches_every_path_to_it(client: TestClient) -> None:
    rule = {"path": "*", "region": "DFW", "status": 503, "count": None}
    answer = client.post("/__mock/faults", json=rule)
    assert answer.status_code == 201 and answer.json()["rules"][0]["region"] == "DFW"
    for path in (f"{DFW}/backups", "/dfw/v1.0/1234/backups"):
        assert "Injected fault" in fault(call(client, "GET", path), 503, "serviceUnavailable")
    assert call(client, "GET", f"{IAD}/backups").status_code == 200
    assert client.delete("/__mock/faults").status_code == 204
    client.post("/__mock/faults", json=rule | {"region": "IAD", "count": 1})
    assert call(client, "GET", f"{DFW}/backups").status_code == 200
    assert call(client, "GET", "/dfw/v1.0/1234/backups").status_code == 200
    fault(call(client, "GET", f"{IAD}/backups"), 503, "serviceUnavailable")
    assert call(client, "GET", f"{IAD}/backups").status_code == 200  # its count was spent
    fault(client.post("/__mock/faults", json=rule | {"region": "iad"}), 400, "badRequest")


@pytest.mark.parametrize(
    ("pattern", "matched"),
    [("/iad/v1.0/*", [IAD]), ("/v1.0/*", [DFW]), ("/dfw/v1.0/*", ["/dfw/v1.0/1234"]),
     ("*/v1.0/1234/backups", [DFW, "/dfw/v1.0/1234", IAD, ORD])],
)  # fmt: skip
def test_a_fault_rules_path_is_matched_against_the_path_as_sent(
    client: TestClient, pattern: str, matched: list[str]
) -> None:
    client.post("/__mock/faults", json={"path": pattern, "status": 500, "count": None})
    for base in (DFW, "/dfw/v1.0/1234", IAD, ORD):
        status = call(client, "GET", f"{base}/backups").status_code
        assert status == (500 if base in matched else 200), base


# -- the state document and reset --------------------------------------------------------------


def test_get_and_put_state_carry_every_region(client: TestClient) -> None:
    instance = new_instance(client, "/syd/v1.0/1234")
    copied(client, PERCONA_BACKUP, "IAD")
    advance(client, 2)  # the copy is BUILDING
    document = state(client)
    assert document["region"] == "DFW"
    assert set(document["regions"]) == {"IAD", "ORD", "LON", "HKG", "SYD"}
    (stored,) = document["regions"]["IAD"]["accounts"]["1234"]["backups"]
    assert stored["copy_of"] == {"region": "DFW", "id": PERCONA_BACKUP}
    assert stored["status"] == "BUILDING"
    assert stored["lifecycle"]["size"] == 0.18  # the original's
    syd = document["regions"]["SYD"]["accounts"]["1234"]["instances"]
    assert [i["id"] for i in syd] == [instance["id"]]
    put = client.put("/__mock/state", json=document)
    assert (put.status_code, put.json()) == (200, document)
    assert state(client) == document
    advance(client, 3)
    (done,) = backups(client, IAD)
    assert (done["status"], done["size"]) == ("COMPLETED", 0.18)


@pytest.mark.parametrize(
    "change",
    [{"regions": {"XYZ": {"accounts": {}}}}, {"regions": {"iad": {"accounts": {}}}},
     {"region": "iad"}, {"region": "DFW", "regions": {"DFW": {"accounts": {}}}},
     {"regions": {"IAD": {"accounts": {"1234": {"backups": [{"id": "x"}]}}}}}],
    ids=["unknown code", "lower-case code", "lower-case region", "own region twice",
         "a wrong backup in IAD"],
)  # fmt: skip
def test_a_state_naming_a_region_wrongly_is_400_and_changes_nothing(
    client: TestClient, change: dict[str, Any]
) -> None:
    copied(client, PERCONA_BACKUP, "IAD")
    before = state(client)
    document = json.loads(json.dumps(before)) | change
    fault(client.put("/__mock/state", json=document), 400, "badRequest")
    assert state(client) == before


def test_a_state_without_regions_loads_as_the_own_regions(client: TestClient) -> None:
    copied(client, PERCONA_BACKUP, "IAD")
    document = state(client)
    del document["region"], document["regions"]
    document["accounts"]["42"] = {}
    assert client.put("/__mock/state", json=document).status_code == 200
    assert backups(client, IAD) == []
    assert call(client, "GET", "/v1.0/42/backups").json() == {"backups": []}
    assert ids(backups(client, DFW)) == FIXTURE_BACKUPS
    assert all(region == {"accounts": {}} for region in state(client)["regions"].values())


def test_reset_empties_every_other_region(client: TestClient) -> None:
    fresh = state(client)
    assert all(region == {"accounts": {}} for region in fresh["regions"].values())
    new_instance(client, ORD)
    copied(client, PERCONA_BACKUP, "IAD")
    assert client.post("/__mock/reset").json() == {"reset": True}
    assert backups(client, IAD) == []
    assert call(client, "GET", f"{ORD}/instances").json() == {"instances": []}
    assert state(client) == fresh


# -- scheduled copies --------------------------------------------------------------------------


def test_a_schedules_copies_are_seen_through_the_target_region(
    mock: Mock, client: TestClient
) -> None:
    schedule = {"schedule": {"action": "backup", "day_of_week": 7, "hour": 2, "minute": 0,
                             "instance_id": SCHEDULABLE, "copy_to": ["IAD"]}}  # fmt: skip
    answer = call(client, "POST", f"{DFW}/schedules", schedule)
    assert answer.status_code == 202, answer.text
    planned = answer.json()["schedule"]
    assert planned["copy_to"] == ["IAD"]
    run = parse_timestamp(planned["next_run"])
    advance(client, math.ceil(run - mock.clock.now()) + 10)  # ended at +5, its copy at +10
    (made,) = backups(client, IAD)  # IAD is the only region read
    assert (made["name"], made["status"], made["is_automated"]) == (
        f"scheduled-{planned['next_run'][:16]}Z",
        "COMPLETED",
        0,
    )
    assert made["description"] == f"Made by schedule {planned['id']}."
    original = call(client, "GET", f"{DFW}/instances/{SCHEDULABLE}/backups").json()["backups"][0]
    assert (original["is_automated"], original["updated"]) == (1, made["created"])
    assert made["size"] == original["size"] and made["id"] != original["id"]


@pytest.mark.parametrize(
    ("region", "copy_to", "status"),
    [("syd", [], 422), ("hkg", [], 422), ("iad", ["IAD"], 400), ("iad", ["LON"], 400),
     ("iad", ["DFW", "ORD"], 202)],
)  # fmt: skip
def test_schedules_follow_the_rules_of_the_region_they_are_made_in(
    client: TestClient, region: str, copy_to: list[str], status: int
) -> None:
    base = f"/{region}/v1.0/1234"
    instance = new_instance(client, base)
    advance(client, 5)
    schedule = {"schedule": {"action": "backup", "day_of_week": 0, "hour": 2, "minute": 0,
                             "instance_id": instance["id"], "copy_to": copy_to}}  # fmt: skip
    answer = call(client, "POST", f"{base}/schedules", schedule)
    assert answer.status_code == status, answer.text
    if status == 202:
        assert answer.json()["schedule"]["copy_to"] == copy_to
    elif status == 422:
        assert region.upper() in fault(answer, 422, "unprocessableEntity")


# -- the issue's "done when" -------------------------------------------------------------------


def until(client: TestClient, path: str, status: str, key: str = "backup") -> Any:
    """Move the mock's clock a second at a time (at most a minute) until `path` shows `status`."""
    for _ in range(60):
        shown = call(client, "GET", path).json()[key]
        if shown["status"] == status:
            return shown
        advance(client, 1)
    raise AssertionError(f"{path} never became {status}")


def test_a_backup_made_in_dfw_is_copied_to_iad_and_restored_there(client: TestClient) -> None:
    original = back_up(client, DFW, MYSQL, description="orders, nightly")
    original = until(client, f"{DFW}/backups/{original['id']}", "COMPLETED")
    copied(client, original["id"], "IAD")
    (made,) = backups(client, IAD)
    assert made["status"] == "NEW"
    restore = {"instance": {"name": "restored", "flavorRef": "1", "volume": {"size": 1},
                            "restorePoint": {"backupRef": made["id"]}}}  # fmt: skip
    fault(call(client, "POST", f"{IAD}/instances", restore), 422, "unprocessableEntity")  # NEW
    made = until(client, f"{IAD}/backups/{made['id']}", "COMPLETED")
    assert (made["name"], made["description"], made["size"]) == (
        "b",
        "orders, nightly",
        original["size"],
    )
    assert made["locationRef"] == location("iad", made["id"])
    restore["instance"]["volume"] = {"size": max(1, math.ceil(made["size"]))}
    fault(call(client, "POST", f"{DFW}/instances", restore), 404, "itemNotFound")  # IAD's copy
    answer = call(client, "POST", f"{IAD}/instances", restore)
    assert answer.status_code == 200, answer.text
    instance = answer.json()["instance"]
    assert (instance["status"], instance["datastore"]) == (
        "BUILD",
        {"type": "mysql", "version": "5.6"},
    )
    assert instance["links"][0]["href"] == f"{ROOT}{IAD}/instances/{instance['id']}"
    until(client, f"{IAD}/instances/{instance['id']}", "ACTIVE", key="instance")
    in_iad = call(client, "GET", f"{IAD}/instances").json()["instances"]
    assert ids(in_iad) == [instance["id"]]
    in_dfw = call(client, "GET", f"{DFW}/instances").json()["instances"]
    assert instance["id"] not in ids(in_dfw) and ids(in_dfw) == FIXTURE_INSTANCES
    assert made["id"] not in ids(backups(client, DFW))
    assert original["id"] not in ids(backups(client, IAD))
    assert ids(backups(client, IAD)) == [made["id"]]
    assert ids(backups(client, DFW)) == [original["id"], *FIXTURE_BACKUPS]


def test_an_incremental_chain_is_copied_to_ord_in_order_and_not_before_its_parent(
    client: TestClient,
) -> None:
    full = back_up(client, DFW, MYSQL)
    until(client, f"{DFW}/backups/{full['id']}", "COMPLETED")
    incremental = back_up(client, DFW, MYSQL, parent_id=full["id"])
    incremental = until(client, f"{DFW}/backups/{incremental['id']}", "COMPLETED")
    assert (incremental["type"], incremental["parent_id"]) == (INCREMENTAL, full["id"])
    refused = copy(client, incremental["id"], "ORD")
    assert fault(refused, 400, "badRequest") == (
        f"Backup {incremental['id']} is incremental and its parent {full['id']} has no copy in"
        " ORD: copy the parent first."
    )
    assert backups(client, ORD) == []
    copied(client, full["id"], "ORD")
    copied(client, incremental["id"], "ORD")
    copy_of_incremental, copy_of_full = backups(client, ORD)  # newest first: the same second
    if copy_of_full["type"] == INCREMENTAL:  # made within one second: ordered by id
        copy_of_full, copy_of_incremental = copy_of_incremental, copy_of_full
    assert (copy_of_full["type"], copy_of_full["parent_id"]) == (FULL, None)
    assert (copy_of_incremental["type"], copy_of_incremental["parent_id"]) == (
        INCREMENTAL,
        copy_of_full["id"],
    )
    done = until(client, f"{ORD}/backups/{copy_of_incremental['id']}", "COMPLETED")
    assert (done["parent_id"], done["size"]) == (copy_of_full["id"], incremental["size"])
    assert ids(backups(client, DFW))[:2] == [incremental["id"], full["id"]]
