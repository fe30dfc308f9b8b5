"""Copies of backups between regions (contract section 12): each region's side of a copy.

A copy joins two regions' stores: the source region checks that its backup can go
(`copyable`), the target region checks that it can take it and makes it (`receive`).
`regions.py` calls both under the lock the stores share, in the order of the contract's checks.
Plain Python, no HTTP.
"""

from __future__ import annotations

from mockserver.state.core import NO_COPIES, QUOTA_EXCEEDED, copy
from mockserver.state.errors import BadRequest, OverLimit, Unprocessable, not_found
from mockserver.state.instances import InstanceRules
from mockserver.state.models import Account, Backup, CopyRequest


class CopyRules(InstanceRules):
    def copyable(self, account_id: str, backup_id: str, target_region: str) -> Backup:
        """The backup to copy to `target_region` (a copy): 404, then the 400s of the regions,
        then 422 unless it is COMPLETED."""
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            original = account.backups.get(backup_id)
            if original is None:
                raise not_found(backup_id)
            if target_region == self.region:
                raise BadRequest(
                    f"Backup {backup_id} is in {self.region} already: the target region of a copy"
                    " must be another region."
                )
            if NO_COPIES in (self.region, target_region):
                raise BadRequest(
                    "Backups cannot be copied from or to LON: copies are supported between DFW,"
                    " IAD, ORD, HKG and SYD."
                )
            if original.status != "COMPLETED":
                raise Unprocessable(
                    f"Backup {backup_id} is {original.status}: only a COMPLETED backup can be"
                    " copied."
                )
            return copy(original)

    def origin_of_parent(self, account_id: str, backup: Backup) -> tuple[str, str] | None:
        """Where the backup's parent was copied from (region, id), when the parent is a copy."""
        parent = self._held(account_id).backups.get(backup.parent_id or "")
        return parent.copy_of if parent is not None else None

    def receive(
        self,
        account_id: str,
        original: Backup,
        from_region: str,
        parent_origin: tuple[str, str] | None,
        at: float,
        request: CopyRequest,
        made_id: str | None = None,
    ) -> Backup:
        """Make the copy of `original` (a backup of `from_region`) here, NEW at `at`, with the
        id `made_id` when given (else a new one): 400 when it is incremental and its parent has
        no copy here, 413 past this region's quota."""
        with self._lock:
            # Not settled here: `Regions` brought it up to the clock before the copy action,
            # and a scheduled copy is made while another region settles (no re-entry).
            account = self._held(account_id)
            parent_id = self._counterpart(account, original, from_region, parent_origin)
            if original.parent_id is not None and parent_id is None:
                raise BadRequest(
                    f"Backup {original.id} is incremental and its parent {original.parent_id} has"
                    f" no copy in {self.region}: copy the parent first."
                )
            if len(account.backups) >= self.quota:
                raise OverLimit(f"{QUOTA_EXCEEDED} (in {self.region})")
            made = Backup(
                id=made_id or self.ids.new(),
                name=request.name if request.name is not None else original.name,
                description=(
                    request.description if request.description is not None else original.description
                ),
                status="NEW",
                created=int(at),
                updated=int(at),
                instance_id=original.instance_id,
                source=original.source,  # never changed in place: shared (see `Shared`)
                parent_id=parent_id,
                location_ref=None,
                size=None,  # null until COMPLETED, as for any new backup; then the original's
                type=original.type,
                is_automated=False,
                flavor_ram=original.flavor_ram,
                volume_size=original.volume_size,
                datastore=original.datastore,
                # Nothing of this region is busy while the copy is made.
                lifecycle=self._lifecycle(at, (), original.size),
                copy_of=(from_region, original.id),
            )
            self._keep(account)
            account.add(made)
            self.revision += 1
            return copy(made)

    def _counterpart(
        self,
        account: Account,
        original: Backup,
        from_region: str,
        parent_origin: tuple[str, str] | None,
    ) -> str | None:
        """The backup here that stands for the original's parent: the newest copy of it that
        did not fail (nothing can be restored from a FAILED one), or the backup the parent was
        itself copied from, when that is here."""
        if original.parent_id is None:
            return None
        copies = account.copies.get((from_region, original.parent_id), [])
        for copy_id in reversed(copies):
            if account.backups[copy_id].status != "FAILED":
                return copy_id
        if parent_origin is not None and parent_origin[0] == self.region:
            return parent_origin[1] if parent_origin[1] in account.backups else None
        return None
