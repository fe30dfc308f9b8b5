"""The state document: what GET/PUT /__mock/state, the fixtures and the state file hold.

A document is checked here for what its schema cannot say (unique ids, parents that exist, a
lifecycle for each running backup); a wrong one raises BadRequest and builds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.state.backup_document import (
    Shared,
    dump_backup,
    invalid_document,
    load_backup,
)
from mockserver.state.clock import parse_timestamp, timestamp
from mockserver.state.errors import BadRequest
from mockserver.state.models import (
    Account,
    Backup,
    DatastoreVersion,
    Flavor,
    HaInstance,
    Instance,
    Schedule,
    State,
    id_of,
)


def dump_state(state: State) -> dict[str, Any]:
    return {
        "datastores": [
            _dump_datastore(name, state.versions.get(name)) for name in state.datastores
        ],
        "flavors": [
            {"id": flavor.id, "name": flavor.name, "ram": flavor.ram}
            for flavor in state.flavors.values()
        ],
        "accounts": {account.id: _dump_account(account) for account in state.accounts.values()},
    }


def _dump_datastore(name: str, versions: list[DatastoreVersion] | None) -> Any:
    if not versions:
        return name
    return {
        "type": name,
        "versions": [
            {"name": v.name} | ({"id": v.id} if v.id is not None else {}) for v in versions
        ],
    }


def _dump_account(account: Account) -> dict[str, Any]:
    running = {backup.schedule_id for backup in account.running.values()}
    return {
        "instances": [_dump_instance(i) for i in account.instances.values()],
        "ha_instances": [_dump_ha(ha) for ha in account.ha_instances.values()],
        "backups": [
            dump_backup(account.backups[id_of(key)]) for key in account.index.newest_first()
        ],
        "schedules": [
            schedule_document(schedule, schedule.id in running)
            for schedule in (
                account.schedules[id_of(key)] for key in account.schedule_index.newest_first()
            )
        ],
    }


def load_state(document: dict[str, Any], default_flavors: Sequence[Any] = ()) -> State:
    """Build a State from its document, checking what a schema cannot (BadRequest if wrong).

    A document without `flavors` (one saved before instances could be created) takes
    `default_flavors`: the fixture state's, which are the WADL's.
    """
    with invalid_document():
        accounts = {
            account_id: _load_account(account_id, body)
            for account_id, body in document.get("accounts", {}).items()
        }
        datastores: list[str] = []
        versions: dict[str, list[DatastoreVersion]] = {}
        for raw in document.get("datastores", []):
            name = raw if isinstance(raw, str) else raw["type"]
            _unique(versions, name, "datastore")
            datastores.append(str(name))
            versions[name] = [] if isinstance(raw, str) else _load_versions(raw["versions"])
        flavors: dict[int, Flavor] = {}
        for raw in document.get("flavors", default_flavors):
            flavor = Flavor(id=int(raw["id"]), name=str(raw["name"]), ram=int(raw["ram"]))
            _unique(flavors, flavor.id, "flavor")
            flavors[flavor.id] = flavor
    return State(datastores, accounts, versions, flavors)


def load_regions(
    document: dict[str, Any],
    own: str,
    codes: Sequence[str],
    default_flavors: Sequence[Any] = (),
) -> dict[str, State]:
    """The State of each region (contract section 12), sharing the datastores and flavors.

    `accounts` at the top are the accounts of `region` (the mock's own region when absent: a
    document of a mock of one region loads as before); `regions` holds the other regions'.
    """
    main = load_state(document, default_flavors)
    with invalid_document():
        region = document.get("region", own)
        others = document.get("regions") or {}
        unknown = [code for code in [region, *others] if code not in codes]
        if unknown:
            raise BadRequest(
                f"Invalid state document: {', '.join(map(str, unknown))} is not a region"
                f" ({', '.join(codes)})."
            )
        if region in others:
            raise BadRequest(
                f"Invalid state document: the accounts of {region} are given twice, at the top"
                f" ('region': {region}) and under 'regions'."
            )
        states = {}
        for code in codes:
            if code == region:
                states[code] = main
                continue
            body = others.get(code) or {}
            accounts = {
                account_id: _load_account(account_id, raw)
                for account_id, raw in body.get("accounts", {}).items()
            }
            states[code] = State(main.datastores, accounts, main.versions, main.flavors)
    return states


def _load_versions(raw: list[dict[str, Any]]) -> list[DatastoreVersion]:
    return [DatastoreVersion(name=str(v["name"]), id=v.get("id")) for v in raw]


def _load_account(account_id: str, body: dict[str, Any]) -> Account:
    account = Account(account_id)
    for raw in body.get("instances", []):
        instance = Instance(
            id=raw["id"],
            name=raw["name"],
            status=raw["status"],
            datastore=dict(raw["datastore"]),
            flavor=dict(raw["flavor"]),
            volume_size=int(raw["volume"]["size"]),
            hostname=raw.get("hostname"),
            ha_id=raw.get("ha_id"),
            created=_optional_time(raw.get("created")),
            updated=_optional_time(raw.get("updated")),
            ready_at=None if raw.get("ready_at") is None else float(raw["ready_at"]),
        )
        # An instance in BUILD without ready_at stays in BUILD, as a SHUTDOWN one stays.
        if instance.ready_at is not None and instance.status != "BUILD":
            raise BadRequest(
                f"Invalid state document: instance {instance.id} is {instance.status} with a"
                " ready_at (only an instance in BUILD becomes ACTIVE at a time)."
            )
        _unique(account.instances, instance.id, "instance")
        account.add_instance(instance)
    for raw in body.get("ha_instances", []):
        ha = HaInstance(
            id=raw["id"],
            name=raw["name"],
            state=raw["state"],
            datastore=dict(raw["datastore"]),
            flavor=dict(raw["flavor"]),
            volume_size=int(raw["volume"]["size"]),
            source_id=raw["source_id"],
            replica_ids=list(raw["replica_ids"]),
            networks=list(raw.get("networks", [])),
        )
        _unique(account.ha_instances, ha.id, "HA instance")
        account.ha_instances[ha.id] = ha
    shared = Shared()
    backups = [
        raw if isinstance(raw, Backup) else load_backup(raw, shared)  # see backup_reader
        for raw in body.get("backups", [])
    ]
    # Oldest first, so that each index only appends (a document lists the newest first).
    for backup in sorted(backups, key=lambda b: b.key):
        _unique(account.backups, backup.id, "backup")
        account.add(backup)
    for backup in account.backups.values():
        if backup.parent_id is not None and backup.parent_id not in account.backups:
            raise BadRequest(
                f"Invalid state document: backup {backup.id} of account {account_id} names"
                f" parent {backup.parent_id}, which the account does not have."
            )
    for raw in body.get("schedules", []):
        schedule = _load_schedule(raw)
        _unique(account.schedules, schedule.id, "schedule")
        target = schedule.source["id"]
        targets = (
            account.instances if schedule.source["type"] == "instance" else account.ha_instances
        )
        if target not in targets:
            raise BadRequest(
                f"Invalid state document: schedule {schedule.id} of account {account_id} backs"
                f" up {target}, which the account does not have."
            )
        if target in account.schedule_of:
            raise BadRequest(
                f"Invalid state document: {target} has two schedules (one per target)."
            )
        account.add_schedule(schedule)
    return account


def schedule_document(schedule: Schedule, running: bool | None = None) -> dict[str, Any]:
    """The Schedule representation of the API (and of the state document); `running` in place
    of the schedule's own (which only a view of the store carries)."""
    last = schedule.last_scheduled
    return {
        "id": schedule.id,
        "action": schedule.action,
        "instance_id": schedule.source["id"] if schedule.source["type"] == "instance" else None,
        "source": dict(schedule.source),
        "day_of_week": schedule.day_of_week,
        "hour": schedule.hour,
        "minute": schedule.minute,
        "day_of_month": None,
        "month": None,
        "full_backup_retention": schedule.full_backup_retention,
        "copy_to": list(schedule.copy_to),
        "running": schedule.running if running is None else running,
        "last_scheduled": None if last is None else timestamp(last),
        "next_run": timestamp(schedule.next_run),
        "created": timestamp(schedule.created),
        "updated": timestamp(schedule.updated),
    }


def _load_schedule(raw: dict[str, Any]) -> Schedule:
    """A schedule of a state document (a state file is not checked by a schema: this checks)."""
    last = raw.get("last_scheduled")
    bounds = {"day_of_week": 7, "hour": 23, "minute": 59}
    for name, highest in bounds.items():
        if not 0 <= int(raw[name]) <= highest:
            raise ValueError(f"schedule {raw['id']}: {name} must be 0 to {highest}")
    if raw["source"]["type"] not in ("instance", "ha"):
        raise ValueError(f"schedule {raw['id']}: source type must be 'instance' or 'ha'")
    if int(raw.get("full_backup_retention", 2)) < 1:
        raise ValueError(f"schedule {raw['id']}: full_backup_retention must be at least 1")
    return Schedule(
        id=raw["id"],
        action=raw.get("action", "backup"),
        source={"type": raw["source"]["type"], "id": raw["source"]["id"]},
        day_of_week=int(raw["day_of_week"]),
        hour=int(raw["hour"]),
        minute=int(raw["minute"]),
        full_backup_retention=int(raw.get("full_backup_retention", 2)),
        copy_to=[str(region) for region in raw.get("copy_to", [])],
        created=parse_timestamp(raw["created"]),
        updated=parse_timestamp(raw["updated"]),
        next_run=parse_timestamp(raw["next_run"]),
        last_scheduled=None if last is None else parse_timestamp(last),
    )


def _unique(existing: Mapping[Any, Any], item_id: object, kind: str) -> None:
    if item_id in existing:
        raise BadRequest(f"Invalid state document: {kind} {item_id} appears twice.")


def _dump_instance(instance: Instance) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": instance.id,
        "name": instance.name,
        "status": instance.status,
        "datastore": dict(instance.datastore),
        "flavor": dict(instance.flavor),
        "volume": {"size": instance.volume_size},
    }
    if instance.hostname is not None:
        document["hostname"] = instance.hostname
    if instance.ha_id is not None:
        document["ha_id"] = instance.ha_id
    if instance.created is not None:
        document["created"] = timestamp(instance.created)
    if instance.updated is not None:
        document["updated"] = timestamp(instance.updated)
    if instance.ready_at is not None:
        document["ready_at"] = instance.ready_at
    return document


def _optional_time(value: str | None) -> int | None:
    return None if value is None else parse_timestamp(value)


def _dump_ha(ha: HaInstance) -> dict[str, Any]:
    return {
        "id": ha.id,
        "name": ha.name,
        "state": ha.state,
        "datastore": dict(ha.datastore),
        "flavor": dict(ha.flavor),
        "volume": {"size": ha.volume_size},
        "source_id": ha.source_id,
        "replica_ids": list(ha.replica_ids),
        "networks": list(ha.networks),
    }
