"""With a token table, no token reads or changes another account's backups; the control API
refuses every request without its own token when one is set."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from support import FIXTURES, MockProcess, dormant_schedule, load_spec, operations, read_json

from mockserver import create_app
from mockserver.app import Mock
from mockserver.cli import settings_from

ACCOUNT_A, ACCOUNT_B = "1234", "5678"
STATE = read_json(FIXTURES / "state.json")
A = STATE["accounts"][ACCOUNT_A]
A_INSTANCE = A["instances"][0]["id"]
A_BACKUP = A["backups"][1]["id"]
A_HA = A["ha_instances"][0]["id"]
A_HA_MEMBER = next(i["id"] for i in A["instances"] if i.get("ha_id") == A_HA)
# An instance nothing else here needs (no schedule, no backup made of it), for the delete.
A_SPARE = next(i["id"] for i in A["instances"] if i["status"] == "SHUTDOWN")
B_INSTANCE = "5e1f0000-0000-4000-8000-00000000000b"
B_BACKUP = "5e1f0000-0000-4000-8000-0000000000bb"
A_SCHEDULE = "5e1f0000-0000-4000-8000-00000000005a"
TOKENS = {
    "token-a": [ACCOUNT_A],
    "token-b": [ACCOUNT_B],
    "token-ab": [ACCOUNT_A, ACCOUNT_B],
    "token-all": ["*"],
}
MOCK_TOKEN = "control-secret"
SPEC = load_spec()


def two_accounts() -> dict[str, Any]:
    """The fixture state, and account 5678 with one instance and one backup of its own."""
    state = copy.deepcopy(STATE)
    instance = copy.deepcopy(A["instances"][0]) | {"id": B_INSTANCE}
    instance.pop("hostname", None)
    backup = copy.deepcopy(A["backups"][1])
    backup.update(
        id=B_BACKUP,
        instance_id=B_INSTANCE,
        source={"type": "instance", "id": B_INSTANCE},
        locationRef=backup["locationRef"].replace(A["backups"][1]["id"], B_BACKUP),
    )
    state["accounts"][ACCOUNT_B] = {
        "instances": [instance],
        "ha_instances": [],
        "backups": [backup],
    }
    state["accounts"][ACCOUNT_A]["schedules"] = [dormant_schedule(A_SCHEDULE, A_INSTANCE)]
    return state


def new_mock(directory: Path) -> Mock:
    """A mock configured as the command configures it: --tokens FILE and --control-token."""
    tokens = directory / "tokens.json"
    tokens.write_text(json.dumps(TOKENS), encoding="utf-8")
    arguments = ["--tokens", str(tokens), "--control-token", MOCK_TOKEN, "--frozen-clock"]
    return create_app(settings_from(arguments, {}), state=two_accounts())


def observable(mock: Mock) -> Any:
    """The state of every region, the fault rules, how backups end, the clock."""
    return mock.regions.snapshot(), mock.injector.rules(), mock.store.backup_fate, mock.clock.offset


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Mock, TestClient]]:
    """One mock for the requests that must be refused: none of them may change it."""
    mock = new_mock(tmp_path_factory.mktemp("isolation"))
    with TestClient(mock) as client:
        yield mock, client


@pytest.fixture
def mock(shared: tuple[Mock, TestClient]) -> Iterator[Mock]:
    mock = shared[0]
    before = observable(mock)
    yield mock
    after = observable(mock)
    if after[0] != before[0]:  # put it back, so that one failure does not fail every later test
        mock.regions.replace(copy.deepcopy(before[0]))
    assert after == before


@pytest.fixture
def client(mock: Mock, shared: tuple[Mock, TestClient]) -> TestClient:
    return shared[1]


def fault(response: httpx.Response, status: int, name: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()[name]["code"] == status


# Every API operation, on account 1234, with ids of account 1234 and a valid body.
IDS = {
    "accountId": ACCOUNT_A,
    "backupId": A_BACKUP,
    "instanceId": A_INSTANCE,
    "haId": A_HA,
    "scheduleId": A_SCHEDULE,
    "flavorId": "1",
}
CREATE = {"backup": {"name": "intruder", "instance": A_INSTANCE}}
# A restore of one of account 1234's backups.
RESTORE = {
    "instance": {
        "name": "intruder",
        "flavorRef": 1,
        "volume": {"size": 1},
        "restorePoint": {"backupRef": A_BACKUP},
    }
}
# A valid body for each (method, collection) that takes one; the schedule is of the percona
# instance, since A_INSTANCE already has one.
BODIES = {
    ("POST", "backups"): CREATE,
    ("POST", "instances"): RESTORE,
    ("POST", "schedules"): {
        "schedule": {"action": "backup", "day_of_week": 1, "hour": 2, "minute": 3}
        | {"instance_id": A["instances"][1]["id"]}
    },
    ("PUT", "schedules"): {"schedule": {"hour": 1}},
}
COPY = {"copy-backup": {"target_backup_region": "IAD"}}
# The delete of an instance takes one that nothing else here needs: A_INSTANCE has a backup
# running and a schedule once the holder's creates are through.
OWN_IDS = {"deleteInstance": IDS | {"instanceId": A_SPARE}}
API = [
    (
        operation["operationId"],
        method.upper(),
        path.format(**OWN_IDS.get(operation["operationId"], IDS)),
    )
    for method, path, operation in operations(SPEC)
    if operation.get("security", SPEC["security"])
]
# The same through IAD's prefix (contract section 12): the token rules hold in every region.
REGIONAL_API = [
    (f"{operation_id}@iad", method, f"/iad{path}") for operation_id, method, path in API
]


def request(client: TestClient, method: str, path: str, **headers: str) -> httpx.Response:
    # /v1.0/<account>/<collection>/..., or /<region>/v1.0/...
    collection = path.removeprefix("/iad").split("/")[3]
    body = COPY if path.endswith("/action") else BODIES.get((method, collection))
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(
    ("operation_id", "method", "path"), API + REGIONAL_API, ids=[a[0] for a in API + REGIONAL_API]
)
@pytest.mark.parametrize("prefer", [None, "code=200"])
def test_a_token_is_forbidden_another_accounts_operations_and_changes_nothing(
    client: TestClient, operation_id: str, method: str, path: str, prefer: str | None
) -> None:
    # token-b holds account 5678 only; not even a forced status gets past the token rule.
    headers = {"X-Auth-Token": "token-b"} | ({"Prefer": prefer} if prefer else {})
    fault(request(client, method, path, **headers), 403, "forbidden")


@pytest.mark.parametrize(
    ("operation_id", "method", "path"), API + REGIONAL_API, ids=[a[0] for a in API + REGIONAL_API]
)
@pytest.mark.parametrize("token", [None, "", "   ", "token-c", "TOKEN-A", "token-a,token-b"])
def test_a_missing_or_unknown_token_is_unauthorized_and_changes_nothing(
    client: TestClient, operation_id: str, method: str, path: str, token: str | None
) -> None:
    headers = {} if token is None else {"X-Auth-Token": token}
    fault(request(client, method, path, **headers), 401, "unauthorized")


@pytest.mark.parametrize("token", ["token-a", "token-ab", "token-all"])
def test_a_token_that_holds_the_account_is_served(tmp_path: Path, token: str) -> None:
    # Reads first, then the creates and updates, then the deletes: every operation succeeds for
    # the holder.
    order = ["GET", "POST", "PUT", "DELETE"]
    ordered = sorted(API, key=lambda operation: order.index(operation[1]))
    with TestClient(new_mock(tmp_path)) as client:
        for operation_id, method, path in ordered:
            response = request(client, method, path, **{"X-Auth-Token": token})
            assert response.status_code < 400, (operation_id, response.text)


def test_an_account_sees_only_its_own_backups(client: TestClient) -> None:
    own = {"X-Auth-Token": "token-ab"}
    a = client.get(f"/v1.0/{ACCOUNT_A}/backups", headers=own).json()["backups"]
    b = client.get(f"/v1.0/{ACCOUNT_B}/backups", headers=own).json()["backups"]
    assert [backup["id"] for backup in b] == [B_BACKUP]
    assert B_BACKUP not in {backup["id"] for backup in a}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/v1.0/{ACCOUNT_B}/backups/{A_BACKUP}"),
        ("DELETE", f"/v1.0/{ACCOUNT_B}/backups/{A_BACKUP}"),
        ("POST", f"/v1.0/{ACCOUNT_B}/backups/{A_BACKUP}/action"),
        ("GET", f"/v1.0/{ACCOUNT_B}/instances/{A_INSTANCE}"),
        ("DELETE", f"/v1.0/{ACCOUNT_B}/instances/{A_INSTANCE}"),
        ("DELETE", f"/v1.0/{ACCOUNT_B}/instances/{A_SPARE}"),
        ("DELETE", f"/v1.0/{ACCOUNT_B}/instances/{A_HA_MEMBER}"),  # not the 422 of an HA member
        ("DELETE", f"/v1.0/{ACCOUNT_B}/instances/{A_HA}"),
        ("GET", f"/v1.0/{ACCOUNT_B}/instances/{A_INSTANCE}/backups"),
        ("GET", f"/v1.0/{ACCOUNT_B}/ha/{A_HA}"),
        ("GET", f"/v1.0/{ACCOUNT_B}/ha/{A_HA}/backups"),
        ("GET", f"/v1.0/{ACCOUNT_B}/schedules/{A_SCHEDULE}"),
        ("PUT", f"/v1.0/{ACCOUNT_B}/schedules/{A_SCHEDULE}"),
        ("DELETE", f"/v1.0/{ACCOUNT_B}/schedules/{A_SCHEDULE}"),
    ],
)
def test_another_accounts_ids_are_not_found_through_ones_own_account(
    client: TestClient, method: str, path: str
) -> None:
    body = {"schedule": {"hour": 1}} if method == "PUT" else COPY if method == "POST" else None
    response = client.request(method, path, json=body, headers={"X-Auth-Token": "token-b"})
    fault(response, 404, "itemNotFound")


def test_an_account_sees_only_its_own_schedules(client: TestClient) -> None:
    own = {"X-Auth-Token": "token-ab"}
    a = client.get(f"/v1.0/{ACCOUNT_A}/schedules", headers=own).json()["schedules"]
    b = client.get(f"/v1.0/{ACCOUNT_B}/schedules", headers=own).json()["schedules"]
    assert ([s["id"] for s in a], b) == ([A_SCHEDULE], [])


@pytest.mark.parametrize(
    "schedule",
    [
        {"instance_id": A_INSTANCE},
        {"source_id": A_HA, "source_type": "ha"},
    ],
    ids=["another account's instance", "its HA instance"],
)
def test_a_schedule_cannot_be_made_of_another_accounts_resources(
    client: TestClient, schedule: dict[str, Any]
) -> None:
    body = {"schedule": {"action": "backup", "day_of_week": 1, "hour": 2, "minute": 3} | schedule}
    response = client.post(
        f"/v1.0/{ACCOUNT_B}/schedules", json=body, headers={"X-Auth-Token": "token-b"}
    )
    fault(response, 404, "itemNotFound")


@pytest.mark.parametrize(
    "backup",
    [
        {"name": "theirs", "instance": A_INSTANCE},
        {"name": "theirs", "instance": None, "source": {"type": "ha", "id": A_HA}},
        {"name": "theirs", "instance": B_INSTANCE, "parent_id": A_BACKUP},
    ],
    ids=["another account's instance", "its HA instance", "its backup as parent"],
)
def test_a_backup_cannot_be_made_of_another_accounts_resources(
    client: TestClient, backup: dict[str, Any]
) -> None:
    response = client.post(
        f"/v1.0/{ACCOUNT_B}/backups", json={"backup": backup}, headers={"X-Auth-Token": "token-b"}
    )
    fault(response, 404, "itemNotFound")


@pytest.mark.parametrize(
    "datastore",
    [None, {"type": "mysql"}, {"type": "mysql", "version": "5.6"}],
    ids=["its datastore", "a datastore type", "a datastore version"],
)
@pytest.mark.parametrize("backup", [A_BACKUP, A["backups"][0]["id"]], ids=["ha", "instance"])
def test_a_restore_of_another_accounts_backup_is_not_found(
    client: TestClient, backup: str, datastore: dict[str, str] | None
) -> None:
    instance = {"name": "theirs", "flavorRef": 1, "volume": {"size": 150}}
    instance |= {"restorePoint": {"backupRef": backup}}
    if datastore is not None:
        instance["datastore"] = datastore
    response = client.post(
        f"/v1.0/{ACCOUNT_B}/instances",
        json={"instance": instance},
        headers={"X-Auth-Token": "token-b"},
    )
    fault(response, 404, "itemNotFound")
    assert backup in response.json()["itemNotFound"]["message"]


def test_an_instance_made_in_one_account_is_out_of_anothers_reach(tmp_path: Path) -> None:
    # Account 1234 restores its backup; 5678 sees nothing of the new instance, backs it up,
    # restores from it or deletes it no more than any other of 1234's; 5678's own restore and
    # delete work.
    a, b = {"X-Auth-Token": "token-a"}, {"X-Auth-Token": "token-b"}
    with TestClient(new_mock(tmp_path)) as client:
        made = client.post(f"/v1.0/{ACCOUNT_A}/instances", json=RESTORE, headers=a)
        assert made.status_code == 200, made.text
        instance = made.json()["instance"]["id"]
        built = client.post(
            "/__mock/clock", json={"advance_seconds": 60}, headers={"X-Mock-Token": MOCK_TOKEN}
        )
        assert built.is_success, built.text
        theirs = f"/v1.0/{ACCOUNT_B}/instances/{instance}"
        for method, path in [("GET", theirs), ("GET", f"{theirs}/backups"), ("DELETE", theirs)]:
            fault(client.request(method, path, headers=b), 404, "itemNotFound")
        listed = client.get(f"/v1.0/{ACCOUNT_B}/instances", headers=b).json()["instances"]
        assert [i["id"] for i in listed] == [B_INSTANCE]
        backup = {"backup": {"name": "theirs", "instance": instance}}
        fault(
            client.post(f"/v1.0/{ACCOUNT_B}/backups", json=backup, headers=b), 404, "itemNotFound"
        )
        fault(client.delete(theirs.replace(ACCOUNT_B, ACCOUNT_A), headers=b), 403, "forbidden")
        # 1234 backs up its new instance; 5678 cannot restore that backup either.
        backed = client.post(f"/v1.0/{ACCOUNT_A}/backups", json=backup, headers=a)
        assert backed.status_code == 202, backed.text
        restore = copy.deepcopy(RESTORE)
        restore["instance"]["restorePoint"]["backupRef"] = backed.json()["backup"]["id"]
        fault(
            client.post(f"/v1.0/{ACCOUNT_B}/instances", json=restore, headers=b),
            404,
            "itemNotFound",
        )
        # 5678 restores its own backup and deletes its own instance.
        restore["instance"]["restorePoint"]["backupRef"] = B_BACKUP
        own = client.post(f"/v1.0/{ACCOUNT_B}/instances", json=restore, headers=b)
        assert own.status_code == 200, own.text
        assert (
            client.delete(f"/v1.0/{ACCOUNT_B}/instances/{B_INSTANCE}", headers=b).status_code == 202
        )
        # 1234's instances are as they were, with the one it made.
        listed = client.get(f"/v1.0/{ACCOUNT_A}/instances", headers=a).json()["instances"]
        assert {i["id"] for i in listed} == {i["id"] for i in A["instances"]} | {instance}


def test_a_marker_from_another_account_is_refused(client: TestClient) -> None:
    response = client.get(
        f"/v1.0/{ACCOUNT_B}/backups",
        params={"marker": A_BACKUP},
        headers={"X-Auth-Token": "token-b"},
    )
    fault(response, 400, "badRequest")


# -- regions (contract section 12) -------------------------------------------------------------


def copy_into_iad(client: TestClient, backup: str = A_BACKUP) -> str:
    """Copy account 1234's backup to IAD; the copy's id."""
    a = {"X-Auth-Token": "token-a"}
    copied = client.post(f"/v1.0/{ACCOUNT_A}/backups/{backup}/action", json=COPY, headers=a)
    assert copied.status_code == 202, copied.text
    [made] = client.get(f"/iad/v1.0/{ACCOUNT_A}/backups", headers=a).json()["backups"]
    made_id: str = made["id"]
    return made_id


def test_two_mocks_keep_their_regions_apart(tmp_path: Path) -> None:
    a = {"X-Auth-Token": "token-a"}
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
    first, second = new_mock(tmp_path / "first"), new_mock(tmp_path / "second")
    with TestClient(first) as one, TestClient(second) as other:
        made = copy_into_iad(one)
        assert other.get(f"/iad/v1.0/{ACCOUNT_A}/backups", headers=a).json() == {"backups": []}
        fault(other.get(f"/iad/v1.0/{ACCOUNT_A}/backups/{made}", headers=a), 404, "itemNotFound")
        # A copy into the second mock's IAD leaves the first's as it was.
        again = other.post(f"/v1.0/{ACCOUNT_A}/backups/{A_BACKUP}/action", json=COPY, headers=a)
        assert again.status_code == 202, again.text
        listed = one.get(f"/iad/v1.0/{ACCOUNT_A}/backups", headers=a).json()["backups"]
        assert [backup["id"] for backup in listed] == [made]
    assert first.regions["IAD"] is not second.regions["IAD"]


def test_an_account_reaches_nothing_of_another_account_in_another_region(tmp_path: Path) -> None:
    a, b = {"X-Auth-Token": "token-a"}, {"X-Auth-Token": "token-b"}
    with TestClient(new_mock(tmp_path)) as client:
        made = copy_into_iad(client)
        theirs = f"/iad/v1.0/{ACCOUNT_B}/backups/{made}"
        assert client.get(f"/iad/v1.0/{ACCOUNT_B}/backups", headers=b).json() == {"backups": []}
        fault(client.get(theirs, headers=b), 404, "itemNotFound")
        fault(client.delete(theirs, headers=b), 404, "itemNotFound")
        back = {"copy-backup": {"target_backup_region": "DFW"}}
        fault(client.post(f"{theirs}/action", json=back, headers=b), 404, "itemNotFound")
        # Account 5678's token does not open account 1234 in IAD either.
        mine = f"/iad/v1.0/{ACCOUNT_A}/backups/{made}"
        for method in ("GET", "DELETE"):
            fault(client.request(method, mine, headers=b), 403, "forbidden")
        fault(client.post(f"{mine}/action", json=back, headers=b), 403, "forbidden")
        # The copy is IAD's alone: not in account 1234's own region.
        fault(client.get(f"/v1.0/{ACCOUNT_A}/backups/{made}", headers=a), 404, "itemNotFound")
        assert client.get(mine, headers=a).status_code == 200


# -- the control API -------------------------------------------------------------------------

CONTROL = [
    ("POST", "/__mock/reset", None),
    ("GET", "/__mock/state", None),
    ("PUT", "/__mock/state", {"accounts": {}}),
    ("GET", "/__mock/clock", None),
    ("POST", "/__mock/clock", {"advance_seconds": 3600}),
    ("GET", "/__mock/requests", None),
    ("DELETE", "/__mock/requests", None),
    ("GET", "/__mock/faults", None),
    ("POST", "/__mock/faults", {"method": "*", "path": "*", "status": 503, "count": None}),
    ("POST", "/__mock/faults", {"backups": "fail_all"}),
    ("DELETE", "/__mock/faults", None),
    ("GET", "/__mock/openapi.json", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CONTROL, ids=lambda v: str(v)[:20])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Mock-Token": ""},
        {"X-Mock-Token": "control-secret "},
        {"X-Mock-Token": "CONTROL-SECRET"},
        {"X-Mock-Token": "token-all"},
        {"X-Auth-Token": MOCK_TOKEN},
        {"Authorization": f"Bearer {MOCK_TOKEN}"},
    ],
    ids=["none", "empty", "padded", "other case", "an API token", "in X-Auth-Token", "bearer"],
)
def test_the_control_api_refuses_requests_without_its_token(
    mock: Mock,
    client: TestClient,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
) -> None:
    client.get(f"/v1.0/{ACCOUNT_A}/backups", headers={"X-Auth-Token": "token-a"})
    journal = len(mock.journal)
    fault(client.request(method, path, json=body, headers=headers), 401, "unauthorized")
    assert len(mock.journal) == journal


@pytest.mark.parametrize(("method", "path", "body"), CONTROL, ids=lambda v: str(v)[:20])
def test_the_control_api_serves_requests_with_its_token(
    tmp_path: Path, method: str, path: str, body: Any
) -> None:
    with TestClient(new_mock(tmp_path)) as client:
        response = client.request(method, path, json=body, headers={"X-Mock-Token": MOCK_TOKEN})
    assert 200 <= response.status_code < 300, response.text


@pytest.mark.slow
def test_the_command_keeps_accounts_apart_and_guards_its_control_api(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps(TOKENS), encoding="utf-8")
    environment = {"MOCKSERVER_TOKENS": str(tokens), "MOCKSERVER_CONTROL_TOKEN": MOCK_TOKEN}
    with MockProcess(env=environment) as server, httpx.Client(base_url=server.url) as http:
        state = http.get("/__mock/state", headers={"X-Mock-Token": MOCK_TOKEN}).json()
        fault(http.get("/__mock/state"), 401, "unauthorized")
        fault(http.post("/__mock/reset"), 401, "unauthorized")
        theirs = {"X-Auth-Token": "token-b"}
        fault(http.get(f"/v1.0/{ACCOUNT_A}/backups", headers=theirs), 403, "forbidden")
        fault(
            http.delete(f"/v1.0/{ACCOUNT_A}/backups/{A_BACKUP}", headers=theirs), 403, "forbidden"
        )
        fault(
            http.get(f"/v1.0/{ACCOUNT_A}/backups", headers={"X-Auth-Token": "x"}),
            401,
            "unauthorized",
        )
        assert http.get(
            f"/v1.0/{ACCOUNT_A}/backups", headers={"X-Auth-Token": "token-a"}
        ).is_success
        assert http.get("/__mock/state", headers={"X-Mock-Token": MOCK_TOKEN}).json() == state
        assert server.stop() == 0
