"""The mock's data: instances, HA instances, backups, the sorted indexes of an account.

Plain dataclasses with slots (100,000 backups must fit in a small process); the rules that
change them are the store's (`store.py`), their document form is `document.py`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from sortedcontainers import SortedList  # type: ignore[import-untyped]

RUNNING = ("NEW", "BUILDING")
_LOCATION = (
    "https://snet-storage101.dfw1.clouddrive.com/v1/MossoCloudFS_{account}"
    "/z_CLOUDDB_BACKUPS/{id}.xbstream.gz"
)


def location_of(account_id: str, backup_id: str) -> str:
    """Where a COMPLETED backup is stored: a URL ending in z_CLOUDDB_BACKUPS/<id>.xbstream.gz."""
    return _LOCATION.format(account=quote(account_id, safe=""), id=backup_id)


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
    """Backup keys (created, id) in ascending order; pages are read newest first.

    A SortedList (sortedcontainers) rather than a list kept with insort: backups created within
    one second (a frozen clock, a burst) land in the middle of the keys, and inserting there
    moved half of a plain list each time, the largest cost of a create at 30,000 backups.
    """

    def __init__(self) -> None:
        self._keys = SortedList()

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: tuple[int, str]) -> None:
        self._keys.add(key)

    def remove(self, key: tuple[int, str]) -> None:
        self._keys.discard(key)

    def newest_first(self) -> Iterator[tuple[int, str]]:
        return reversed(self._keys)  # type: ignore[no-any-return]

    def page(self, after: tuple[int, str] | None, limit: int) -> tuple[list[tuple[int, str]], bool]:
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
