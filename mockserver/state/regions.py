"""The regions of the service (contract section 12): a store for each, and copies between them.

Each region has its own accounts (instances, HA instances, backups, schedules), held by a
`Store` of its own; the clock, the lock, the quota setting and the fate of the next backups are
one for all of them. A copy changes two regions at once, under the one lock: each region's side
of it is a rule of its store (`copies.py`), joined here. Plain Python, no HTTP.

Scheduled copies are made lazily, as runs are: a region's account is brought up to the clock
(`Store.catch_up`) before the same account of another region is read or changed, so a copy due
by the clock is there when the target region is read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from mockserver.state.clock import Clock
from mockserver.state.core import NO_COPIES, Fate
from mockserver.state.document import load_regions
from mockserver.state.errors import BadRequest, OverLimit
from mockserver.state.ids import Ids, derived
from mockserver.state.models import Backup, CopyRequest
from mockserver.state.store import Store


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
        self.ids = Ids()
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
                ids=self.ids,
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
                    store.settle_all()
            document = self.store.dump()
            document["region"] = self.own
            document["regions"] = {
                code: {"accounts": store.dump()["accounts"]}
                for code, store in self.stores.items()
                if code != self.own
            }
            return document

    def replace(self, document: dict[str, Any]) -> None:
        """Replace every region's state; an invalid document raises BadRequest, changes nothing."""
        states = load_regions(document, self.own, self.codes, self._default_flavors)
        with self._lock:
            for code, store in self.stores.items():
                store.load(states[code])

    # -- copies ------------------------------------------------------------------------------

    def copy_backup(
        self, region: str, account_id: str, backup_id: str, request: CopyRequest
    ) -> Backup:
        """Copy a backup of `region` to `request.target_region`, with the checks of section 12
        in their order (`copies.py`). Returns the copy, NEW."""
        source = self.stores[region]
        with self._lock:
            original = source.copyable(account_id, backup_id, request.target_region)
            target = self.stores[request.target_region]
            parent_origin = source.origin_of_parent(account_id, original)
            return target.receive(
                account_id, original, region, parent_origin, self.clock.now(), request
            )

    # -- the hooks the stores call -----------------------------------------------------------

    def _settler(self, code: str) -> Callable[[str], None]:
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

    def _copier(self, code: str) -> Callable[[str, Backup, Sequence[str]], None]:
        def copy_elsewhere(account_id: str, original: Backup, regions: Sequence[str]) -> None:
            """A scheduled backup just COMPLETED: copy it to each region of copy_to, at the time
            it completed. A copy the copy action would refuse (its parent has no copy there, the
            quota there is used up) is not made, as a run that would pass the quota is not."""
            source = self.stores[code]
            parent_origin = source.origin_of_parent(account_id, original)
            for target_region in regions:
                target = self.stores.get(target_region)
                if target is None or NO_COPIES in (code, target_region) or target is source:
                    continue
                try:
                    target.receive(
                        account_id,
                        original,
                        code,
                        parent_origin,
                        float(original.updated),
                        CopyRequest(target_region),
                        # Made by no request (see `ids.derived`): the same in every process.
                        derived("copy", code, target_region, account_id, original.id),
                    )
                except (BadRequest, OverLimit):
                    continue

        return copy_elsewhere
