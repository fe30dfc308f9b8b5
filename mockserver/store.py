"""The mock's state and every rule of the backups contract, in plain Python (no HTTP).

Backups move NEW -> BUILDING -> COMPLETED (or FAILED) on the mock's clock. Transitions are
applied lazily, whenever an account is read or changed, so no background task is needed and a
clock moved by the control API takes effect at once. Lists are kept sorted, so a page costs
O(log n + page size) however many backups an account holds.
"""

from __future__ import annotations

import threading
import uuid
from bisect import bisect_left, insort
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from mockserver.clock import Clock, parse_timestamp, timestamp
from mockserver.errors import BadRequest, NotFound, OverLimit, Unprocessable, not_found

T = TypeVar("T")
PAGE_SIZE = 20
RUNNING = ("NEW", "BUILDING")
BackupFate = Literal["normal", "fail_next", "fail_all"]
LOCATION = (
    "https://snet-storage101.dfw1.clouddrive.com/v1/MossoCloudFS_{account}"
    "/z_CLOUDDB_BACKUPS/{id}.xbstream.gz"
)


@dataclass(slots=True)
class Instance:
    id: str
    name: str
    status: str  # the resting status; BACKUP is derived while a backup of it runs
    datastore: dict[str, str]
    flavor: dict[str, Any]  # {"id": str | int, "ram": MB}
    volume_size: int
    hostname: str | None = None
    ha_id: str | None = None


@dataclass(slots=True)
class HaInstance:
    id: str
    name: str
    state: str  # the resting state; BACKUP is derived while a backup of it runs
    datastore: dict[str, str]
    flavor: dict[str, Any]
    volume_size: int
    source_id: str
    replica_ids: list[str]
    networks: list[dict[str, Any]]


@dataclass(slots=True)
class Lifecycle:
    """When a running backup changes status, and how it ends."""

    building_at: float
    ends_at: float
    ends: Literal["COMPLETED", "FAILED"]
    busy: tuple[str, ...]  # the instances / HA instance in BACKUP while it runs


@dataclass(slots=True)
class Backup:
    id: str
    name: str
    description: str | None
    status: str
    created: int  # epoch seconds (the API shows second precision)
    updated: int
    instance_id: str | None
    source: dict[str, str]
    parent_id: str | None
    location_ref: str | None
    size: float | None
    type: str
    is_automated: bool
    flavor_ram: int
    volume_size: int
    datastore: dict[str, str]
    lifecycle: Lifecycle | None = None

    @property
    def key(self) -> tuple[int, str]:
        return (self.created, self.id)


@dataclass
class BackupRequest:
    """A create request that passed the schema: the fields the store needs."""

    name: str
    description: str | None = None
    instance: str | None = None
    source: dict[str, str] | None = None
    parent_id: str | None = None
    incremental: bool = False


@dataclass
class Page:
    items: list[Any]
    more: bool  # another page follows


class SortedIndex:
    """Backup keys (created, id) in ascending order; pages are read newest first."""

    def __init__(self) -> None:
        self._keys: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: tuple[int, str]) -> None:
        if not self._keys or key > self._keys[-1]:
            self._keys.append(key)  # the usual case: a new backup, or a state loaded in order
        else:
            insort(self._keys, key)

    def remove(self, key: tuple[int, str]) -> None:
        position = bisect_left(self._keys, key)
        if position < len(self._keys) and self._keys[position] == key:
            del self._keys[position]

    def newest_first(self) -> Iterator[tuple[int, str]]:
        return reversed(self._keys)

    def page(self, after: tuple[int, str] | None, limit: int) -> tuple[list[tuple[int, str]], bool]:
        end = len(self._keys) if after is None else bisect_left(self._keys, after)
        start = max(0, end - limit)
        return list(reversed(self._keys[start:end])), start > 0


@dataclass
class Account:
    id: str
    instances: dict[str, Instance] = field(default_factory=dict)
    ha_instances: dict[str, HaInstance] = field(default_factory=dict)
    backups: dict[str, Backup] = field(default_factory=dict)
    index: SortedIndex = field(default_factory=SortedIndex)
    by_source: dict[str, SortedIndex] = field(default_factory=dict)
    by_datastore: dict[str, SortedIndex] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=dict)
    running: dict[str, Backup] = field(default_factory=dict)
    busy: dict[str, str] = field(default_factory=dict)  # instance or HA id -> running backup id

    def add(self, backup: Backup) -> None:
        self.backups[backup.id] = backup
        key = backup.key  # one tuple in the three indexes
        self.index.add(key)
        self.by_source.setdefault(backup.source["id"], SortedIndex()).add(key)
        datastore = backup.datastore.get("type", "")
        self.by_datastore.setdefault(datastore, SortedIndex()).add(key)
        if backup.parent_id:
            self.children.setdefault(backup.parent_id, set()).add(backup.id)
        if backup.lifecycle is not None:
            self.running[backup.id] = backup
            for target in backup.lifecycle.busy:
                self.busy[target] = backup.id

    def remove(self, backup: Backup) -> None:
        del self.backups[backup.id]
        self.index.remove(backup.key)
        self.by_source[backup.source["id"]].remove(backup.key)
        self.by_datastore[backup.datastore.get("type", "")].remove(backup.key)
        if backup.parent_id and backup.parent_id in self.children:
            self.children[backup.parent_id].discard(backup.id)
        self.children.pop(backup.id, None)

    def descendants(self, backup_id: str) -> list[Backup]:
        """The backup and every incremental backup made from it, recursively."""
        found, pending = [], [backup_id]
        while pending:
            current = pending.pop()
            found.append(self.backups[current])
            pending.extend(self.children.get(current, ()))
        return found


@dataclass
class State:
    datastores: list[str]
    accounts: dict[str, Account]


class Store:
    """Every account's instances, HA instances and backups, and the rules that change them.

    Each public method holds the store's lock for its whole run, so concurrent requests (from
    the event loop or from threads) each see and leave a consistent state.
    """

    def __init__(
        self,
        state: dict[str, Any],
        clock: Clock,
        quota: int = 50,
        new_seconds: float = 1.0,
        building_seconds: float = 4.0,
    ) -> None:
        self.clock = clock
        self.quota = quota
        self.new_seconds = new_seconds
        self.building_seconds = building_seconds
        self.backup_fate: BackupFate = "normal"
        self.revision = 0  # moves on every change, so a saver knows when to write
        self._lock = threading.RLock()
        self._state = load_state(state)

    # -- the whole state ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            for account in self._state.accounts.values():
                self._settle(account)
            return dump_state(self._state)

    def replace(self, document: dict[str, Any]) -> None:
        """Replace the whole state; an invalid document raises BadRequest and changes nothing."""
        state = load_state(document)
        with self._lock:
            self._state = state
            self.revision += 1

    # -- backups -----------------------------------------------------------------------------

    def create_backup(self, account_id: str, request: BackupRequest) -> Backup:
        kind, target_id = _target(request)
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            if len(account.backups) >= self.quota:
                raise OverLimit("Quota exceeded for resources: ['backups'].")
            if kind == "instance":
                instance = account.instances.get(target_id)
                if instance is None:
                    raise not_found(target_id)
                self._check_instance_ready(account, instance)
                busy: tuple[str, ...] = (instance.id,)
                datastore, flavor, volume = (
                    instance.datastore,
                    instance.flavor,
                    instance.volume_size,
                )
            else:
                ha = account.ha_instances.get(target_id)
                if ha is None:
                    raise not_found(target_id)
                if ha.state != "ACTIVE" or ha.id in account.busy:
                    state = "BACKUP" if ha.id in account.busy else ha.state
                    raise Unprocessable(
                        f"HA instance {ha.id} is not ACTIVE (state {state}): a backup can only"
                        " be taken of an ACTIVE HA instance, one at a time."
                    )
                # The backup is taken of the replica closest to the source: the first one.
                busy = (ha.id, *ha.replica_ids[:1])
                datastore, flavor, volume = ha.datastore, ha.flavor, ha.volume_size
            parent_id = request.parent_id
            if parent_id is not None and parent_id not in account.backups:
                raise not_found(parent_id)
            if parent_id is None and request.incremental:
                parent_id = self._newest_completed(account, target_id)
            now = self.clock.now()
            created = int(now)
            building_at = now + self.new_seconds
            ends: Literal["COMPLETED", "FAILED"] = (
                "FAILED" if self.backup_fate != "normal" else "COMPLETED"
            )
            if self.backup_fate == "fail_next":
                self.backup_fate = "normal"
            backup = Backup(
                id=str(uuid.uuid4()),
                name=request.name,
                description=request.description,
                status="NEW",
                created=created,
                updated=created,
                instance_id=target_id if kind == "instance" else None,
                source={"type": kind, "id": target_id},
                parent_id=parent_id,
                location_ref=None,
                size=None,
                type="InnoBackupExIncremental" if parent_id else "InnoBackupEx",
                is_automated=False,
                flavor_ram=int(flavor.get("ram", 0)),
                volume_size=volume,
                datastore=dict(datastore),
                lifecycle=Lifecycle(building_at, building_at + self.building_seconds, ends, busy),
            )
            self._state.accounts.setdefault(account_id, account)
            account.add(backup)
            self.revision += 1
            # The answer shows the backup as created, NEW (contract section 2), even with
            # durations of 0: the next request to the account sees it move on.
            return _copy(backup)

    def get_backup(self, account_id: str, backup_id: str) -> Backup:
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            backup = account.backups.get(backup_id)
            if backup is None:
                raise not_found(backup_id)
            return _copy(backup)

    def list_backups(
        self,
        account_id: str,
        limit: int | None = None,
        marker: str | None = None,
        datastore: str | None = None,
        instance_id: str | None = None,
        ha_id: str | None = None,
    ) -> Page:
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            index = account.index
            if instance_id is not None:
                if instance_id not in account.instances:
                    raise not_found(instance_id)
                index = account.by_source.get(instance_id, SortedIndex())
            elif ha_id is not None:
                if ha_id not in account.ha_instances:
                    raise not_found(ha_id)
                index = account.by_source.get(ha_id, SortedIndex())
            elif datastore is not None:
                if datastore not in self._state.datastores:
                    raise NotFound(f"Datastore '{datastore}' cannot be found.")
                index = account.by_datastore.get(datastore, SortedIndex())
            after = None
            if marker is not None:
                if marker not in account.backups:
                    raise BadRequest(f"Invalid marker: {marker} is not a backup of this account.")
                after = account.backups[marker].key
            keys, more = index.page(after, _page_size(limit))
            return Page([_copy(account.backups[key[1]]) for key in keys], more)

    def delete_backup(self, account_id: str, backup_id: str) -> list[str]:
        """Delete a backup and its incremental descendants; all or nothing. Returns their ids."""
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            if backup_id not in account.backups:
                raise not_found(backup_id)
            doomed = account.descendants(backup_id)
            running = [backup.id for backup in doomed if backup.status in RUNNING]
            if running:
                raise Unprocessable(
                    f"Backup {backup_id} cannot be deleted: backup {running[0]} of its chain is"
                    " still running (NEW or BUILDING); nothing was deleted."
                )
            for backup in doomed:
                account.remove(backup)
            self.revision += 1
            return [backup.id for backup in doomed]

    # -- instances and HA instances (read-only) -----------------------------------------------

    def list_instances(self, account_id: str, limit: int | None, marker: str | None) -> Page:
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            ids = sorted(account.instances)
            start = 0
            if marker is not None:
                if marker not in account.instances:
                    raise BadRequest(
                        f"Invalid marker: {marker} is not an instance of this account."
                    )
                start = ids.index(marker) + 1
            size = _page_size(limit)
            chosen = ids[start : start + size]
            instances = [self._instance_view(account, account.instances[i]) for i in chosen]
            return Page(instances, start + size < len(ids))

    def get_instance(self, account_id: str, instance_id: str) -> Instance:
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            instance = account.instances.get(instance_id)
            if instance is None:
                raise not_found(instance_id)
            return self._instance_view(account, instance)

    def list_ha_instances(self, account_id: str) -> list[HaInstance]:
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            return [self._ha_view(account, ha) for ha in account.ha_instances.values()]

    def get_ha_instance(self, account_id: str, ha_id: str) -> tuple[HaInstance, list[Instance]]:
        """The HA instance and its members (the source first), with their current status."""
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            ha = account.ha_instances.get(ha_id)
            if ha is None:
                raise not_found(ha_id)
            members = [
                self._instance_view(account, account.instances[member])
                for member in (ha.source_id, *ha.replica_ids)
                if member in account.instances
            ]
            return self._ha_view(account, ha), members

    # -- rules -------------------------------------------------------------------------------

    def _account(self, account_id: str) -> Account:
        # Accounts need no creation: an account never seen is simply empty. It joins the state
        # only when a backup is added to it, so reads and refused requests change nothing.
        return self._state.accounts.get(account_id) or Account(account_id)

    def _check_instance_ready(self, account: Account, instance: Instance) -> None:
        if instance.ha_id is not None:
            raise Unprocessable(
                f"Instance {instance.id} is a member of HA instance {instance.ha_id}: back up"
                " the HA instance instead (source type 'ha')."
            )
        if instance.status != "ACTIVE" or instance.id in account.busy:
            status = "BACKUP" if instance.id in account.busy else instance.status
            raise Unprocessable(
                f"Instance {instance.id} is not ACTIVE (status {status}): a backup can only be"
                " taken of an ACTIVE instance, one at a time."
            )

    def _newest_completed(self, account: Account, source_id: str) -> str | None:
        for _, backup_id in account.by_source.get(source_id, SortedIndex()).newest_first():
            if account.backups[backup_id].status == "COMPLETED":
                return backup_id
        return None

    def _settle(self, account: Account) -> None:
        """Apply every transition the clock has passed since the account was last touched."""
        if not account.running:
            return
        now = self.clock.now()
        self.revision += 1
        for backup in list(account.running.values()):
            life = backup.lifecycle
            assert life is not None
            if now >= life.ends_at:
                backup.status = life.ends
                backup.updated = max(backup.created, int(life.ends_at))
                if life.ends == "COMPLETED":
                    backup.size = _size_of(backup.id)
                    backup.location_ref = LOCATION.format(
                        account=quote(account.id, safe=""), id=backup.id
                    )
                backup.lifecycle = None
                del account.running[backup.id]
                for target in life.busy:
                    if account.busy.get(target) == backup.id:
                        del account.busy[target]
            elif now >= life.building_at and backup.status == "NEW":
                backup.status = "BUILDING"
                backup.updated = max(backup.created, int(life.building_at))

    @staticmethod
    def _instance_view(account: Account, instance: Instance) -> Instance:
        view = _copy(instance)
        if instance.id in account.busy:
            view.status = "BACKUP"
        return view

    @staticmethod
    def _ha_view(account: Account, ha: HaInstance) -> HaInstance:
        view = _copy(ha)
        if ha.id in account.busy:
            view.state = "BACKUP"
        return view


def _target(request: BackupRequest) -> tuple[Literal["instance", "ha"], str]:
    """What is backed up: the instance, or the HA instance of `source` (400 otherwise)."""
    source = request.source
    if request.instance:
        if source is not None and (
            source["type"] != "instance" or source["id"] != request.instance
        ):
            raise BadRequest(
                "'instance' and 'source' disagree: with 'instance' set, 'source' must be absent"
                " or {'type': 'instance', 'id': <the same id>}."
            )
        return "instance", request.instance
    if source is not None and source["type"] == "ha":
        return "ha", source["id"]
    raise BadRequest(
        "Nothing to back up: give 'instance' (an instance id), or an empty 'instance' with"
        " 'source': {'type': 'ha', 'id': <HA instance id>}."
    )


def _page_size(limit: int | None) -> int:
    if limit is None:
        return PAGE_SIZE
    if limit < 1:
        raise BadRequest(f"Invalid limit {limit}: it must be a positive integer.")
    return min(limit, PAGE_SIZE)


def _size_of(backup_id: str) -> float:
    """A plausible, repeatable size in GB."""
    return round(0.1 + int(backup_id[:8], 16) % 400 / 1000, 2)


def _copy(item: T) -> T:
    """A shallow copy, so callers never hold the store's own objects."""
    # The dataclasses' own __init__ with their slots in field order: a third of copy.copy's
    # cost, which a list page paid 20 times.
    kind: Any = type(item)
    return kind(*[getattr(item, name) for name in kind.__slots__])  # type: ignore[no-any-return]


# -- the state document (GET/PUT /__mock/state, the fixtures, the state file) -----------------


def dump_state(state: State) -> dict[str, Any]:
    return {
        "datastores": list(state.datastores),
        "accounts": {
            account.id: {
                "instances": [_dump_instance(i) for i in account.instances.values()],
                "ha_instances": [_dump_ha(ha) for ha in account.ha_instances.values()],
                "backups": [
                    _dump_backup(account.backups[key[1]]) for key in account.index.newest_first()
                ],
            }
            for account in state.accounts.values()
        },
    }


def load_state(document: dict[str, Any]) -> State:
    """Build a State from its document, checking what a schema cannot (BadRequest if wrong)."""
    with _invalid_document():
        accounts = {
            account_id: _load_account(account_id, body)
            for account_id, body in document.get("accounts", {}).items()
        }
        datastores = [str(name) for name in document.get("datastores", [])]
    return State(datastores, accounts)


@contextmanager
def _invalid_document() -> Iterator[None]:
    try:
        yield
    except BadRequest:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise BadRequest(f"Invalid state document: {type(error).__name__}: {error}") from error


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
        )
        _unique(account.instances, instance.id, "instance")
        account.instances[instance.id] = instance
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
    shared = _Shared()
    backups = [
        raw if isinstance(raw, Backup) else _load_backup(raw, shared)  # see backup_reader
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
    return account


def _unique(existing: dict[str, Any], item_id: str, kind: str) -> None:
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
    return document


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


def backup_document(backup: Backup) -> dict[str, Any]:
    """The Backup representation of the API (and of the state document, less `lifecycle`)."""
    document: dict[str, Any] = {
        "id": backup.id,
        "name": backup.name,
        "description": backup.description,
        "status": backup.status,
        "created": timestamp(backup.created),
        "updated": timestamp(backup.updated),
        "instance_id": backup.instance_id,
        "source": dict(backup.source),
        "parent_id": backup.parent_id,
        "locationRef": backup.location_ref,
        "size": backup.size,
        "type": backup.type,
        "is_automated": int(backup.is_automated),
        "flavor_ram": backup.flavor_ram,
        "volume_size": backup.volume_size,
        "datastore": dict(backup.datastore),
    }
    return document


def _dump_backup(backup: Backup) -> dict[str, Any]:
    document = backup_document(backup)
    life = backup.lifecycle
    if life is not None:
        document["lifecycle"] = {
            "building_at": life.building_at,
            "ends_at": life.ends_at,
            "ends": life.ends,
            "busy": list(life.busy),
        }
    return document


class _Shared:
    """One object for each value that repeats across the backups of a state document.

    A document of 100,000 backups repeats the same status, type, instance id, source and
    datastore in every one; a separate copy of each held about half of the memory of a backup.
    The shared mappings are never changed in place (see `Backup`).
    """

    def __init__(self) -> None:
        self._found: dict[Any, Any] = {}

    def value(self, value: T) -> T:
        # Keyed by type too: 1, 1.0 and True are equal keys, and must stay what they are.
        found: T = self._found.setdefault((type(value), value), value)
        return found

    def mapping(self, raw: dict[str, Any]) -> dict[str, Any]:
        try:
            key = (dict, frozenset(raw.items()))
        except TypeError:  # a value that cannot be a key: keep a copy of its own
            return dict(raw)
        found: dict[str, Any] | None = self._found.get(key)
        if found is None:
            found = self._found[key] = dict(raw)
        return found


def backup_reader() -> Callable[[dict[str, Any]], Backup]:
    """Turns each backup of a state document into a Backup, as soon as it is read.

    For a reader of a document's text (`jsontext.loads`): a state of 100,000 backups parsed
    whole held about 200 MB of dicts at once, which the process kept after they were freed.
    `load_state` takes these Backups in place of their documents.
    """
    shared = _Shared()

    def read(raw: dict[str, Any]) -> Backup:
        with _invalid_document():
            return _load_backup(raw, shared)

    return read


def _load_backup(raw: dict[str, Any], shared: _Shared) -> Backup:
    life = raw.get("lifecycle")
    lifecycle = None
    if life is not None:
        if raw["status"] not in RUNNING:
            raise BadRequest(
                f"Invalid state document: backup {raw['id']} has a lifecycle"
                f" but is {raw['status']}."
            )
        lifecycle = Lifecycle(
            building_at=float(life["building_at"]),
            ends_at=float(life["ends_at"]),
            ends=life["ends"],
            busy=tuple(life["busy"]),
        )
    elif raw["status"] in RUNNING:
        raise BadRequest(
            f"Invalid state document: backup {raw['id']} is {raw['status']} without a lifecycle."
        )
    return Backup(
        id=raw["id"],
        name=raw["name"],
        description=shared.value(raw.get("description")),
        status=shared.value(raw["status"]),
        created=parse_timestamp(raw["created"]),
        updated=parse_timestamp(raw["updated"]),
        instance_id=shared.value(raw.get("instance_id")),
        source=shared.mapping(raw["source"]),
        parent_id=raw.get("parent_id"),
        location_ref=raw.get("locationRef"),
        size=shared.value(raw.get("size")),
        type=shared.value(raw["type"]),
        is_automated=bool(raw.get("is_automated", False)),
        flavor_ram=int(raw["flavor_ram"]),
        volume_size=int(raw["volume_size"]),
        datastore=shared.mapping(raw.get("datastore", {})),
        lifecycle=lifecycle,
    )
