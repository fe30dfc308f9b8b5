"""What every rule of the store stands on: the lock, the accounts, readiness, making a backup, and
the lifecycle that moves backups on with the clock. Plain Python, no HTTP.

Transitions are applied lazily, whenever an account is read or changed, so no background task is
needed and a clock moved by the control API takes effect at once. `schedules.py` builds the
scheduled runs on this, `store.py` the operations of the API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from mockserver.state.backup_document import Shared
from mockserver.state.clock import Clock
from mockserver.state.document import load_state
from mockserver.state.errors import BadRequest, OverLimit, Unprocessable, not_found
from mockserver.state.ids import Ids
from mockserver.state.models import (
    RUNNING,
    Account,
    Backup,
    HaInstance,
    Instance,
    Lifecycle,
    State,
    id_of,
    location_of,
)

T = TypeVar("T")
PAGE_SIZE = 20
BackupFate = Literal["normal", "fail_next", "fail_all"]
Kind = Literal["instance", "ha"]
QUOTA_EXCEEDED = "Quota exceeded for resources: ['backups']."
NO_COPIES = "LON"  # backups are not copied from or to LON (post-action-backup-copy.rst)


@dataclass
class Fate:
    """How the next backups end (the control API's `backups` fault): one setting that the
    stores of every region share, so `fail_next` fails exactly one backup, wherever it is."""

    mode: BackupFate = "normal"

    def take(self) -> Literal["COMPLETED", "FAILED"]:
        """How a backup made now ends; a `fail_next` is used up by it."""
        if self.mode == "normal":
            return "COMPLETED"
        if self.mode == "fail_next":
            self.mode = "normal"
        return "FAILED"


class StoreCore:
    """The state, its lock, and the rules that backups made by hand and by schedules share.

    Each public method of the store holds the lock for its whole run, so concurrent requests
    (from the event loop or from threads) each see and leave a consistent state.
    """

    def __init__(
        self,
        state: dict[str, Any] | State,
        clock: Clock,
        quota: int = 50,
        new_seconds: float = 1.0,
        building_seconds: float = 4.0,
        region: str = "DFW",
        build_seconds: float = 5.0,
        default_flavors: Sequence[Any] = (),
        lock: threading.RLock | None = None,
        fate: Fate | None = None,
        ids: Ids | None = None,
    ) -> None:
        self.clock = clock
        self.quota = quota
        self.new_seconds = new_seconds
        self.building_seconds = building_seconds
        self.build_seconds = build_seconds  # how long a created instance stays in BUILD
        self.region = region
        self.fate = fate or Fate()
        self.ids = ids or Ids()  # shared by the regions, as the fate is
        self.revision = 0  # moves on every change, so a saver knows when to write
        # The stores of all regions share one lock (`regions.py`): a copy changes two at once.
        self._lock = lock or threading.RLock()
        # A state document without flavors takes these (the fixture state's): see load_state.
        self._default_flavors = tuple(default_flavors)
        self._state = state if isinstance(state, State) else load_state(state, default_flavors)
        # One source and one datastore mapping for all the backups that repeat them, as for a
        # state document read (`Shared`): two dicts less a backup, about 40 MB at 100,000.
        self._shared = Shared()
        # The last backup's `created`, whose int the next one of the same second reuses: one
        # int object for the backups of a second, not one each (32 bytes a backup).
        self._last_created = -1
        # Set by `Regions`: brings an account of the other regions up to the clock first, so a
        # scheduled copy due from there (contract section 12) is here before this one is read;
        # and makes the copies of a scheduled backup in the regions of its schedule's copy_to.
        self.settle_elsewhere: Callable[[str], None] | None = None
        self.copy_elsewhere: Callable[[str, Backup, Sequence[str]], None] | None = None

    @property
    def backup_fate(self) -> BackupFate:
        return self.fate.mode

    @backup_fate.setter
    def backup_fate(self, mode: BackupFate) -> None:
        self.fate.mode = mode

    def _account(self, account_id: str) -> Account:
        # Accounts need no creation: an account never seen is simply empty. It joins the state
        # only when something is added to it, so reads and refused requests change nothing.
        if self.settle_elsewhere is not None:
            self.settle_elsewhere(account_id)
        return self._held(account_id)

    def _held(self, account_id: str) -> Account:
        """The account as this region holds it, without bringing other regions up to date."""
        return self._state.accounts.get(account_id) or Account(account_id)

    def _keep(self, account: Account) -> None:
        self._state.accounts.setdefault(account.id, account)

    # -- readiness and making a backup -------------------------------------------------------

    def _target_of(self, account: Account, kind: Kind, target_id: str) -> Instance | HaInstance:
        """The instance or HA instance backed up: 404 when the account does not have it."""
        found = (account.instances if kind == "instance" else account.ha_instances).get(target_id)
        if found is None:
            raise not_found(target_id)
        return found

    @staticmethod
    def _unready(account: Account, target: Instance | HaInstance) -> str | None:
        """Why a backup of the target cannot start now (None: it can)."""
        if isinstance(target, Instance):
            if target.ha_id is not None:
                return (
                    f"Instance {target.id} is a member of HA instance {target.ha_id}: back up"
                    " the HA instance instead (source type 'ha')."
                )
            status = "BACKUP" if target.id in account.busy else target.status
            if status != "ACTIVE":
                return (
                    f"Instance {target.id} is not ACTIVE (status {status}): a backup can only"
                    " be taken of an ACTIVE instance, one at a time."
                )
            return None
        state = "BACKUP" if target.id in account.busy else target.state
        if state != "ACTIVE":
            return (
                f"HA instance {target.id} is not ACTIVE (state {state}): a backup can only be"
                " taken of an ACTIVE HA instance, one at a time."
            )
        return None

    def _check_quota(self, account: Account) -> None:
        if len(account.backups) >= self.quota:
            raise OverLimit(QUOTA_EXCEEDED)

    def _check_ready(self, account: Account, target: Instance | HaInstance) -> None:
        reason = self._unready(account, target)
        if reason is not None:
            raise Unprocessable(reason)

    def _new_backup(
        self,
        account: Account,
        target: Instance | HaInstance,
        at: float,
        name: str,
        description: str | None,
        parent_id: str | None,
        schedule_id: str | None = None,
        backup_id: str | None = None,
    ) -> Backup:
        """Add a NEW backup of a ready target, made at `at`, its lifecycle counted from then;
        its id is `backup_id` when given (see `ids.derived`), else a new one."""
        if isinstance(target, Instance):
            kind: Kind = "instance"
            busy: tuple[str, ...] = (target.id,)
        else:
            # The backup is taken of the replica closest to the source: the first one.
            kind, busy = "ha", (target.id, *target.replica_ids[:1])
        created = int(at)
        if created == self._last_created:
            created = self._last_created
        self._last_created = created
        backup = Backup(
            id=backup_id or self.ids.new(),
            name=name,
            description=description,
            status="NEW",
            created=created,
            updated=created,
            instance_id=target.id if kind == "instance" else None,
            source=self._shared.mapping({"type": kind, "id": target.id}),
            parent_id=parent_id,
            location_ref=None,
            size=None,
            type="InnoBackupExIncremental" if parent_id else "InnoBackupEx",
            is_automated=schedule_id is not None,
            flavor_ram=int(target.flavor.get("ram", 0)),
            volume_size=target.volume_size,
            datastore=self._shared.mapping(target.datastore),
            lifecycle=self._lifecycle(at, busy),
            schedule_id=schedule_id,
        )
        self._keep(account)
        account.add(backup)
        self.revision += 1
        return backup

    def _lifecycle(self, at: float, busy: tuple[str, ...], size: float | None = None) -> Lifecycle:
        """NEW from `at`, BUILDING after new_seconds, ended after building_seconds more."""
        building_at = at + self.new_seconds
        ends_at = building_at + self.building_seconds
        return Lifecycle(building_at, ends_at, self.fate.take(), busy, size)

    def _newest_completed(
        self, account: Account, source_id: str, schedule_id: str | None = None
    ) -> Backup | None:
        """The newest COMPLETED backup of a source (made by one schedule, when given)."""
        for key in account.of_source(source_id).newest_first():
            backup = account.backups[id_of(key)]
            if backup.status == "COMPLETED" and (
                schedule_id is None or backup.schedule_id == schedule_id
            ):
                return backup
        return None

    # -- the lifecycle -----------------------------------------------------------------------

    def _settle(self, account: Account) -> None:
        """Bring the account up to the clock's present."""
        self._advance(account, self.clock.now())

    def catch_up(self, account_id: str) -> None:
        """Bring an account up to the clock, if this region holds it and anything of it moves
        with time (for `Regions`, which calls it with the shared lock held)."""
        account = self._state.accounts.get(account_id)
        if account is not None and (account.running or account.building or account.due):
            self._settle(account)

    def _advance(self, account: Account, until: float) -> None:
        """Apply every transition due by `until`, in the order of time: instances built, then
        the running backups (an instance in BUILD has no backup running)."""
        if account.building:
            self._build(account, until)
        running = account.running
        if not running:
            return
        self.revision += 1
        ending = [b for b in running.values() if _life(b).ends_at <= until]
        if len(ending) > 1:  # most often one ends: the one the request before started
            ending.sort(key=_ending_order)
        for backup in ending:
            life = _life(backup)
            backup.status = life.ends
            backup.updated = max(backup.created, int(life.ends_at))
            if life.ends == "COMPLETED":
                backup.size = life.size if life.size is not None else _size_of(backup.id)
                backup.location_ref = location_of(account.id, backup.id, self.region)
            backup.lifecycle = None
            del running[backup.id]
            for target in life.busy:
                if account.busy.get(target) == backup.id:
                    del account.busy[target]
            self._ended(account, backup)
        for backup in running.values():
            life = _life(backup)
            if until >= life.building_at and backup.status == "NEW":
                backup.status = "BUILDING"
                backup.updated = max(backup.created, int(life.building_at))

    def _build(self, account: Account, until: float) -> None:
        """Instances created through the API become ACTIVE at their ready_at."""
        for instance in [i for i in account.building.values() if _ready_at(i) <= until]:
            instance.status = "ACTIVE"
            instance.updated = max(instance.created or 0, int(_ready_at(instance)))
            instance.ready_at = None
            del account.building[instance.id]
            self.revision += 1

    def _ended(self, account: Account, backup: Backup) -> None:
        """Called as each backup ends, in the order of time; the schedules' retention uses it."""

    def _remove_chain(self, account: Account, backup_id: str) -> list[Backup] | None:
        """Remove a backup and its incremental descendants, unless one of them runs (None)."""
        doomed = account.descendants(backup_id)
        if any(backup.status in RUNNING for backup in doomed):
            return None
        for backup in doomed:
            account.remove(backup)
        self.revision += 1
        return doomed

    # -- views -------------------------------------------------------------------------------

    @staticmethod
    def _instance_view(account: Account, instance: Instance) -> Instance:
        view = copy(instance)
        if instance.id in account.busy:
            view.status = "BACKUP"
        return view

    @staticmethod
    def _ha_view(account: Account, ha: HaInstance) -> HaInstance:
        view = copy(ha)
        if ha.id in account.busy:
            view.state = "BACKUP"
        return view


def _ending_order(backup: Backup) -> tuple[float, str]:
    return _life(backup).ends_at, backup.id


def _ready_at(instance: Instance) -> float:
    assert instance.ready_at is not None  # every instance in BUILD has one (document.py checks)
    return instance.ready_at


def _life(backup: Backup) -> Lifecycle:
    assert backup.lifecycle is not None  # every running backup has one (document.py checks)
    return backup.lifecycle


def page_size(limit: int | None) -> int:
    if limit is None:
        return PAGE_SIZE
    if limit < 1:
        raise BadRequest(f"Invalid limit {limit}: it must be a positive integer.")
    return min(limit, PAGE_SIZE)


# Every size `_size_of` gives, rounded once: rounding a float for each backup that ended was
# 1.5% of a served create.
_SIZES = tuple(round(0.1 + n / 1000, 2) for n in range(400))


def _size_of(backup_id: str) -> float:
    """A plausible, repeatable size in GB (0.1 to 0.5)."""
    return _SIZES[int(backup_id[:8], 16) % 400]


def copy(item: T) -> T:
    """A shallow copy, so callers never hold the store's own objects."""
    # The dataclasses' own __init__ with their slots in field order: a third of copy.copy's
    # cost, which a list page paid 20 times.
    kind: Any = type(item)
    return kind(*[getattr(item, name) for name in kind.__slots__])  # type: ignore[no-any-return]
