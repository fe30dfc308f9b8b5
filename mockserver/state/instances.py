"""Instances and flavors (contract section 11): create (and restore), delete, read. Plain Python.

A created instance is BUILD until `build_seconds` have passed on the clock (`core.py` moves it
on, as it moves backups), then ACTIVE, and is from then on like any instance of the state:
backed up, listed, scheduled and deleted by the same rules.
"""

from __future__ import annotations

import re

from mockserver.state.core import copy, page_size
from mockserver.state.errors import BadRequest, NotFound, Unprocessable, not_found
from mockserver.state.models import (
    Backup,
    DatastoreVersion,
    Flavor,
    HaInstance,
    Instance,
    InstanceRequest,
    Page,
)
from mockserver.state.schedules import ScheduleRules

# A flavor id, with the decimal part the WADL says is dropped ("1.5" is flavor 1), alone or at
# the end of a flavor's link (`flavorRef` may be either). ASCII digits only (`\d` also takes
# fullwidth ones), and nothing after them (`$` would let a final newline through).
_FLAVOR_ID = re.compile(r"(?:^|/flavors/)([0-9]{1,9})(?:\.[0-9]*)?/?\Z")
DEFAULT_DATASTORE = "mysql"
_DOMAIN = "rackspaceclouddb.com"  # an instance's hostname: <id without dashes>.<region>.<this>


class InstanceRules(ScheduleRules):
    """The operations on instances, HA instances and flavors."""

    # -- create and delete -------------------------------------------------------------------

    def create_instance(self, account_id: str, request: InstanceRequest) -> Instance:
        """A new instance in BUILD, restored from `request.backup_ref` when given."""
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            flavor = self._flavor(request.flavor_ref)
            backup = None
            if request.backup_ref is not None:
                backup = account.backups.get(request.backup_ref)
            named = request.datastore_type is not None or request.datastore_version is not None
            kind = request.datastore_type
            if kind is None and backup is not None:
                kind = backup.datastore.get("type")
            # A restore naming no datastore takes the backup's as it is, even one of a type the
            # state no longer lists: nothing the caller could change would make it found.
            datastore: dict[str, str] = {}
            if named or request.backup_ref is None:
                datastore = self._datastore(kind, request.datastore_version)
            if request.backup_ref is not None:
                datastore = self._restorable(request, backup, datastore)
            now = self.clock.now()
            instance_id = self.ids.new()
            instance = Instance(
                id=instance_id,
                name=request.name,
                status="BUILD",
                datastore=datastore,
                flavor={"id": str(flavor.id), "ram": flavor.ram},
                volume_size=request.volume_size,
                hostname=f"{instance_id.replace('-', '')}.{self.region.lower()}.{_DOMAIN}",
                created=int(now),
                updated=int(now),
                ready_at=now + self.build_seconds,
            )
            self._keep(account)
            account.add_instance(instance)
            self.revision += 1
            # Shown as created, BUILD, even with a build time of 0 (as a new backup is NEW).
            return copy(instance)

    def delete_instance(self, account_id: str, instance_id: str) -> None:
        """Delete an instance at once; its backups stay, its schedule goes with it."""
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            instance = account.instances.get(instance_id)
            if instance is None:
                raise not_found(instance_id)
            if instance.ha_id is not None:
                raise Unprocessable(
                    f"Instance {instance_id} is a member of HA instance {instance.ha_id}: an HA"
                    " instance is deleted as a whole."
                )
            if instance.status == "BUILD":
                raise Unprocessable(
                    f"Instance {instance_id} is BUILD: it cannot be deleted until it is built."
                )
            if instance_id in account.busy:
                raise Unprocessable(
                    f"Instance {instance_id} is BACKUP: it cannot be deleted while backup"
                    f" {account.busy[instance_id]} of it runs."
                )
            del account.instances[instance_id]
            schedule_id = account.schedule_of.get(instance_id)
            if schedule_id is not None:
                account.remove_schedule(account.schedules[schedule_id])
            self.revision += 1

    def _flavor(self, reference: str) -> Flavor:
        match = _FLAVOR_ID.search(reference)
        flavor = self._state.flavors.get(int(match.group(1))) if match else None
        if flavor is None:
            raise NotFound(f"Flavor {reference} cannot be found.")
        return flavor

    def _datastore(self, kind: str | None, version: str | None) -> dict[str, str]:
        """The datastore named (by default mysql, its default version): 404 if unknown."""
        known = self._state.datastores
        if not kind:  # mysql, else the first type the state lists (404 naming mysql: none)
            kind = DEFAULT_DATASTORE if DEFAULT_DATASTORE in known or not known else known[0]
        name = next((k for k in known if k.lower() == kind.lower()), None)
        if name is None:
            raise NotFound(f"Datastore '{kind}' cannot be found.")
        versions = self._state.versions.get(name, [])
        if not versions:  # a type listed without versions takes any version
            return {"type": name, "version": version or ""}
        found: DatastoreVersion | None = versions[0]
        if version is not None:
            wanted = version.lower()
            found = next(
                (v for v in versions if wanted in (v.name.lower(), (v.id or "").lower())), None
            )
        if found is None:
            raise NotFound(f"Datastore version '{version}' of '{name}' cannot be found.")
        datastore = {"type": name, "version": found.name}
        if found.id is not None:
            datastore["version_id"] = found.id
        return datastore

    def _restorable(
        self, request: InstanceRequest, backup: Backup | None, named: dict[str, str]
    ) -> dict[str, str]:
        """The checks of a restore after the datastore's; the restored instance's datastore."""
        reference = request.backup_ref or ""
        if backup is None:
            raise not_found(reference)
        if backup.status != "COMPLETED":
            raise Unprocessable(
                f"Backup {backup.id} is {backup.status}: only a COMPLETED backup can be restored."
            )
        if backup.size is not None and backup.size > request.volume_size:
            raise BadRequest(
                f"Backup {backup.id} is {backup.size} GB: it does not fit a volume of"
                f" {request.volume_size} GB."
            )
        own = backup.datastore
        if request.datastore_type is not None or request.datastore_version is not None:
            same_type = named["type"].lower() == str(own.get("type", "")).lower()
            wanted = ((request.datastore_version and named["version"]) or "").lower()
            same_version = not wanted or wanted in (
                str(own.get("version", "")).lower(),
                str(own.get("version_id", "")).lower(),
            )
            if not (same_type and same_version):
                raise BadRequest(
                    f"Datastore {named['type']} {named.get('version', '')} is not that of backup"
                    f" {backup.id} ({own.get('type')} {own.get('version')}): a backup restores"
                    " onto its own datastore."
                )
        return dict(own)

    # -- reads -------------------------------------------------------------------------------

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
            size = page_size(limit)
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

    def list_flavors(self) -> list[Flavor]:
        with self._lock:
            return [copy(flavor) for _, flavor in sorted(self._state.flavors.items())]

    def get_flavor(self, flavor_id: str) -> Flavor:
        with self._lock:
            try:
                return copy(self._flavor(flavor_id))
            except NotFound:
                raise not_found(flavor_id) from None
