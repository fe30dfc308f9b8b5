"""python-troveclient 8.x, as it is, works against the mock: a keystoneauth1 session with a
static token and the mock's base URL, no Keystone (see ../shared/notes/stack-facts.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from troveclient import exceptions
from troveclient.v1 import client as trove

from mockserver.pytest_plugin import BackupsMock, MockFactory

MYSQL = "d4603f69-ec7e-4e9b-803f-600b9205576f"
PERCONA = "f4aaba46-fb5f-4316-988d-88da77759968"
SHUTDOWN = "7545e164-c45d-4ca7-bb6c-e2c677d2c864"
HA = "130922a2-b9ab-4e95-86be-9c5d79171b5e"
PERCONA_BACKUP = "d9f56b04-e17d-41f0-ae92-30a3b47b8d29"
FIXTURE_BACKUPS = [
    PERCONA_BACKUP,
    "0c1b5616-fdc5-45ae-b2dc-6f1440d55d0e",
    "a9832168-7541-4536-b8d9-a8a9b79cf1b4",
]


def client_for(mock: BackupsMock, token: str | None = None) -> Any:
    auth = token_endpoint.Token(mock.base_url, token or mock.token)
    return trove.Client(session=ks_session.Session(auth=auth))


@pytest.fixture(autouse=True)
def completion_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """troveclient writes the id of each resource it creates to a completion cache, by default
    under ~/.troveclient: keep it in the test's own directory."""
    monkeypatch.setenv("TROVECLIENT_UUID_CACHE_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def trove_client(backups_mock: BackupsMock) -> Any:
    return client_for(backups_mock)


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


# -- each error class ---------------------------------------------------------------------------


def test_an_invalid_name_is_bad_request(trove_client: Any) -> None:
    with pytest.raises(exceptions.BadRequest) as raised:
        trove_client.backups.create("", MYSQL)
    assert raised.value.http_status == 400 and "name" in raised.value.message


def test_an_unknown_token_is_unauthorized(backups_mock_factory: MockFactory) -> None:
    secured = backups_mock_factory(tokens={"good": ["1234"]})

    assert [b.id for b in client_for(secured).backups.list()] == FIXTURE_BACKUPS
    with pytest.raises(exceptions.Unauthorized) as raised:
        client_for(secured, token="stolen").backups.list()
    assert raised.value.http_status == 401


def test_an_unknown_backup_is_not_found(trove_client: Any) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(exceptions.NotFound) as raised:
        trove_client.backups.get(missing)
    assert raised.value.message == f"Resource {missing} cannot be found."


def test_the_rate_limit_is_request_entity_too_large_with_retry_after(
    backups_mock_factory: MockFactory,
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
    backups_mock_factory: MockFactory,
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
