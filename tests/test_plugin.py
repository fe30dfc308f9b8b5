"""The pytest plugin's fixtures: a mock per session, reset per test, driven by a small API."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from fixture_ids import FIXTURE_BACKUPS, PERCONA_BACKUP

from mockserver.plugin.plugin_endpoint import Endpoint
from mockserver.plugin.pytest_plugin import BackupsMock, MockFactory, MockPool

MYSQL = "d4603f69-ec7e-4e9b-803f-600b9205576f"
SHUTDOWN = "7545e164-c45d-4ca7-bb6c-e2c677d2c864"
HA = "130922a2-b9ab-4e95-86be-9c5d79171b5e"


def call(mock: Endpoint, method: str, path: str, body: Any = None) -> httpx.Response:
    return httpx.request(method, mock.base_url + path, json=body, headers=mock.headers)


def create(mock: Endpoint, name: str = "nightly", instance: str = MYSQL) -> Any:
    response = call(mock, "POST", "/backups", {"backup": {"name": name, "instance": instance}})
    assert response.status_code == 202, response.text
    return response.json()["backup"]


def backup_ids(mock: Endpoint) -> list[str]:
    return [b["id"] for b in call(mock, "GET", "/backups").json()["backups"]]


def test_base_url_carries_the_version_and_the_account(backups_mock: BackupsMock) -> None:
    assert backups_mock.account == "1234"
    assert backups_mock.base_url == f"{backups_mock.url}/v1.0/1234"
    assert backups_mock.url.startswith("http://127.0.0.1:")
    assert backup_ids(backups_mock) == FIXTURE_BACKUPS


def status_of(mock: Endpoint, backup_id: str) -> str:
    status: str = call(mock, "GET", f"/backups/{backup_id}").json()["backup"]["status"]
    return status


def test_reset_restores_the_fixture_state_and_clears_journal_and_faults(
    backups_mock: BackupsMock,
) -> None:
    create(backups_mock)
    backups_mock.inject("/backups", status=503, count=None)
    backups_mock.fail_all_backups()

    backups_mock.reset()

    assert backups_mock.requests() == []
    assert backup_ids(backups_mock) == FIXTURE_BACKUPS  # no 503: the rule is gone
    backup = create(backups_mock)
    backups_mock.advance(5)
    assert status_of(backups_mock, backup["id"]) == "COMPLETED"  # fail_all went too


def test_the_clock_is_frozen_and_advance_drives_the_lifecycle(backups_mock: BackupsMock) -> None:
    assert backups_mock.clock()["frozen"] is True
    backup = create(backups_mock)
    statuses = []
    for seconds in (0.5, 0.5, 3.9, 0.1):
        backups_mock.advance(seconds)
        statuses.append(call(backups_mock, "GET", f"/backups/{backup['id']}").json()["backup"])
    assert [s["status"] for s in statuses] == ["NEW", "BUILDING", "BUILDING", "COMPLETED"]
    assert statuses[-1]["locationRef"].endswith(f"{backup['id']}.xbstream.gz")


def test_requests_filter_by_method_and_a_path_relative_to_the_account(
    backups_mock: BackupsMock,
) -> None:
    backup = create(backups_mock, name="one")
    call(backups_mock, "GET", f"/backups/{backup['id']}")
    call(backups_mock, "GET", "/backups")

    [post] = backups_mock.requests("post", "/backups")
    assert post["body"] == {"backup": {"name": "one", "instance": MYSQL}}
    assert post["status"] == 202 and post["path"] == "/v1.0/1234/backups"
    assert len(backups_mock.requests("GET", "/backups*")) == 2
    assert len(backups_mock.requests(path="/v1.0/1234/backups/*")) == 1
    backups_mock.clear_requests()
    assert backups_mock.requests() == []


def test_inject_answers_the_status_for_the_next_matching_requests_only(
    backups_mock: BackupsMock,
) -> None:
    backups_mock.inject("/backups", method="GET", status=503, count=2)

    statuses = [call(backups_mock, "GET", "/backups").status_code for _ in range(3)]

    assert statuses == [503, 503, 200]
    assert call(backups_mock, "GET", "/backups").status_code == 200
    fault = backups_mock.requests("GET", "/backups")[0]
    assert fault["status"] == 503


def test_fail_next_backup_fails_one_backup_only(backups_mock: BackupsMock) -> None:
    backups_mock.fail_next_backup()
    first = create(backups_mock, instance=MYSQL)
    second = create(backups_mock, instance="f4aaba46-fb5f-4316-988d-88da77759968")
    backups_mock.advance(5)

    shown = [
        call(backups_mock, "GET", f"/backups/{b['id']}").json()["backup"] for b in (first, second)
    ]
    assert [b["status"] for b in shown] == ["FAILED", "COMPLETED"]


def test_seed_replaces_the_state_and_keeps_the_known_datastores(backups_mock: BackupsMock) -> None:
    state = backups_mock.state()
    state["accounts"]["1234"]["backups"] = []

    backups_mock.seed({"accounts": state["accounts"]})

    assert backup_ids(backups_mock) == []
    assert call(backups_mock, "GET", "/backups?datastore=mysql").status_code == 200


def test_seed_of_an_invalid_document_raises_and_changes_nothing(
    backups_mock: BackupsMock,
) -> None:
    with pytest.raises(ValueError, match="400"):
        backups_mock.seed({"accounts": {"1234": {"backups": [{"id": "x"}]}}})
    assert backup_ids(backups_mock) == FIXTURE_BACKUPS


def test_add_instance_defaults_to_an_active_instance_that_can_be_backed_up(
    backups_mock: BackupsMock,
) -> None:
    instance = backups_mock.add_instance(name="mine")

    shown = call(backups_mock, "GET", f"/instances/{instance['id']}").json()["instance"]
    assert (shown["name"], shown["status"]) == ("mine", "ACTIVE")
    assert create(backups_mock, instance=instance["id"])["datastore"]["type"] == "mysql"


def test_add_backup_takes_its_details_from_the_instance(backups_mock: BackupsMock) -> None:
    added = backups_mock.add_backup(instance_id=SHUTDOWN, name="old")

    shown = call(backups_mock, "GET", f"/backups/{added['id']}").json()["backup"]
    assert shown["name"] == "old" and shown["status"] == "COMPLETED"
    assert shown["datastore"]["type"] == "mariadb" and shown["flavor_ram"] == 512
    assert shown["created"] == backups_mock.clock()["now"]
    listed = call(backups_mock, "GET", f"/instances/{SHUTDOWN}/backups").json()["backups"]
    assert [b["id"] for b in listed] == [added["id"]]


def test_add_backup_of_an_ha_instance(backups_mock: BackupsMock) -> None:
    added = backups_mock.add_backup(source={"type": "ha", "id": HA}, status="FAILED")

    shown = call(backups_mock, "GET", f"/backups/{added['id']}").json()["backup"]
    assert shown["instance_id"] is None and shown["status"] == "FAILED"
    assert shown["locationRef"] is None and shown["size"] is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"instance_id": MYSQL, "status": "NEW"}, "through the API"),
        ({"name": "orphan"}, "needs instance_id"),
        ({"instance_id": "00000000-0000-0000-0000-000000000000"}, "has no instance"),
    ],
    ids=["running", "no target", "unknown instance"],
)
def test_add_backup_refuses_what_the_mock_cannot_hold(
    backups_mock: BackupsMock, fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        backups_mock.add_backup(**fields)


def test_factory_mocks_run_at_once_each_with_its_settings(
    backups_mock: BackupsMock, backups_mock_factory: MockFactory
) -> None:
    small = backups_mock_factory(quota=3)
    secured = backups_mock_factory(account="5678", tokens={"t-5678": ["5678"], "t-all": ["*"]})

    assert len({backups_mock.url, small.url, secured.url}) == 3
    assert call(small, "POST", "/backups", {"backup": {"name": "x", "instance": MYSQL}}).json() == {
        "overLimit": {"code": 413, "message": "Quota exceeded for resources: ['backups']."}
    }
    create(backups_mock)  # the default mock keeps the default quota
    assert (secured.base_url, secured.token) == (f"{secured.url}/v1.0/5678", "t-5678")
    assert call(secured, "GET", "/backups").json() == {"backups": []}
    wrong = httpx.get(f"{secured.url}/v1.0/1234/backups", headers=secured.headers)
    assert wrong.status_code == 403


def test_factory_gives_a_distinct_mock_for_each_call_in_a_test(
    backups_mock_factory: MockFactory,
) -> None:
    first, second = backups_mock_factory(), backups_mock_factory()

    create(first)

    assert first.url != second.url
    assert len(backup_ids(first)) == len(FIXTURE_BACKUPS) + 1
    assert backup_ids(second) == FIXTURE_BACKUPS


def test_factory_refuses_unknown_and_fixed_settings(backups_mock_factory: MockFactory) -> None:
    with pytest.raises(TypeError, match="quotas"):
        backups_mock_factory(quotas=3)
    with pytest.raises(TypeError, match="port"):
        backups_mock_factory(port=9999)


def test_factory_needs_a_token_for_an_account_its_table_does_not_hold_and_starts_no_mock(
    backups_mock_factory: MockFactory,
) -> None:
    threads = set(threading.enumerate())
    with pytest.raises(ValueError, match="no token"):
        backups_mock_factory(account="42", tokens={"t": ["1234"]})
    assert set(threading.enumerate()) <= threads  # no server thread left running


def test_pool_reuses_a_started_mock_resets_it_and_stops_it_on_close() -> None:
    pool = MockPool()
    try:
        first = pool.get(0, "1234", None, {"quota": 7})
        create(first)
        again = pool.get(0, "1234", None, {"quota": 7})
        assert again is first
        assert backup_ids(again) == FIXTURE_BACKUPS
        assert pool.get(1, "1234", None, {"quota": 7}) is not first
    finally:
        pool.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(first.url)


def test_the_in_process_mock_is_reachable_through_app(backups_mock: BackupsMock) -> None:
    backup = create(backups_mock)

    assert backups_mock.app is not None
    assert backups_mock.app.store.get_backup("1234", backup["id"]).name == "nightly"


# -- regions (contract section 12) --------------------------------------------------------------


def test_region_is_the_endpoint_under_its_lowercase_code_with_the_same_account_and_token(
    backups_mock: BackupsMock,
) -> None:
    iad = backups_mock.region("iad")

    assert (iad.code, iad.region_code, iad.url) == ("IAD", "IAD", f"{backups_mock.url}/iad")
    assert iad.base_url == f"{backups_mock.url}/iad/v1.0/1234"
    assert (iad.account, iad.headers) == (backups_mock.account, backups_mock.headers)
    assert backup_ids(iad) == []  # every region but the own one starts empty
    assert backup_ids(backups_mock.region("DFW")) == FIXTURE_BACKUPS  # the own one, prefixed
    assert backups_mock.region_code == "DFW"
    assert backups_mock.regions == ("DFW", "IAD", "ORD", "LON", "HKG", "SYD")
    with pytest.raises(ValueError, match="no region XYZ: the mock serves DFW, IAD, ORD"):
        backups_mock.region("XYZ")


def test_region_add_instance_and_add_backup_seed_that_region_only(
    backups_mock: BackupsMock,
) -> None:
    iad = backups_mock.region("IAD")

    instance = iad.add_instance(name="standby")
    added = iad.add_backup(instance_id=instance["id"], name="seeded")

    assert backup_ids(iad) == [added["id"]]
    assert [b["id"] for b in iad.state()["accounts"]["1234"]["backups"]] == [added["id"]]
    shown = call(iad, "GET", f"/backups/{added['id']}").json()["backup"]
    assert shown["locationRef"].startswith("https://snet-storage101.iad1.clouddrive.com/")
    assert call(iad, "GET", f"/instances/{instance['id']}").status_code == 200
    assert call(backups_mock, "GET", f"/instances/{instance['id']}").status_code == 404
    assert backup_ids(backups_mock) == FIXTURE_BACKUPS
    with pytest.raises(ValueError, match=f"no instance {MYSQL} in IAD"):
        iad.add_backup(instance_id=MYSQL)  # an instance of DFW


def test_region_add_schedule_makes_the_schedule_in_that_region(backups_mock: BackupsMock) -> None:
    iad = backups_mock.region("IAD")

    schedule = iad.add_schedule(iad.add_instance()["id"], hour=2)

    assert [s["id"] for s in call(iad, "GET", "/schedules").json()["schedules"]] == [schedule["id"]]
    assert schedule["id"] not in call(backups_mock, "GET", "/schedules").text


def test_copy_backup_returns_the_new_copy_which_completes_on_the_one_clock(
    backups_mock: BackupsMock,
) -> None:
    iad = backups_mock.region("IAD")

    copy = backups_mock.copy_backup(PERCONA_BACKUP, "IAD", name="dr")

    assert (copy["name"], copy["status"]) == ("dr", "NEW")
    assert copy["copy_of"] == {"region": "DFW", "id": PERCONA_BACKUP}
    [request] = backups_mock.requests("POST", f"/backups/{PERCONA_BACKUP}/action")
    assert request["body"] == {"copy-backup": {"target_backup_region": "IAD", "name": "dr"}}
    iad.advance(5)  # the mock's one clock, whichever handle moves it
    assert status_of(iad, copy["id"]) == "COMPLETED"
    again = iad.copy_backup(copy["id"], "ORD")  # from IAD, keeping the name
    assert (again["name"], again["copy_of"]) == ("dr", {"region": "IAD", "id": copy["id"]})
    assert backup_ids(backups_mock.region("ORD")) == [again["id"]]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("LON", "400 Backups cannot be copied from or to LON"),
        ("DFW", f"400 Backup {PERCONA_BACKUP} is in DFW already"),
    ],
    ids=["LON", "own region"],
)
def test_copy_backup_raises_the_mocks_refusal(
    backups_mock: BackupsMock, target: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        backups_mock.copy_backup(PERCONA_BACKUP, target)
    assert all(backup_ids(region) == [] for region in map(backups_mock.region, ("IAD", "LON")))


def test_region_requests_and_inject_see_only_that_regions_requests(
    backups_mock: BackupsMock,
) -> None:
    iad, dfw = backups_mock.region("IAD"), backups_mock.region("DFW")
    iad.inject("/backups", method="GET", status=503, count=None)

    statuses = [call(mock, "GET", "/backups").status_code for mock in (iad, dfw, backups_mock)]

    assert statuses == [503, 200, 200]
    assert [r["path"] for r in iad.requests("GET", "/backups")] == ["/iad/v1.0/1234/backups"]
    assert [r["path"] for r in dfw.requests("GET", "/backups")] == [
        "/dfw/v1.0/1234/backups",
        "/v1.0/1234/backups",  # the own region's, at /v1.0 as well
    ]
    assert [r["path"] for r in backups_mock.requests("GET", "/backups")] == ["/v1.0/1234/backups"]
    assert len(backups_mock.requests("GET", "*/v1.0/1234/backups")) == 3


def test_a_mock_of_another_own_region_serves_it_at_v1_0(
    backups_mock_factory: MockFactory,
) -> None:
    mock = backups_mock_factory(region="IAD")
    dfw = mock.region("DFW")

    added = dfw.add_backup(instance_id=dfw.add_instance()["id"])

    assert (mock.region_code, backup_ids(mock.region("IAD"))) == ("IAD", FIXTURE_BACKUPS)
    assert backup_ids(dfw) == [added["id"]] and "dfw1." in added["locationRef"]
    assert "iad1." in mock.add_backup(instance_id=MYSQL)["locationRef"]


def test_a_region_of_the_in_process_mock_reaches_its_store(backups_mock: BackupsMock) -> None:
    iad = backups_mock.region("IAD")
    added = iad.add_backup(instance_id=iad.add_instance()["id"])

    assert backups_mock.app is not None and iad.store is backups_mock.app.regions["IAD"]
    assert iad.store.get_backup("1234", added["id"]).status == "COMPLETED"


def test_a_handle_without_the_app_drives_every_region_over_http_alone(
    backups_mock: BackupsMock,
) -> None:
    remote = BackupsMock(backups_mock.url)  # as the plugin builds it for --backups-mock-url
    try:
        iad = remote.region("IAD")
        copy = remote.copy_backup(PERCONA_BACKUP, "IAD")
        remote.advance(5)

        assert (iad.store, status_of(iad, copy["id"])) == (None, "COMPLETED")
    finally:
        remote.close()
