"""The regions of the service (contract section 12): a store for each, and copies between them.

Each region has its own accounts (instances, HA instances, backups, schedules), held by a
`Store` of its own; the clock, the lock, the quota setting and the fate of the next backups are
one for all of them. Copying a backup changes two regions at once, under the one lock, so its
rules live here, beside the stores they join. Plain Python, no HTTP.

Scheduled copies are made lazily, as runs are: a region's account is brought up to the clock
(`Store.catch_up`) before the same account of another region is read or changed, so a copy due
by the clock is there when the target region is read.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from mockserver.clock import Clock
from mockserver.core import QUOTA_EXCEEDED, Fate, copy
from mockserver.document import dump_state, load_regions
from mockserver.errors import BadRequest, OverLimit, Unprocessable, not_found
from mockserver.models import Account, Backup, CopyRequest
from mockserver.store import Store

NO_COPIES = "LON"  # backups are not copied from or to LON (post-action-backup-copy.rst)


class Regions:
    """Every region's store; `own` is the region served at `/v1.0` as well as its own prefix."""

    def __init__(
        self,
        codes: Sequence[str],
        own: str,
        state: dict[str, Any],
        clock: Clock,
        default_flavors: Sequence[Any] = (),
        **settings: Any,
    ) -> None:
        if own not in codes:
            raise ValueError(f"region {own} is not one of {', '.join(codes)}")
        self.own = own
        self.codes = tuple(codes)
        self.clock = clock
        self.fate = Fate()
        self._lock = threading.RLock()
        self._default_flavors = tuple(default_flavors)
        self._settling = False
        states = load_regions(state, own, self.codes, self._default_flavors)
        self.stores: dict[str, Store] = {}
        for code in self.codes:
            store = Store(
                states[code],
                clock,
                region=code,
                default_flavors=self._default_flavors,
                lock=self._lock,
                fate=self.fate,
                **settings,
            )
            store.settle_elsewhere = self._settler(code)
            store.copy_elsewhere = self._copier(code)
            self.stores[code] = store

    def __getitem__(self, code: str) -> Store:
        return self.stores[code]

    def __iter__(self) -> Iterator[Store]:
        return iter(self.stores.values())

    @property
    def store(self) -> Store:
        """The own region's store."""
        return self.stores[self.own]

    @property
    def revision(self) -> int:
        """Moves on every change in any region (a saver writes when it moved)."""
        return sum(store.revision for store in self.stores.values())

    @property
    def quota(self) -> int:
        return self.store.quota

    @quota.setter
    def quota(self, quota: int) -> None:
        for store in self.stores.values():
            store.quota = quota

    # -- the whole state ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The state document of every region: the own region's accounts at the top, as a mock
        of one region always showed them, and every other region's under `regions`."""
        with self._lock:
            # Twice: a copy made while one region catches up is then caught up in its own.
            for _ in range(2):
                for store in self.stores.values():
                    for account_id in list(store._state.accounts):
                        store.catch_up(account_id)
            document = dump_state(self.store._state)
            document["region"] = self.own
            document["regions"] = {
                code: {"accounts": dump_state(store._state)["accounts"]}
                for code, store in self.stores.items()
                if code != self.own
            }
            return document

    def replace(self, document: dict[str, Any]) -> None:
        """Replace every region's state; an invalid document raises BadRequest, changes nothing."""
        states = load_regions(document, self.own, self.codes, self._default_flavors)
        with self._lock:
            for code, store in self.stores.items():
                store._state = states[code]
                store.revision += 1

    # -- copies ------------------------------------------------------------------------------

    def copy_backup(
        self, region: str, account_id: str, backup_id: str, request: CopyRequest
    ) -> Backup:
        """Copy a backup of `region` to `request.target_region`; the checks of section 12 in
        their order. Returns the copy, NEW."""
        source = self.stores[region]
        target_region = request.target_region
        with self._lock:
            account = source._account(account_id)
            source._settle(account)
            original = account.backups.get(backup_id)
            if original is None:
                raise not_found(backup_id)
            if target_region == region:
                raise BadRequest(
                    f"Backup {backup_id} is in {region} already: the target region of a copy"
                    " must be another region."
                )
            if NO_COPIES in (region, target_region):
                raise BadRequest(
                    "Backups cannot be copied from or to LON: copies are supported between DFW,"
                    " IAD, ORD, HKG and SYD."
                )
            if original.status != "COMPLETED":
                raise Unprocessable(
                    f"Backup {backup_id} is {original.status}: only a COMPLETED backup can be"
                    " copied."
                )
            target = self.stores[target_region]
            held = target._held(account_id)
            target._settle(held)
            parent_id = self._counterpart(region, account, original, target_region, held)
            if original.parent_id is not None and parent_id is None:
                raise BadRequest(
                    f"Backup {backup_id} is incremental and its parent {original.parent_id} has"
                    f" no copy in {target_region}: copy the parent first."
                )
            if len(held.backups) >= target.quota:
                raise OverLimit(f"{QUOTA_EXCEEDED} (in {target_region})")
            made = self._copy(region, original, target, held, self.clock.now(), parent_id, request)
            return copy(made)

    @staticmethod
    def _counterpart(
        region: str, account: Account, original: Backup, target_region: str, held: Account
    ) -> str | None:
        """The backup of the target region that stands for the original's parent: its copy
        there, or the parent's own original when that is in the target region."""
        parent_id = original.parent_id
        if parent_id is None:
            return None
        found = held.copies.get((region, parent_id))
        if found:
            return found[-1]  # the newest copy of the parent
        parent = account.backups.get(parent_id)
        copied_from = parent.copy_of if parent is not None else None
        if copied_from is not None and copied_from[0] == target_region:
            return copied_from[1] if copied_from[1] in held.backups else None
        return None

    def _copy(
        self,
        region: str,
        original: Backup,
        target: Store,
        held: Account,
        at: float,
        parent_id: str | None,
        request: CopyRequest,
    ) -> Backup:
        """Add the copy to the target region: NEW at `at`, on the target's lifecycle."""
        created = int(at)
        made = Backup(
            id=str(uuid.uuid4()),
            name=request.name if request.name is not None else original.name,
            description=(
                request.description if request.description is not None else original.description
            ),
            status="NEW",
            created=created,
            updated=created,
            instance_id=original.instance_id,
            source=dict(original.source),
            parent_id=parent_id,
            location_ref=None,
            size=None,  # null until COMPLETED, as any new backup (section 2); then the original's
            type=original.type,
            is_automated=False,
            flavor_ram=original.flavor_ram,
            volume_size=original.volume_size,
            datastore=dict(original.datastore),
            # Nothing in the target region is busy while it is made.
            lifecycle=target._lifecycle(at, (), original.size),
            copy_of=(region, original.id),
        )
        target._keep(held)
        held.add(made)
        target.revision += 1
        return made

    # -- the hooks the stores call -----------------------------------------------------------

    def _settler(self, code: str) -> Any:
        def settle_elsewhere(account_id: str) -> None:
            if self._settling:  # already bringing every region up to date
                return
            self._settling = True
            try:
                for other, store in self.stores.items():
                    if other != code:
                        store.catch_up(account_id)
            finally:
                self._settling = False

        return settle_elsewhere

    def _copier(self, code: str) -> Any:
        def copy_elsewhere(account_id: str, original: Backup, regions: Sequence[str]) -> None:
            """A scheduled backup just COMPLETED: copy it to each region of copy_to, at the time
            it completed. A copy that a copy action would refuse (its parent has no copy there,
            the quota there is used up) is not made, as a run that would pass the quota is not."""
            account = self.stores[code]._held(account_id)
            for target_region in regions:
                if NO_COPIES in (code, target_region) or target_region == code:
                    continue
                target = self.stores.get(target_region)
                if target is None:
                    continue
                held = target._held(account_id)
                parent_id = self._counterpart(code, account, original, target_region, held)
                if original.parent_id is not None and parent_id is None:
                    continue
                if len(held.backups) >= target.quota:
                    continue
                at = float(original.updated)
                self._copy(code, original, target, held, at, parent_id, CopyRequest(target_region))

        return copy_elsewhere
