"""Every rule of the backups contract, in plain Python (no HTTP).

Backups move NEW -> BUILDING -> COMPLETED (or FAILED) on the mock's clock. Transitions are
applied lazily, whenever an account is read or changed, so no background task is needed and a
clock moved by the control API takes effect at once. Lists are kept sorted (`models.py`), so a
page costs O(log n + page size) however many backups an account holds.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from mockserver.clock import Clock
from mockserver.document import dump_state, load_state
from mockserver.errors import BadRequest, NotFound, OverLimit, Unprocessable, not_found
from mockserver.models import (
    RUNNING,
    Account,
    Backup,
    BackupRequest,
    HaInstance,
    Instance,
    Lifecycle,
    Page,
    SortedIndex,
    location_of,
)

T = TypeVar("T")
PAGE_SIZE = 20
BackupFate = Literal["normal", "fail_next", "fail_all"]


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
        view: Callable[[Backup], Any] | None = None,
    ) -> Page:
        """A page of backups, newest first, each as `view` makes it while the store is locked
        (a backup's document, say: no copy needed); by default, a copy of each backup."""
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
            make = view or _copy
            return Page([make(account.backups[key[1]]) for key in keys], more)

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
                    backup.location_ref = location_of(account.id, backup.id)
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
