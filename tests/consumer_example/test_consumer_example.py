"""A consumer team's tests, as they would write them: they use only the fixtures that installing
cdb-backups-contract-kit provides (`backups_mock`, `backups_mock_factory`) and import nothing
from it. The README's "Mock it in your tests" example is this file.
"""

import httpx

INSTANCE = "d4603f69-ec7e-4e9b-803f-600b9205576f"  # ACTIVE in the mock's fixture state


# -- the consumer's code under test: a tiny client of the backups API --------------------------


def start_backup(base_url: str, token: str, instance_id: str, name: str, tries: int = 1) -> dict:
    """POST /backups, retrying a 503 up to `tries` times."""
    for _ in range(tries):
        response = httpx.post(
            f"{base_url}/backups",
            headers={"X-Auth-Token": token},
            json={"backup": {"name": name, "instance": instance_id}},
        )
        if response.status_code != 503:
            break
    response.raise_for_status()
    return response.json()["backup"]


def backup_status(base_url: str, token: str, backup_id: str) -> str:
    response = httpx.get(f"{base_url}/backups/{backup_id}", headers={"X-Auth-Token": token})
    response.raise_for_status()
    return response.json()["backup"]["status"]


def copy_backup(base_url: str, token: str, backup_id: str, region: str, name: str) -> None:
    """Ask for a copy of a COMPLETED backup in another region: 202, and no body."""
    response = httpx.post(
        f"{base_url}/backups/{backup_id}/action",
        headers={"X-Auth-Token": token},
        json={"copy-backup": {"target_backup_region": region, "name": name}},
    )
    response.raise_for_status()


def restore(base_url: str, token: str, backup_name: str, instance_name: str) -> dict:
    """Restore the newest COMPLETED backup named `backup_name` into a new instance."""
    listed = httpx.get(f"{base_url}/backups", headers={"X-Auth-Token": token}).json()
    backup = next(
        b for b in listed["backups"] if b["name"] == backup_name and b["status"] == "COMPLETED"
    )
    response = httpx.post(
        f"{base_url}/instances",
        headers={"X-Auth-Token": token},
        json={
            "instance": {
                "name": instance_name,
                "flavorRef": 1,
                "volume": {"size": 2},
                "restorePoint": {"backupRef": backup["id"]},
            }
        },
    )
    response.raise_for_status()
    return response.json()["instance"]


# -- the tests ------------------------------------------------------------------------------------


def test_start_backup_sends_one_create_request_with_the_name(backups_mock) -> None:
    backup = start_backup(backups_mock.base_url, backups_mock.token, INSTANCE, "nightly")

    assert backup["status"] == "NEW"
    [create] = backups_mock.requests("POST", "/backups")  # the request journal
    assert create["body"] == {"backup": {"name": "nightly", "instance": INSTANCE}}


def test_a_backup_completes_when_the_mock_clock_moves(backups_mock) -> None:
    backup = start_backup(backups_mock.base_url, backups_mock.token, INSTANCE, "nightly")
    assert backup_status(backups_mock.base_url, backups_mock.token, backup["id"]) == "NEW"

    backups_mock.advance(5)  # NEW lasts 1 s and BUILDING 4 s; the clock is frozen otherwise

    assert backup_status(backups_mock.base_url, backups_mock.token, backup["id"]) == "COMPLETED"


def test_a_backup_can_be_made_to_fail(backups_mock) -> None:
    backups_mock.fail_next_backup()
    backup = start_backup(backups_mock.base_url, backups_mock.token, INSTANCE, "doomed")
    backups_mock.advance(5)

    assert backup_status(backups_mock.base_url, backups_mock.token, backup["id"]) == "FAILED"


def test_start_backup_retries_a_503(backups_mock) -> None:
    backups_mock.inject("/backups", method="POST", status=503, count=1)

    start_backup(backups_mock.base_url, backups_mock.token, INSTANCE, "nightly", tries=2)

    assert [r["status"] for r in backups_mock.requests("POST", "/backups")] == [503, 202]


def test_a_backup_restores_to_an_instance_that_builds_then_is_active(backups_mock) -> None:
    backup = start_backup(backups_mock.base_url, backups_mock.token, INSTANCE, "to-restore")
    backups_mock.advance(5)
    made = httpx.post(
        f"{backups_mock.base_url}/instances",
        headers=backups_mock.headers,
        json={
            "instance": {
                "name": "restored",
                "flavorRef": 1,
                "volume": {"size": 2},
                "restorePoint": {"backupRef": backup["id"]},
            }
        },
    )

    assert made.status_code == 200 and made.json()["instance"]["status"] == "BUILD"
    backups_mock.advance(5)  # the mock's --build-seconds: 5 by default
    shown = httpx.get(
        f"{backups_mock.base_url}/instances/{made.json()['instance']['id']}",
        headers=backups_mock.headers,
    )
    assert shown.json()["instance"]["status"] == "ACTIVE"


def test_a_backup_copied_to_iad_restores_there_and_only_there(backups_mock) -> None:
    iad = backups_mock.region("IAD")  # the same mock, at IAD's endpoint: /iad/v1.0/<account>
    backup = start_backup(backups_mock.base_url, backups_mock.token, INSTANCE, "nightly")
    backups_mock.advance(5)  # COMPLETED in DFW

    copy_backup(backups_mock.base_url, backups_mock.token, backup["id"], "IAD", "nightly-dr")
    iad.advance(5)  # one clock for every region: the copy is NEW, BUILDING, then COMPLETED
    instance = restore(iad.base_url, iad.token, "nightly-dr", "recovered")
    assert instance["status"] == "BUILD"
    iad.advance(5)  # the instance builds for 5 s

    shown = httpx.get(f"{iad.base_url}/instances/{instance['id']}", headers=iad.headers)
    assert shown.json()["instance"]["status"] == "ACTIVE"
    in_dfw = httpx.get(
        f"{backups_mock.base_url}/instances/{instance['id']}", headers=backups_mock.headers
    )
    assert in_dfw.status_code == 404
    [restored] = iad.requests("POST", "/instances")  # the journal of IAD's requests
    assert restored["path"] == "/iad/v1.0/1234/instances"


def test_each_test_starts_from_the_fixture_state(backups_mock) -> None:
    # The tests above created backups and injected faults; none of it is left.
    response = httpx.get(f"{backups_mock.base_url}/backups", headers=backups_mock.headers)

    assert [b["name"] for b in response.json()["backups"]] == [
        "test_instance-backup",
        "ha-backup1",
        "snapshot",
        "snapshot",  # the backup the restore example restores
    ]
    assert backups_mock.requests("POST") == []


def test_an_unknown_token_is_refused_by_a_mock_with_a_token_table(backups_mock_factory) -> None:
    secured = backups_mock_factory(tokens={"good-token": ["1234"]})

    assert secured.token == "good-token"
    ha_backup = "0c1b5616-fdc5-45ae-b2dc-6f1440d55d0e"
    assert backup_status(secured.base_url, secured.token, ha_backup) == "COMPLETED"
    refused = httpx.get(f"{secured.base_url}/backups", headers={"X-Auth-Token": "bad-token"})
    assert refused.status_code == 401
