"""python-troveclient 8.x, as it is, works against the mock: a keystoneauth1 session with a
static token and the mock's base URL, no Keystone (see ../shared/notes/stack-facts.md). Every call
of its `instances`, `backups` and `flavors` managers that this API serves is made here as a
consumer makes it, unmodified (a restore included: back up, wait, restore, wait, delete); the
ones that send a query parameter the API does not define (`include_clustered`, `instance_id`)
get the answer without it, as from the real service (contract section 9). A client pointed at
a region's endpoint (`<mock>/iad/v1.0/1234`) sees that region (contract section 12): a backup
copied there with the raw post (troveclient has no method for the copy action) is listed, shown
and restored in IAD."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fixture_ids import (
    FIXTURE_BACKUPS,
    FIXTURE_INSTANCES,
    FLAVORS,
    HA,
    HA_BACKUP,
    HA_MEMBERS,
    MYSQL,
    PERCONA,
    PERCONA_BACKUP,
    SHUTDOWN,
)
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from troveclient import exceptions
from troveclient.v1 import client as trove

from mockserver.plugin.plugin_endpoint import Endpoint
from mockserver.plugin.pytest_plugin import BackupsMock, MockFactory

MISSING = "00000000-0000-0000-0000-000000000000"


ClientFor = Callable[..., Any]


@pytest.fixture
def client_for() -> Iterator[ClientFor]:
    """Makes troveclient clients of mocks; their keystoneauth sessions (and sockets) are
    closed after the test, not left to the garbage collector."""
    sessions: list[ks_session.Session] = []

    def make(mock: Endpoint, token: str | None = None) -> Any:
        auth = token_endpoint.Token(mock.base_url, token or mock.token)
        sessions.append(ks_session.Session(auth=auth))
        return trove.Client(session=sessions[-1])

    yield make
    for session in sessions:
        session.session.close()


@pytest.fixture(autouse=True)
def completion_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """troveclient writes the id of each resource it creates to a completion cache, by default
    under ~/.troveclient: keep it in the test's own directory."""
    monkeypatch.setenv("TROVECLIENT_UUID_CACHE_DIR", str(tmp_path))
    return tmp_path


def statuses_until(
    mock: Endpoint, read: Callable[[], Any], wanted: str, *, limit: int = 30
) -> list[str]:
    """Poll `read()` (a troveclient resource), moving the mock's clock a second after each
    status that is not `wanted`: the statuses seen, in order, each once. Fails the test when
    `wanted` has not come after `limit` seconds of the mock's clock."""
    seen: list[str] = []
    for _ in range(limit):
        status = read().status
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == wanted:
            return seen
        mock.advance(1)
    pytest.fail(f"not {wanted} after {limit} s of the mock's clock; statuses seen: {seen}")


@pytest.fixture
def trove_client(backups_mock: BackupsMock, client_for: ClientFor) -> Any:
    return client_for(backups_mock)


@pytest.fixture
def iad_client(backups_mock: BackupsMock, client_for: ClientFor) -> Any:
    """A client of IAD's endpoint, `<mock>/iad/v1.0/1234`, as a consumer points one there."""
    return client_for(backups_mock.region("IAD"))


def test_create_returns_a_new_backup_and_sends_incremental_0(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    backup = trove_client.backups.create("nightly", MYSQL, description="before the upgrade")

    assert (backup.name, backup.status, backup.instance_id) == ("nightly", "NEW", MYSQL)
    assert backup.description == "before the upgrade" and backup.parent_id is None
    [request] = backups_mock.requests("POST", "/backups")
    assert request["body"]["backup"] == {
        "name": "nightly",
        "instance": MYSQL,
        "description": "before the upgrade",
        "incremental": 0,
    }


def test_list_pages_through_the_next_markers(trove_client: Any, backups_mock: BackupsMock) -> None:
    ids = []
    page = trove_client.backups.list(limit=2)
    ids += [b.id for b in page]
    markers = [page.next]
    while page.next:
        page = trove_client.backups.list(limit=2, marker=page.next)
        ids += [b.id for b in page]
        markers.append(page.next)

    assert ids == FIXTURE_BACKUPS
    assert markers == [FIXTURE_BACKUPS[1], None]
    second = backups_mock.requests("GET", "/backups")[1]
    assert second["query"] == f"limit=2&marker={FIXTURE_BACKUPS[1]}"


def test_list_returns_the_accounts_backups_newest_first_in_one_page(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    listed = trove_client.backups.list()

    assert [b.id for b in listed] == FIXTURE_BACKUPS and listed.next is None
    assert [(b.name, b.status) for b in listed] == [
        ("test_instance-backup", "COMPLETED"),
        ("ha-backup1", "COMPLETED"),
        ("snapshot", "COMPLETED"),
        ("snapshot", "COMPLETED"),  # the restore example's backup
    ]
    [request] = backups_mock.requests("GET", "/backups")
    assert (request["query"], request["ignored_query"]) == ("", [])


def test_list_with_instance_id_answers_the_whole_account_list_as_the_real_service_ignores_it(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    listed = trove_client.backups.list(instance_id=PERCONA)

    assert [b.id for b in listed] == FIXTURE_BACKUPS  # not only PERCONA's: the filter is ignored
    [request] = backups_mock.requests("GET", "/backups")
    assert request["query"] == f"instance_id={PERCONA}"
    assert (request["status"], request["ignored_query"]) == (200, ["instance_id"])
    # One instance's backups come from instances.backups
    assert [b.id for b in trove_client.instances.backups(PERCONA)] == [PERCONA_BACKUP]


def test_list_with_datastore_returns_only_that_datastores_backups(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    mysql = trove_client.backups.list(datastore="mysql")

    assert [b.id for b in mysql] == [HA_BACKUP, *FIXTURE_BACKUPS[2:]]
    assert {b.datastore["type"] for b in mysql} == {"mysql"}
    [request] = backups_mock.requests("GET", "/backups")
    assert (request["query"], request["ignored_query"]) == ("datastore=mysql", [])
    with pytest.raises(exceptions.NotFound):
        trove_client.backups.list(datastore="postgresql")  # a type the service does not know


def test_get_returns_an_ha_backup_with_its_source_and_no_instance(trove_client: Any) -> None:
    shown = trove_client.backups.get(HA_BACKUP)

    assert (shown.id, shown.name, shown.description) == (HA_BACKUP, "ha-backup1", "my_ha_backup1")
    assert (shown.instance_id, shown.source) == (None, {"type": "ha", "id": HA})
    assert (shown.status, shown.size, shown.parent_id) == ("COMPLETED", 0.18, None)


def test_show_follows_the_lifecycle(trove_client: Any, backups_mock: BackupsMock) -> None:
    created = trove_client.backups.create("nightly", MYSQL)
    backups_mock.advance(5)

    shown = trove_client.backups.get(created.id)

    assert (shown.id, shown.name, shown.status) == (created.id, "nightly", "COMPLETED")
    assert shown.size > 0 and shown.locationRef.endswith(f"/{created.id}.xbstream.gz")
    assert shown.datastore == created.datastore
    assert (shown.datastore["type"], shown.volume_size, shown.is_automated) == ("mysql", 2, 0)


def test_delete_removes_the_backup(trove_client: Any) -> None:
    trove_client.backups.delete(PERCONA_BACKUP)

    with pytest.raises(exceptions.NotFound):
        trove_client.backups.get(PERCONA_BACKUP)
    assert [b.id for b in trove_client.backups.list()] == FIXTURE_BACKUPS[1:]


def test_instance_backups_lists_only_that_instance(trove_client: Any) -> None:
    mine = trove_client.backups.create("nightly", MYSQL)

    listed = trove_client.instances.backups(MYSQL)
    others = trove_client.instances.backups(PERCONA)

    assert [b.id for b in listed] == [mine.id]
    assert [b.id for b in others] == [PERCONA_BACKUP]


def test_incremental_create_chains_to_the_newest_completed_backup(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    full = trove_client.backups.create("full", MYSQL)
    backups_mock.advance(5)

    implicit = trove_client.backups.create("incr-1", MYSQL, incremental=True)
    backups_mock.advance(5)
    explicit = trove_client.backups.create("incr-2", MYSQL, parent_id=implicit.id)

    assert (full.type, full.parent_id) == ("InnoBackupEx", None)
    assert (implicit.type, implicit.parent_id) == ("InnoBackupExIncremental", full.id)
    assert (explicit.type, explicit.parent_id) == ("InnoBackupExIncremental", implicit.id)
    sent = [r["body"]["backup"]["incremental"] for r in backups_mock.requests("POST", "/backups")]
    assert sent == [0, 1, 0]


def test_ha_backup_through_the_raw_post(trove_client: Any) -> None:
    body = {"backup": {"name": "ha-2", "instance": None, "source": {"type": "ha", "id": HA}}}

    response, answer = trove_client.client.post("/backups", body=body)

    assert response.status_code == 202
    assert answer["backup"]["instance_id"] is None
    assert answer["backup"]["source"] == {"type": "ha", "id": HA}
    response, listed = trove_client.client.get(f"/ha/{HA}/backups")
    assert listed["backups"][0]["id"] == answer["backup"]["id"]


# -- instances ----------------------------------------------------------------------------------


def test_instance_list_returns_every_instance_and_include_clustered_is_ignored(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    listed = trove_client.instances.list()

    assert [i.id for i in listed] == FIXTURE_INSTANCES and listed.next is None
    members = [i.id for i in listed if i.to_dict().get("ha_id") == HA]
    assert members == HA_MEMBERS
    [request] = backups_mock.requests("GET", "/instances")
    assert request["query"] == "include_clustered=False"  # troveclient always sends it
    assert (request["status"], request["ignored_query"]) == (200, ["include_clustered"])


def test_instance_list_pages_through_the_next_markers(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    page = trove_client.instances.list(limit=2)
    pages = [[i.id for i in page]]
    while page.next:
        page = trove_client.instances.list(limit=2, marker=page.next)
        pages.append([i.id for i in page])

    assert pages == [FIXTURE_INSTANCES[n : n + 2] for n in range(0, 7, 2)]
    sent = [r["query"] for r in backups_mock.requests("GET", "/instances")]
    assert sent == [
        "limit=2&include_clustered=False",
        *(f"limit=2&marker={pages[n][-1]}&include_clustered=False" for n in range(3)),
    ]


def test_instance_get_returns_its_name_status_datastore_flavor_and_volume(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    shown = trove_client.instances.get(MYSQL)

    assert (shown.id, shown.name, shown.status) == (MYSQL, "json_rack_instance", "ACTIVE")
    assert shown.datastore == {"type": "mysql", "version": "5.6"}
    assert (shown.flavor["id"], shown.volume) == ("2", {"size": 2})
    assert {"rel": "self", "href": f"{backups_mock.base_url}/instances/{MYSQL}"} in shown.links
    stopped = trove_client.instances.get(SHUTDOWN)
    assert (stopped.name, stopped.status, stopped.datastore["type"]) == (
        "stopped_instance",
        "SHUTDOWN",
        "mariadb",
    )
    assert (stopped.flavor["id"], stopped.volume["size"]) == ("1", 1)


def test_instance_get_shows_backup_while_a_backup_of_it_runs(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    backup = trove_client.backups.create("nightly", MYSQL)
    statuses = [trove_client.instances.get(MYSQL).status]
    backups_mock.advance(1)  # NEW -> BUILDING
    statuses.append(trove_client.instances.get(MYSQL).status)
    backups_mock.advance(4)  # BUILDING -> COMPLETED

    assert statuses == ["BACKUP", "BACKUP"]
    assert trove_client.instances.get(MYSQL).status == "ACTIVE"
    assert trove_client.backups.get(backup.id).status == "COMPLETED"


def test_instance_backups_pages_newest_first_through_the_next_markers(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    added = [
        backups_mock.add_backup(instance_id=MYSQL, created=f"2016-01-0{day}T00:00:00Z")["id"]
        for day in range(1, 6)
    ]
    newest_first = added[::-1]

    page = trove_client.instances.backups(MYSQL, limit=2)
    pages = [[b.id for b in page]]
    while page.next:
        page = trove_client.instances.backups(MYSQL, limit=2, marker=page.next)
        pages.append([b.id for b in page])

    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:]]
    assert {b.instance_id for b in trove_client.instances.backups(MYSQL)} == {MYSQL}
    sent = [r["query"] for r in backups_mock.requests("GET", f"/instances/{MYSQL}/backups")]
    assert sent == [
        "limit=2",
        f"limit=2&marker={newest_first[1]}",
        f"limit=2&marker={newest_first[3]}",
        "",
    ]


# -- each error class ---------------------------------------------------------------------------


def test_an_invalid_name_is_bad_request(trove_client: Any) -> None:
    with pytest.raises(exceptions.BadRequest) as raised:
        trove_client.backups.create("", MYSQL)
    assert raised.value.http_status == 400 and "name" in raised.value.message


def test_an_unknown_instance_is_not_found_for_get_and_for_its_backups(trove_client: Any) -> None:
    with pytest.raises(exceptions.NotFound) as shown:
        trove_client.instances.get(MISSING)
    with pytest.raises(exceptions.NotFound) as listed:
        trove_client.instances.backups(MISSING)

    assert shown.value.message == listed.value.message == f"Resource {MISSING} cannot be found."


def test_an_unknown_marker_is_bad_request(trove_client: Any) -> None:
    with pytest.raises(exceptions.BadRequest) as raised:
        trove_client.backups.list(limit=2, marker=MISSING)
    assert raised.value.http_status == 400 and MISSING in raised.value.message


def test_strict_query_makes_instance_list_a_bad_request_naming_include_clustered(
    backups_mock_factory: MockFactory, client_for: ClientFor
) -> None:
    strict = backups_mock_factory(strict_query=True)  # the opt-in of section 9
    client = client_for(strict)

    with pytest.raises(exceptions.BadRequest) as raised:
        client.instances.list()

    assert raised.value.http_status == 400 and "include_clustered" in raised.value.message
    assert client.instances.get(MYSQL).name == "json_rack_instance"  # no undefined parameter
    refused = strict.requests("GET", "/instances")[0]
    assert (refused["query"], refused["status"]) == ("include_clustered=False", 400)
    assert refused["ignored_query"] == []  # refused, not ignored


def test_an_unknown_token_is_unauthorized(
    backups_mock_factory: MockFactory, client_for: ClientFor
) -> None:
    secured = backups_mock_factory(tokens={"good": ["1234"]})

    assert [b.id for b in client_for(secured).backups.list()] == FIXTURE_BACKUPS
    with pytest.raises(exceptions.Unauthorized) as raised:
        client_for(secured, token="stolen").backups.list()
    assert raised.value.http_status == 401


def test_an_unknown_backup_is_not_found(trove_client: Any) -> None:
    with pytest.raises(exceptions.NotFound) as raised:
        trove_client.backups.get(MISSING)
    assert raised.value.message == f"Resource {MISSING} cannot be found."


def test_the_rate_limit_is_request_entity_too_large_with_retry_after(
    backups_mock_factory: MockFactory, client_for: ClientFor
) -> None:
    limited = client_for(backups_mock_factory(rate_limits=True))
    for _ in range(20):  # the documented limit for delete: 20 a minute
        with pytest.raises(exceptions.NotFound):
            limited.backups.delete("00000000-0000-0000-0000-000000000000")

    with pytest.raises(exceptions.RequestEntityTooLarge) as raised:
        limited.backups.delete("00000000-0000-0000-0000-000000000000")

    assert raised.value.http_status == 413
    assert 1 <= raised.value.retry_after <= 60


def test_the_quota_is_request_entity_too_large_with_no_retry_after(
    backups_mock_factory: MockFactory, client_for: ClientFor
) -> None:
    full = client_for(backups_mock_factory(quota=3))  # the fixture state holds 3 backups

    with pytest.raises(exceptions.RequestEntityTooLarge) as raised:
        full.backups.create("one-too-many", MYSQL)

    assert raised.value.message == "Quota exceeded for resources: ['backups']."
    assert raised.value.retry_after == 0  # troveclient's value when there is no Retry-After


def test_a_backup_of_an_instance_that_is_not_active_is_unprocessable(trove_client: Any) -> None:
    with pytest.raises(exceptions.UnprocessableEntity) as raised:
        trove_client.backups.create("stopped", SHUTDOWN)
    assert raised.value.http_status == 422 and "SHUTDOWN" in raised.value.message


# -- restore, delete and flavors (contract section 11) ------------------------------------------


def test_a_completed_backup_restores_to_an_instance_that_builds_lists_and_deletes(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    made = trove_client.backups.create("before-restore", PERCONA)  # percona 5.6, not the default
    backup_statuses = statuses_until(
        backups_mock, lambda: trove_client.backups.get(made.id), "COMPLETED"
    )
    backup = trove_client.backups.get(made.id)

    restored = trove_client.instances.create(
        "restored", "2", volume={"size": 2}, restorePoint={"backupRef": backup.id}
    )

    assert backup_statuses == ["NEW", "BUILDING", "COMPLETED"]
    assert (restored.name, restored.status) == ("restored", "BUILD")
    [request] = backups_mock.requests("POST", "/instances")
    assert request["body"] == {
        "instance": {
            "name": "restored",
            "flavorRef": "2",
            "volume": {"size": 2},
            "restorePoint": {"backupRef": backup.id},
        }
    }
    with pytest.raises(exceptions.UnprocessableEntity):
        trove_client.instances.delete(restored.id)  # not while it builds
    instance_statuses = statuses_until(
        backups_mock, lambda: trove_client.instances.get(restored.id), "ACTIVE"
    )
    assert instance_statuses == ["BUILD", "ACTIVE"]
    active = trove_client.instances.get(restored.id)
    # The backup's datastore, less its `version_id` (an instance shows type and version only)
    assert (backup.datastore["type"], backup.datastore["version"]) == ("percona", "5.6")
    assert active.datastore == {"type": "percona", "version": "5.6"}
    assert (active.flavor["id"], active.volume["size"]) == ("2", 2)
    assert restored.id in [i.id for i in trove_client.instances.list()]

    trove_client.instances.delete(restored.id)

    with pytest.raises(exceptions.NotFound):
        trove_client.instances.get(restored.id)
    assert [i.id for i in trove_client.instances.list()] == FIXTURE_INSTANCES
    kept = trove_client.backups.get(backup.id)
    assert (kept.status, kept.instance_id, kept.datastore) == (
        "COMPLETED",
        PERCONA,
        backup.datastore,
    )
    assert backup.id in [b.id for b in trove_client.backups.list()]


def test_restoring_a_backup_that_is_not_completed_is_unprocessable(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    running = trove_client.backups.create("running", MYSQL)
    failed = backups_mock.add_backup(instance_id=MYSQL, status="FAILED")["id"]
    cases = [(running.id, "NEW"), (running.id, "BUILDING"), (failed, "FAILED")]
    refused = []

    for backup_id, _ in cases:
        with pytest.raises(exceptions.UnprocessableEntity) as raised:
            trove_client.instances.create(
                "too-soon", "2", volume={"size": 2}, restorePoint={"backupRef": backup_id}
            )
        refused.append((raised.value.http_status, raised.value.message))
        backups_mock.advance(1)  # the running backup: NEW -> BUILDING

    assert [code for code, _ in refused] == [422, 422, 422]
    assert all(
        f"{backup_id} is {status}" in message
        for (backup_id, status), (_, message) in zip(cases, refused, strict=True)
    ), refused
    assert [i.id for i in trove_client.instances.list()] == FIXTURE_INSTANCES  # none was made


def test_flavor_list_and_get_return_the_eight_flavors_with_their_name_and_ram(
    trove_client: Any, backups_mock: BackupsMock
) -> None:
    listed = trove_client.flavors.list()
    shown = trove_client.flavors.get(1)

    assert [(f.id, f.name, f.ram) for f in listed] == FLAVORS
    assert (shown.id, shown.name, shown.ram) == FLAVORS[0]
    assert {"rel": "self", "href": f"{backups_mock.base_url}/flavors/1"} in shown.links
    assert [r["status"] for r in backups_mock.requests("GET", "/flavors*")] == [200, 200]


# -- regions: copies of backups (contract section 12) -------------------------------------------


def copy_action(client: Any, backup_id: str, region: str, **members: str) -> tuple[Any, Any]:
    """The copy action through troveclient's raw post: it has no manager method for it."""
    member = {"target_backup_region": region, **members}
    return client.client.post(f"/backups/{backup_id}/action", body={"copy-backup": member})


def test_a_copy_made_through_the_raw_post_is_listed_shown_and_restored_in_iad(
    trove_client: Any, iad_client: Any, backups_mock: BackupsMock
) -> None:
    made = trove_client.backups.create("nightly", PERCONA)
    statuses_until(backups_mock, lambda: trove_client.backups.get(made.id), "COMPLETED")

    response, body = copy_action(trove_client, made.id, "IAD", name="nightly-dr")

    assert (response.status_code, body) == (202, None)  # an empty body, as documented
    [copy] = iad_client.backups.list()
    assert (copy.name, copy.status, copy.instance_id) == ("nightly-dr", "NEW", PERCONA)
    assert [b.id for b in trove_client.backups.list()] == [made.id, *FIXTURE_BACKUPS]  # no copy
    copy_statuses = statuses_until(
        backups_mock, lambda: iad_client.backups.get(copy.id), "COMPLETED"
    )
    assert copy_statuses == ["NEW", "BUILDING", "COMPLETED"]
    shown = iad_client.backups.get(copy.id)
    original = trove_client.backups.get(made.id)
    assert (shown.size, shown.datastore) == (original.size, original.datastore)
    assert "iad1.clouddrive.com" in shown.locationRef

    restored = iad_client.instances.create(
        "recovered", "2", volume={"size": 2}, restorePoint={"backupRef": copy.id}
    )

    restore_statuses = statuses_until(
        backups_mock, lambda: iad_client.instances.get(restored.id), "ACTIVE"
    )
    assert restore_statuses == ["BUILD", "ACTIVE"]
    assert iad_client.instances.get(restored.id).datastore == {"type": "percona", "version": "5.6"}
    assert [i.id for i in iad_client.instances.list()] == [restored.id]
    with pytest.raises(exceptions.NotFound):
        trove_client.instances.get(restored.id)  # IAD's instance, not DFW's
    [sent] = backups_mock.region("IAD").requests("POST", "/instances")
    assert sent["body"]["instance"]["restorePoint"] == {"backupRef": copy.id}


@pytest.mark.parametrize(
    ("backup", "target", "error", "message"),
    [
        ("completed", "LON", exceptions.BadRequest, "cannot be copied from or to LON"),
        ("completed", "DFW", exceptions.BadRequest, "is in DFW already"),
        ("missing", "IAD", exceptions.NotFound, f"Resource {MISSING} cannot be found."),
        ("running", "IAD", exceptions.UnprocessableEntity, "only a COMPLETED backup can be"),
    ],
    ids=["to LON", "to its own region", "unknown backup", "running backup"],
)
def test_a_refused_copy_raises_troveclients_exception_with_the_mocks_message(
    trove_client: Any,
    iad_client: Any,
    backup: str,
    target: str,
    error: type[Exception],
    message: str,
) -> None:
    if backup == "running":
        backup_id = trove_client.backups.create("running", MYSQL).id
    else:
        backup_id = {"completed": PERCONA_BACKUP, "missing": MISSING}[backup]

    with pytest.raises(error) as raised:
        copy_action(trove_client, backup_id, target)

    assert message in raised.value.message
    assert iad_client.backups.list() == []  # no copy was made
