"""The mock's data: instances, HA instances, backups, schedules, the sorted indexes of an account.

Plain dataclasses with slots (100,000 backups must fit in a small process); the rules that
change them are the store's (`store.py`), their document form is `document.py`'s.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from sortedcontainers import SortedList  # type: ignore[import-untyped]

RUNNING = ("NEW", "BUILDING")
_CONTAINER = (
    "https://snet-storage101.{region}1.clouddrive.com/v1/MossoCloudFS_{account}/z_CLOUDDB_BACKUPS"
)


# An index's key: the item's created second, shifted to be >= 0 and written in 12 digits, then
# its id. Keys order as the (created, id) pairs they stand for, the contract's order, and compare
# as one string. Pairs compared their seconds, then their ids, through two more objects each; at
# 100,000 backups the inserts of a create (landing anywhere in the keys under a frozen clock)
# were 12% of a served create, and string keys halve their cost, for 4 MB more at 100,000.
_SHIFT = 62135596800  # 0001-01-01T00:00:00Z to the epoch: no timestamp the API shows is earlier
_DIGITS = 12  # seconds to about year 31,700; the clock stops in 9999 (clock.py)


def index_key(created: int, item_id: str) -> str:
    """The key of an item (a backup, a schedule) created at `created` in its account's indexes."""
    return f"{created + _SHIFT:012d}{item_id}"


def id_of(key: str) -> str:
    """The id of the item an index key stands for."""
    return key[_DIGITS:]


def location_of(account_id: str, backup_id: str, region: str = "DFW") -> str:
    """Where a COMPLETED backup is stored: the region's Cloud Files, as the documented examples
    show for DFW (`snet-storage101.dfw1.clouddrive.com`), ending in <id>.xbstream.gz."""
    return f"{_container(region, account_id)}/{backup_id}.xbstream.gz"


@functools.lru_cache(maxsize=1024)  # a pure function of few values: made once each, not per backup
def _container(region: str, account_id: str) -> str:
    return _CONTAINER.format(region=region.lower(), account=quote(account_id, safe=""))


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
    # Instances created through the API (contract section 11): when, and until when BUILD.
    created: int | None = None
    updated: int | None = None
    ready_at: float | None = None  # set while BUILD; ACTIVE from then on


@dataclass(slots=True)
class Flavor:
    id: int
    name: str
    ram: int  # MB


@dataclass(slots=True)
class DatastoreVersion:
    name: str
    id: str | None = None


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
    size: float | None = None  # a copy's size once COMPLETED: its original's (None: its own)


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
    schedule_id: str | None = None  # the schedule whose run made it (is_automated)
    # A copy (contract section 12): the region and id of the backup it was copied from.
    copy_of: tuple[str, str] | None = None

    @property
    def key(self) -> str:
        return index_key(self.created, self.id)


@dataclass(slots=True)
class Schedule:
    """A backup schedule (contract section 10). `running` is derived, set only on a view."""

    id: str
    action: str
    source: dict[str, str]  # {"type": "instance" | "ha", "id": ...}
    day_of_week: int  # 0 Sunday .. 6 Saturday; 7: a full backup every day
    hour: int
    minute: int
    full_backup_retention: int
    copy_to: list[str]
    created: int
    updated: int
    next_run: int
    # The time of the last run that made a backup; None until the first full backup is made.
    last_scheduled: int | None = None
    running: bool = False

    @property
    def key(self) -> str:
        return index_key(self.created, self.id)


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
class CopyRequest:
    """A copy-backup action that passed the schema (contract section 12)."""

    target_region: str
    name: str | None = None
    description: str | None = None


@dataclass
class InstanceRequest:
    """An instance create (or restore) request that passed the schema."""

    name: str
    flavor_ref: str
    volume_size: int
    datastore_type: str | None = None
    datastore_version: str | None = None
    backup_ref: str | None = None  # restorePoint.backupRef: a restore


@dataclass
class ScheduleRequest:
    """A schedule create request that passed the schema."""

    day_of_week: int
    hour: int
    minute: int
    instance_id: str | None = None
    source_id: str | None = None
    source_type: str = "instance"
    full_backup_retention: int = 2
    copy_to: list[str] = field(default_factory=list)


@dataclass
class ScheduleChange:
    """A schedule update that passed the schema: None for what it leaves as it is."""

    day_of_week: int | None = None
    hour: int | None = None
    minute: int | None = None
    full_backup_retention: int | None = None
    copy_to: list[str] | None = None
    run_now: bool | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)


@dataclass
class Page:
    items: list[Any]
    more: bool  # another page follows


class SortedIndex:
    """Keys (`index_key`: created, then id) in ascending order; pages are read newest first.

    A SortedList (sortedcontainers) rather than a list kept with insort: backups created within
    one second (a frozen clock, a burst) land in the middle of the keys, and inserting there
    moved half of a plain list each time, the largest cost of a create at 30,000 backups.
    """

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._keys = SortedList(keys)  # sorted once, in C, when given

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: str) -> None:
        self._keys.add(key)

    def remove(self, key: str) -> None:
        self._keys.discard(key)

    def newest_first(self) -> Iterator[str]:
        return reversed(self._keys)  # type: ignore[no-any-return]

    def page(self, after: str | None, limit: int) -> tuple[list[str], bool]:
        end = len(self._keys) if after is None else self._keys.bisect_left(after)
        start = max(0, end - limit)
        return list(reversed(self._keys[start:end])), start > 0


@dataclass
class Account:
    id: str
    instances: dict[str, Instance] = field(default_factory=dict)
    ha_instances: dict[str, HaInstance] = field(default_factory=dict)
    backups: dict[str, Backup] = field(default_factory=dict)
    index: SortedIndex = field(default_factory=SortedIndex)
    # Only the sources (instance or HA ids) asked for so far (see of_source).
    by_source: dict[str, SortedIndex] = field(default_factory=dict)
    # None until a list asks for one datastore's backups (see of_datastore).
    by_datastore: dict[str, SortedIndex] | None = None
    children: dict[str, set[str]] = field(default_factory=dict)
    running: dict[str, Backup] = field(default_factory=dict)
    busy: dict[str, str] = field(default_factory=dict)  # instance or HA id -> running backup id
    schedules: dict[str, Schedule] = field(default_factory=dict)
    schedule_index: SortedIndex = field(default_factory=SortedIndex)
    schedule_of: dict[str, str] = field(default_factory=dict)  # target id -> its schedule's id
    # (next_run, id) of every schedule, soonest first: finding what is due costs O(log n).
    due: SortedList = field(default_factory=SortedList)
    building: dict[str, Instance] = field(default_factory=dict)  # instances still in BUILD
    # The copies held here: (region, id) of the backup copied -> its copies' ids, oldest first.
    copies: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add_instance(self, instance: Instance) -> None:
        self.instances[instance.id] = instance
        if instance.ready_at is not None:
            self.building[instance.id] = instance

    def add(self, backup: Backup) -> None:
        self.backups[backup.id] = backup
        key = backup.key  # one string, in every index that holds the backup
        self.index.add(key)
        of_source = self.by_source.get(backup.source["id"])
        if of_source is not None:
            of_source.add(key)
        if self.by_datastore is not None:
            _index_of(self.by_datastore, backup.datastore.get("type", "")).add(key)
        if backup.parent_id:
            self.children.setdefault(backup.parent_id, set()).add(backup.id)
        if backup.copy_of is not None:
            self.copies.setdefault(backup.copy_of, []).append(backup.id)
        if backup.lifecycle is not None:
            self.running[backup.id] = backup
            for target in backup.lifecycle.busy:
                self.busy[target] = backup.id

    def of_source(self, source_id: str) -> SortedIndex:
        """The keys of the backups of one instance or HA instance: built when first asked for
        (a list by instance, an incremental backup's parent, a schedule's retention), then kept
        up. Every create paid a second insert, into an index many accounts never read: 5% of
        a served create (side by side). The first list of one source of 100,000 backups takes
        3.4 ms to build it."""
        index = self.by_source.get(source_id)
        if index is None:
            keys = [b.key for b in self.backups.values() if b.source["id"] == source_id]
            index = self.by_source[source_id] = SortedIndex(keys)
        return index

    def of_datastore(self, datastore: str) -> SortedIndex:
        """The keys of the backups of one datastore type. Built when a list first asks, then
        kept up: few lists ask, and a third index (as large as the first when an account has
        one datastore) was paid by every create (2% of a create served, side by side)."""
        if self.by_datastore is None:
            keys: dict[str, list[str]] = {}
            for backup in self.backups.values():
                keys.setdefault(backup.datastore.get("type", ""), []).append(backup.key)
            self.by_datastore = {name: SortedIndex(found) for name, found in keys.items()}
        return self.by_datastore.get(datastore) or SortedIndex()

    def remove(self, backup: Backup) -> None:
        del self.backups[backup.id]
        self.index.remove(backup.key)
        of_source = self.by_source.get(backup.source["id"])
        if of_source is not None:
            of_source.remove(backup.key)
        if self.by_datastore is not None:
            self.by_datastore[backup.datastore.get("type", "")].remove(backup.key)
        if backup.parent_id and backup.parent_id in self.children:
            self.children[backup.parent_id].discard(backup.id)
        self.children.pop(backup.id, None)
        copies = self.copies.get(backup.copy_of) if backup.copy_of is not None else None
        if copies is not None:
            copies.remove(backup.id)
            if not copies:
                del self.copies[backup.copy_of]  # type: ignore[arg-type]

    def add_schedule(self, schedule: Schedule) -> None:
        self.schedules[schedule.id] = schedule
        self.schedule_index.add(schedule.key)
        self.schedule_of[schedule.source["id"]] = schedule.id
        self.due.add((schedule.next_run, schedule.id))

    def reschedule(self, schedule: Schedule, next_run: int) -> None:
        self.due.discard((schedule.next_run, schedule.id))
        schedule.next_run = next_run
        self.due.add((next_run, schedule.id))

    def next_due(self) -> Schedule | None:
        """The schedule that runs soonest."""
        return self.schedules[self.due[0][1]] if self.due else None

    def remove_schedule(self, schedule: Schedule) -> None:
        del self.schedules[schedule.id]
        self.schedule_index.remove(schedule.key)
        self.due.discard((schedule.next_run, schedule.id))
        if self.schedule_of.get(schedule.source["id"]) == schedule.id:
            del self.schedule_of[schedule.source["id"]]

    def descendants(self, backup_id: str) -> list[Backup]:
        """The backup and every incremental backup made from it, recursively."""
        found, pending = [], [backup_id]
        while pending:
            current = pending.pop()
            found.append(self.backups[current])
            pending.extend(self.children.get(current, ()))
        return found


def _index_of(indexes: dict[str, SortedIndex], name: str) -> SortedIndex:
    """The index of `name`, made when first needed (not with setdefault, which would build a
    new SortedIndex on every call only to throw it away)."""
    index = indexes.get(name)
    if index is None:
        index = indexes[name] = SortedIndex()
    return index


@dataclass
class State:
    datastores: list[str]
    accounts: dict[str, Account]
    # The versions of each datastore type, the default first (a type listed without versions
    # takes any version), and the flavors instances are created with (contract section 11).
    versions: dict[str, list[DatastoreVersion]] = field(default_factory=dict)
    flavors: dict[int, Flavor] = field(default_factory=dict)
