"""The store: every rule of the backups contract, in plain Python (no HTTP).

`Store` is what the handlers and the control API call. Its rules are built in layers, each in
its own module: `core.py` (the lock, readiness, making a backup, the lifecycle on the clock),
`schedules.py` (scheduled backups and their runs), `instances.py` (instances, restores and
flavors), `copies.py` (each region's side of a copy between regions), and here the operations
on backups and the whole state. Lists are kept sorted (`models.py`), so a page costs
O(log n + page size) however many backups an account holds. `regions.py` holds one store per
region.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from mockserver.state.copies import CopyRules
from mockserver.state.core import copy, page_size
from mockserver.state.document import dump_state, load_state
from mockserver.state.errors import BadRequest, NotFound, Unprocessable, not_found
from mockserver.state.models import (
    RUNNING,
    Backup,
    BackupRequest,
    Page,
    State,
    id_of,
)

T = TypeVar("T")


class Store(CopyRules):
    """Every account's instances, HA instances, backups and schedules, and the rules that change
    them. Each public method holds the store's lock for its whole run."""

    # -- the whole state ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """This region's state document, brought up to the clock (other regions first, for the
        scheduled copies due here; `Regions.snapshot` is every region's)."""
        with self._lock:
            for account_id in list(self._state.accounts):
                self._settle(self._account(account_id))
            return dump_state(self._state)

    def replace(self, document: dict[str, Any]) -> None:
        """Replace the whole state; an invalid document raises BadRequest and changes nothing."""
        self.load(load_state(document, self._default_flavors))

    def load(self, state: State) -> None:
        """Take `state` (built and checked by `document.py`) in place of the whole state."""
        with self._lock:
            self._state = state
            self.revision += 1

    def settle_all(self) -> None:
        """Bring every account up to the clock."""
        with self._lock:
            for account_id in list(self._state.accounts):
                self.catch_up(account_id)

    def dump(self) -> dict[str, Any]:
        """The state document as it stands, not brought up to the clock (see `snapshot`)."""
        with self._lock:
            return dump_state(self._state)

    # -- backups -----------------------------------------------------------------------------

    def create_backup(self, account_id: str, request: BackupRequest) -> Backup:
        return self.make_backup(account_id, request, copy)

    def make_backup(
        self, account_id: str, request: BackupRequest, view: Callable[[Backup], T]
    ) -> T:
        """Create a backup; the answer is the new backup as `view` makes it while the store is
        locked (its document, say: no copy needed)."""
        kind, target_id = _target(request)
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            self._check_quota(account)
            target = self._target_of(account, kind, target_id)
            self._check_ready(account, target)
            parent_id = request.parent_id
            if parent_id is not None and parent_id not in account.backups:
                raise not_found(parent_id)
            if parent_id is None and request.incremental:
                parent = self._newest_completed(account, target_id)
                parent_id = parent.id if parent is not None else None
            backup = self._new_backup(
                account,
                target,
                self.clock.now(),
                request.name,
                request.description,
                parent_id,
            )
            # The answer shows the backup as created, NEW (contract section 2), even with
            # durations of 0: the next request to the account sees it move on.
            return view(backup)

    def get_backup(self, account_id: str, backup_id: str) -> Backup:
        return self.view_backup(account_id, backup_id, copy)

    def view_backup(self, account_id: str, backup_id: str, view: Callable[[Backup], T]) -> T:
        """The backup as `view` makes it while the store is locked (its document, say: no
        copy needed, as for `list_backups`)."""
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            backup = account.backups.get(backup_id)
            if backup is None:
                raise not_found(backup_id)
            return view(backup)

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
                index = account.of_source(instance_id)
            elif ha_id is not None:
                if ha_id not in account.ha_instances:
                    raise not_found(ha_id)
                index = account.of_source(ha_id)
            elif datastore is not None:
                if datastore not in self._state.datastores:
                    raise NotFound(f"Datastore '{datastore}' cannot be found.")
                index = account.of_datastore(datastore)
            after = None
            if marker is not None:
                if marker not in account.backups:
                    raise BadRequest(f"Invalid marker: {marker} is not a backup of this account.")
                after = account.backups[marker].key
            keys, more = index.page(after, page_size(limit))
            make = view or copy
            return Page([make(account.backups[id_of(key)]) for key in keys], more)

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
