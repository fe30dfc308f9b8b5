"""The OpenStack command line (python-openstackclient with troveclient's plugin) against the mock:
`openstack --os-auth-type admin_token --os-endpoint <base>/v1.0/<account> --os-token T
database backup list|show|create|delete`, `database instance list|show|create|delete` (create
with `--backup`: a restore) and `database flavor list`, and what they print; `--os-endpoint` of a
region (`<mock>/iad/v1.0/<account>`) lists that region's backups.
Each run costs about a second of start-up, so each test runs the command once. The command runs
with a HOME of its own: it writes its entry-point cache (~/.cache) and troveclient's completion
cache (~/.troveclient) there, and reads no clouds.yaml of the caller's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fixture_ids import (
    FIXTURE_BACKUPS,
    FIXTURE_INSTANCES,
    FLAVORS,
    MYSQL,
    PERCONA,
    PERCONA_BACKUP,
    SHUTDOWN,
)

from mockserver.plugin.plugin_endpoint import Endpoint
from mockserver.plugin.pytest_plugin import BackupsMock

OPENSTACK = Path(sys.executable).with_name("openstack")

pytestmark = pytest.mark.slow


Openstack = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def cli_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The HOME of every `openstack` run of the session (its caches are built once)."""
    return tmp_path_factory.mktemp("openstack-home")


@pytest.fixture
def openstack(cli_home: Path) -> Openstack:
    """`openstack(mock, *args)`: run `openstack` with a static token on the mock, or on one
    region of it (`backups_mock.region("IAD")`); no OS_*, XDG_* or TROVECLIENT_* setting of the
    caller leaks in, and it writes only under `cli_home`."""

    def run(mock: Endpoint, *args: str) -> subprocess.CompletedProcess[str]:
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("OS_", "XDG_", "TROVECLIENT_"))
        }
        environment["HOME"] = str(cli_home)
        command = [
            str(OPENSTACK),
            "--os-auth-type=admin_token",
            f"--os-endpoint={mock.base_url}",
            f"--os-token={mock.token}",
            *args,
        ]
        return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)

    return run


def table_rows(output: str) -> list[list[str]]:
    """The cells of a table as cliff prints it, header first."""
    rows = [line for line in output.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def seed_backups(mock: BackupsMock, count: int) -> list[str]:
    """`count` more COMPLETED backups of the percona instance, one a second from 2016 on, so
    that they come before the fixture's in the list. Their ids, newest first."""
    state = mock.state()
    backups: list[dict[str, Any]] = state["accounts"]["1234"]["backups"]
    model = next(b for b in backups if b["id"] == PERCONA_BACKUP)
    added = []
    for n in range(count):
        backup_id = f"00000000-0000-4000-8000-{n:012d}"
        stamp = f"2016-01-01T00:00:{n:02d}Z"
        added.append({**model, "id": backup_id, "name": f"seeded-{n:02d}"})
        added[-1].update(created=stamp, updated=stamp, locationRef=None)
    backups.extend(added)
    mock.seed(state)
    return [b["id"] for b in reversed(added)]


def test_backup_list_prints_every_page_of_backups_newest_first(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    seeded = seed_backups(backups_mock, 22)  # 25 in all: two pages of the default 20

    result = openstack(backups_mock, "database", "backup", "list")

    assert result.returncode == 0, result.stderr
    header, *rows = table_rows(result.stdout)
    assert header == ["ID", "Instance ID", "Name", "Status", "Parent ID", "Updated", "Project ID"]
    assert [row[0] for row in rows] == seeded + FIXTURE_BACKUPS
    assert rows[0][2:4] == ["seeded-21", "COMPLETED"]
    assert rows[-1][1:6] == [
        "44b277eb-39be-4921-be31-3d61b43651d7",
        "snapshot",
        "COMPLETED",
        "None",
        "2014-02-13T21:47:21Z",  # the restore example's backup
    ]
    pages = backups_mock.requests("GET", "/backups")
    assert [page["query"] for page in pages] == ["", f"marker={seeded[19]}"]  # its next marker


def test_instance_list_prints_the_instances_and_include_clustered_is_ignored(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    result = openstack(backups_mock, "database", "instance", "list")

    assert result.returncode == 0, result.stderr
    header, *rows = table_rows(result.stdout)
    assert header[:5] == ["ID", "Name", "Datastore", "Datastore Version", "Status"]
    assert header[8:] == ["Flavor ID", "Size", "Role"]
    shown = {row[0]: row[1:5] + row[8:10] for row in rows}
    assert list(shown) == FIXTURE_INSTANCES
    assert shown[MYSQL] == ["json_rack_instance", "mysql", "5.6", "ACTIVE", "2", "2"]
    assert shown[SHUTDOWN] == [
        "stopped_instance",
        "mariadb",
        "10.1",
        "SHUTDOWN",
        "1",
        "1",
    ]
    [request] = backups_mock.requests("GET", "/instances")
    assert request["query"] == "include_clustered=False"
    assert (request["status"], request["ignored_query"]) == (200, ["include_clustered"])


def test_instance_show_prints_the_instance_with_its_datastore_flavor_and_volume(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    result = openstack(backups_mock, "database", "instance", "show", PERCONA, "-f", "json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "id": PERCONA,
        "name": "test_instance",
        "status": "ACTIVE",
        "datastore": "percona",
        "datastore_version": "5.6",
        "datastore_version_number": None,  # the CLI's column; this API has no such member
        "flavor": "2",
        "volume": 1,
        "hostname": "f4aaba46fb5f4316988d88da77759968.ord.rackspaceclouddb.com",  # the fixture's
    }


def test_backup_list_instance_prints_every_page_of_that_instances_backups(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    seeded = seed_backups(backups_mock, 22)  # 23 backups of the percona instance: two pages

    result = openstack(backups_mock, "database", "backup", "list", "instance", PERCONA)

    assert result.returncode == 0, result.stderr
    header, *rows = table_rows(result.stdout)
    assert header == ["ID", "Instance ID", "Name", "Status", "Parent ID", "Updated"]
    assert [row[0] for row in rows] == [*seeded, PERCONA_BACKUP]  # none of the others'
    assert {row[1] for row in rows} == {PERCONA}
    assert rows[-1][2:] == ["test_instance-backup", "COMPLETED", "None", "2015-09-01T03:23:36Z"]
    pages = backups_mock.requests("GET", f"/instances/{PERCONA}/backups")
    assert [page["query"] for page in pages] == ["", f"marker={seeded[19]}"]


def test_backup_list_with_instance_id_prints_every_backup_as_the_api_ignores_the_filter(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    seeded = seed_backups(backups_mock, 22)  # 25 in all: two pages, each sent with the filter

    result = openstack(backups_mock, "database", "backup", "list", "--instance-id", MYSQL)

    assert result.returncode == 0, result.stderr
    _, *rows = table_rows(result.stdout)
    assert [row[0] for row in rows] == seeded + FIXTURE_BACKUPS  # MYSQL has no backup at all
    pages = backups_mock.requests("GET", "/backups")
    assert [page["query"] for page in pages] == [
        f"instance_id={MYSQL}",
        f"marker={seeded[19]}&instance_id={MYSQL}",
    ]
    assert [page["ignored_query"] for page in pages] == [["instance_id"], ["instance_id"]]


def test_backup_list_with_instance_by_name_resolves_it_and_the_api_ignores_the_filter(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    result = openstack(backups_mock, "database", "backup", "list", "--instance", "test_instance")

    assert result.returncode == 0, result.stderr
    _, *rows = table_rows(result.stdout)
    assert [row[0:3] for row in rows] == [
        [PERCONA_BACKUP, PERCONA, "test_instance-backup"],
        [FIXTURE_BACKUPS[1], "None", "ha-backup1"],
        [FIXTURE_BACKUPS[2], "44b277eb-39be-4921-be31-3d61b43651d7", "snapshot"],
        [FIXTURE_BACKUPS[3], "44b277eb-39be-4921-be31-3d61b43651d7", "snapshot"],
    ]
    [lookup] = backups_mock.requests("GET", "/instances")  # the name, found in the list
    assert lookup["ignored_query"] == ["include_clustered"]
    [listed] = backups_mock.requests("GET", "/backups")
    assert (listed["query"], listed["ignored_query"]) == (f"instance_id={PERCONA}", ["instance_id"])


def test_backup_show_prints_the_backup_with_its_datastore(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    result = openstack(backups_mock, "database", "backup", "show", PERCONA_BACKUP, "-f", "json")

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["id"] == PERCONA_BACKUP and shown["name"] == "test_instance-backup"
    assert shown["status"] == "COMPLETED" and shown["size"] == 0.18
    assert (shown["datastore"], shown["datastore_version"]) == ("percona", "5.6")
    assert shown["locationRef"].endswith(f"/{PERCONA_BACKUP}.xbstream.gz")


def test_backup_create_prints_the_new_backup_and_sends_one_request(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    result = openstack(
        backups_mock,
        *("database", "backup", "create", "nightly", "--instance", MYSQL),
        *("--description", "from the CLI", "-f", "json"),
    )

    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert (created["name"], created["status"], created["instance_id"]) == ("nightly", "NEW", MYSQL)
    assert created["description"] == "from the CLI" and created["datastore"] == "mysql"
    [request] = backups_mock.requests("POST", "/backups")
    assert request["body"] == {
        "backup": {
            "name": "nightly",
            "instance": MYSQL,
            "description": "from the CLI",
            "incremental": 0,
        }
    }
    assert request["headers"]["x-auth-token"] == backups_mock.token


def test_backup_delete_prints_that_it_was_accepted(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    result = openstack(backups_mock, "database", "backup", "delete", PERCONA_BACKUP)

    assert result.returncode == 0, result.stderr
    expected = f"Request to delete database backup {PERCONA_BACKUP} has been accepted."
    assert result.stdout.strip() == expected
    remaining = backups_mock.state()["accounts"]["1234"]["backups"]
    assert [b["id"] for b in remaining] == FIXTURE_BACKUPS[1:]


def test_backup_delete_of_an_unknown_backup_prints_the_fault_and_fails(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    missing = "00000000-0000-0000-0000-000000000000"

    result = openstack(backups_mock, "database", "backup", "delete", missing)

    assert result.returncode == 1
    assert f"Resource {missing} cannot be found. (HTTP 404)" in result.stdout
    assert "Unable to delete the specified database backup(s)." in result.stderr


def instance_statuses_until_active(
    mock: BackupsMock, instance_id: str, limit: int = 30
) -> list[str]:
    """Poll the instance through the API, moving the mock's clock a second (`POST
    /__mock/clock`) after each status that is not ACTIVE: the statuses seen, in order, each
    once. Fails the test when it is not ACTIVE after `limit` seconds of the mock's clock."""
    seen: list[str] = []
    for _ in range(limit):
        shown = httpx.get(f"{mock.base_url}/instances/{instance_id}", headers=mock.headers)
        status = shown.json()["instance"]["status"] if shown.status_code == 200 else shown.text
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "ACTIVE":
            return seen
        mock.advance(1)
    pytest.fail(f"instance {instance_id} not ACTIVE after {limit} s; statuses seen: {seen}")


def test_instance_create_with_backup_restores_it_and_list_and_delete_follow_the_instance(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    created = openstack(
        backups_mock,
        *("database", "instance", "create", "restored", "--flavor", "2", "--size", "2"),
        *("--backup", PERCONA_BACKUP, "-f", "json"),  # COMPLETED, of the percona 5.6 instance
    )

    assert created.returncode == 0, created.stderr
    shown = json.loads(created.stdout)
    instance_id = shown.pop("id")
    assert shown.pop("hostname").startswith(instance_id.replace("-", ""))
    assert shown.pop("created") == shown.pop("updated")
    assert shown == {
        "name": "restored",
        "status": "BUILD",
        "datastore": "percona",  # the backup's: no --datastore was given
        "datastore_version": "5.6",
        "datastore_version_number": None,
        "flavor": "2",
        "volume": 2,
    }
    [request] = backups_mock.requests("POST", "/instances")
    assert request["body"] == {  # the flavor and the backup were looked up by id first
        "instance": {
            "name": "restored",
            "flavorRef": 2,  # the flavor's id as GET /flavors/2 answers it: an integer
            "volume": {"size": 2, "type": None},
            "restorePoint": {"backupRef": PERCONA_BACKUP},
            "access": {"is_public": False},
        }
    }
    assert instance_statuses_until_active(backups_mock, instance_id) == ["BUILD", "ACTIVE"]

    listed = openstack(backups_mock, "database", "instance", "list", "-f", "json")

    assert listed.returncode == 0, listed.stderr
    rows = {row["ID"]: row for row in json.loads(listed.stdout)}
    assert list(rows) == sorted([*FIXTURE_INSTANCES, instance_id])
    assert rows[instance_id] == {
        "ID": instance_id,
        "Name": "restored",
        "Datastore": "percona",
        "Datastore Version": "5.6",
        "Status": "ACTIVE",
        "Operating Status": "",
        "Public": "",
        "Addresses": "",
        "Flavor ID": "2",
        "Size": 2,
        "Role": "",
    }

    deleted = openstack(backups_mock, "database", "instance", "delete", instance_id)

    assert deleted.returncode == 0, deleted.stderr
    expected = f"Request to delete database instance {instance_id} has been accepted."
    assert deleted.stdout.strip() == expected
    account = backups_mock.state()["accounts"]["1234"]
    assert sorted(i["id"] for i in account["instances"]) == FIXTURE_INSTANCES
    assert PERCONA_BACKUP in [b["id"] for b in account["backups"]]  # the backup stays


def test_flavor_list_prints_the_eight_flavors_with_their_name_and_ram(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    result = openstack(backups_mock, "database", "flavor", "list", "-f", "json")

    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [(f["ID"], f["Name"], f["RAM"]) for f in listed] == FLAVORS
    # The CLI's other columns are Nova's flavor members, which this API's flavors do not have
    assert {(f["vCPUs"], f["Disk"], f["Ephemeral"]) for f in listed} == {("", "", "")}
    [request] = backups_mock.requests("GET", "/flavors*")  # one request: no lookup per flavor
    assert (request["path"], request["status"]) == ("/v1.0/1234/flavors", 200)


def test_backup_list_at_iad_endpoint_prints_the_copy_made_there_and_nothing_of_dfw(
    backups_mock: BackupsMock, openstack: Openstack
) -> None:
    iad = backups_mock.region("IAD")
    copy = backups_mock.copy_backup(PERCONA_BACKUP, "IAD", name="dr-copy")
    iad.advance(5)  # NEW, BUILDING, then COMPLETED

    result = openstack(iad, "database", "backup", "list")  # --os-endpoint=<mock>/iad/v1.0/1234

    assert result.returncode == 0, result.stderr
    header, *rows = table_rows(result.stdout)
    assert header == ["ID", "Instance ID", "Name", "Status", "Parent ID", "Updated", "Project ID"]
    assert [row[:5] for row in rows] == [[copy["id"], PERCONA, "dr-copy", "COMPLETED", "None"]]
    assert {r["path"] for r in backups_mock.requests("GET")} == {
        "/iad/v1.0/1234/backups",
        f"/iad/v1.0/1234/backups/{copy['id']}",  # the "Project ID" column's read
    }
