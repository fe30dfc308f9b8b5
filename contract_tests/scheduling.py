"""Schedules as the checks reach them: the requests, what a schedule of a source must say, the
backups its runs made, and whether the run may schedule a source at all (a supported datastore,
a region that offers schedules, no schedule the run must leave alone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from contract_tests.exchange import Exchange
from contract_tests.pages import walk
from contract_tests.regions import named_by

if TYPE_CHECKING:
    from contract_tests.api import Api
    from contract_tests.source import Source

FULL, INCREMENTAL = "InnoBackupEx", "InnoBackupExIncremental"
DEFAULT_RETENTION = 2
# The datastores a schedule can back up: MySQL 5.6, Percona 5.6, MariaDB 10.x.
SUPPORTED = {"mysql": ("5.6",), "percona": ("5.6",), "mariadb": ("10",)}
NO_SCHEDULES = ("SYD", "HKG")  # regions where scheduled backups are not offered


def path(api: Api, schedule_id: str | None = None) -> str:
    return api.path("/schedules" + (f"/{schedule_id}" if schedule_id is not None else ""))


def create(api: Api, source: Source, **members: Any) -> Exchange:
    """Schedule backups of `source`; `members` are the rest of the request's schedule."""
    schedule: dict[str, Any] = {"action": "backup", **members}
    if source.kind == "instance":
        schedule["instance_id"] = source.id
    else:
        schedule.update(source_id=source.id, source_type="ha")
    return api.call("POST", path(api), body={"schedule": schedule})


def show(api: Api, schedule_id: str) -> Exchange:
    return api.call("GET", path(api, schedule_id))


def update(api: Api, schedule_id: str, **members: Any) -> Exchange:
    return api.call("PUT", path(api, schedule_id), body={"schedule": members})


def listed(api: Api) -> tuple[list[dict[str, Any]], list[Exchange]]:
    return walk(api, path(api), member="schedules")


def is_automated(backup: Mapping[str, Any]) -> bool:
    """`is_automated` 1 (the spec also allows true)."""
    value = backup.get("is_automated")
    return value is True or (type(value) is int and value == 1)


def target_of(schedule: Mapping[str, Any]) -> Any:
    """The id of what a schedule backs up (`source.id`)."""
    source = schedule.get("source")
    return source.get("id") if isinstance(source, dict) else None


def made_by(backup: Mapping[str, Any], schedule_id: str) -> bool:
    """Whether the backup names the schedule (`Made by schedule <id>.`)."""
    return schedule_id in f"{backup.get('name', '')} {backup.get('description', '')}"


def new_backups(
    api: Api, source: Source, before: Iterable[str], schedule_id: str
) -> tuple[list[dict[str, Any]], list[Exchange]]:
    """The backups of `source` not among `before`; those the schedule made (or that say they
    are automated) are the run's, for cleanup, from this moment on."""
    items, exchanges = walk(api, source.list_path(api))
    known = set(before)
    made = [item for item in items if item.get("id") not in known]
    for backup in made:
        if isinstance(backup.get("id"), str) and (
            made_by(backup, schedule_id) or is_automated(backup)
        ):
            api.inventory.remember(backup["id"])
    return made, exchanges


def backup_ids(api: Api, source: Source) -> set[str]:
    items, _ = walk(api, source.list_path(api))
    return {str(item.get("id")) for item in items}


def unschedulable(api: Api, source: Source) -> str | None:
    """Why the run cannot schedule `source` (None: it can): its region offers no schedules, its
    datastore is not one a schedule backs up, or it has a schedule the run must leave alone."""
    region = region_of(api)
    if region in NO_SCHEDULES:
        return f"scheduled backups are not offered in {region}, the target's region"
    datastore = datastore_of(api, source)
    if not supported(datastore):
        return (
            f"{source} is {datastore.get('type')} {datastore.get('version')}: a schedule needs"
            " MySQL 5.6, Percona 5.6 or MariaDB 10.x (give an instance of one)"
        )
    existing = schedule_of(api, source)
    if existing is not None and not api.inventory.owns_schedule(str(existing.get("id"))):
        return (
            f"{source} has a schedule the run did not create ({existing.get('id')}), which it"
            " leaves alone: one schedule per target"
        )
    return None


def schedule_of(api: Api, source: Source) -> dict[str, Any] | None:
    """The schedule of `source`, when the account lists one."""
    items, _ = listed(api)
    return next((item for item in items if target_of(item) == source.id), None)


def datastore_of(api: Api, source: Source) -> dict[str, Any]:
    if source.kind == "instance":
        found = api.call("GET", api.path(f"/instances/{source.id}")).document("instance")
    else:
        found = api.call("GET", api.path(f"/ha/{source.id}")).document("ha_instance")
    datastore = found.get("datastore")
    return datastore if isinstance(datastore, dict) else {}


def supported(datastore: Mapping[str, Any]) -> bool:
    versions = SUPPORTED.get(str(datastore.get("type", "")).lower(), ())
    version = str(datastore.get("version", ""))
    return any(version == v or version.startswith(f"{v}.") for v in versions)


def region_of(api: Api) -> str | None:
    """The target's region: as the run found it (a mock says), or as its URL names it
    (`syd.databases.api...`, a mock's `/syd/v1.0/...`); None when it is not known."""
    return api.target.region or named_by(api.target.root, api.contract.spec.regions)


def expected_members(source: Source, asked: Mapping[str, Any]) -> dict[str, Any]:
    """The members of a new schedule of `source` created with `asked`."""
    return {
        "action": "backup",
        "day_of_week": asked["day_of_week"],
        "hour": asked["hour"],
        "minute": asked["minute"],
        "instance_id": source.id if source.kind == "instance" else None,
        "source": {"type": source.kind, "id": source.id},
        "full_backup_retention": asked.get("full_backup_retention", DEFAULT_RETENTION),
        "copy_to": list(asked.get("copy_to", [])),
        "running": False,
        "last_scheduled": None,
        "day_of_month": None,
        "month": None,
    }


def differences(document: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """Each member of `expected` the document does not hold as it is (true is not 1 here)."""
    return [
        f"{name} is {document.get(name)!r}, not {value!r}"
        for name, value in expected.items()
        if type(document.get(name)) is not type(value) or document.get(name) != value
    ]
