"""Handlers of openapi.yaml's operations: unpack, call the store, shape the answer.

connexion (and the fast path, `fastpath.py`) resolve each operationId to the method of the
same name on a `Handlers` object built by `create_app`, so every mock has its own store. Input
has already passed the spec's validation when a handler runs.

The handlers are plain functions: the store is plain Python and never waits, so a request the
fast path answers is answered in one step (see `direct.py`). connexion gets each as a coroutine
function (`create_app` wraps it): it would run a plain function in a thread pool.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, urlencode

from connexion.lifecycle import ConnexionResponse
from starlette.requests import HTTPConnection

from mockserver.asgi import Scope
from mockserver.http.regional import PREFIX, region_of
from mockserver.http.views import datastore, flavor_detail, ha_instance_view, instance_view
from mockserver.state.backup_document import backup_document
from mockserver.state.document import schedule_document
from mockserver.state.models import (
    BackupRequest,
    CopyRequest,
    InstanceRequest,
    Page,
    ScheduleChange,
    ScheduleRequest,
)
from mockserver.state.regions import Regions
from mockserver.state.store import Store

Json = dict[str, Any]


class Handlers:
    def __init__(self, regions: Regions) -> None:
        self.regions = regions
        # The ASGI scope of the request being answered, set by the gateway for either pipeline:
        # links name the host and port the client used. One variable per mock, never shared.
        self.scope: ContextVar[Scope] = ContextVar(f"mockserver-request-{id(self)}")
        # What links are made of, parsed by starlette once per distinct request part: building
        # URLs (parsed, joined, parsed again) was a fifth of a list page's time. Each cache is
        # keyed by every part of the request its value depends on, and holds at most 64.
        self._roots: dict[tuple[Any, ...], str] = {}
        self._urls: dict[tuple[str, bytes], tuple[str, dict[str, str]]] = {}

    @property
    def store(self) -> Store:
        """The store of the region this request went to (contract section 12)."""
        return self.regions[region_of(self.scope.get(), self.regions.own)]

    def _root(self) -> str:
        """The URL of the region's root as the client named it (no final slash): the mock's
        root, with the region's prefix when the request was sent with one."""
        scope = self.scope.get()
        host = next((value for name, value in scope["headers"] if name == b"host"), None)
        key = (
            scope.get("scheme"),
            tuple(scope.get("server") or ()),  # a list from some servers
            host,
            scope.get("app_root_path"),
            scope.get("root_path"),
            scope.get(PREFIX),
        )
        root = self._roots.get(key)
        if root is None:
            root = str(HTTPConnection(scope).base_url).rstrip("/") + scope.get(PREFIX, "")
            _remember(self._roots, key, root)
        return root

    def _path_and_query(self) -> tuple[str, dict[str, str]]:
        """This request's URL path and query parameters (a copy, to change)."""
        scope = self.scope.get()
        key = (scope["path"], scope.get("query_string", b""))
        found = self._urls.get(key)
        if found is None:
            url = HTTPConnection(scope).url
            found = (url.path, dict(parse_qsl(url.query, keep_blank_values=True)))
            _remember(self._urls, key, found)
        return found[0], dict(found[1])

    def getVersions(self) -> Json:
        return {
            "versions": [
                {
                    "id": "v1.0",
                    "status": "CURRENT",
                    "updated": "2012-08-01T00:00:00Z",
                    "links": [{"href": f"{self._root()}/v1.0/", "rel": "self"}],
                }
            ]
        }

    def createBackup(self, accountId: str, body: Json) -> tuple[Json, int]:
        raw = body["backup"]
        document = self.store.make_backup(
            accountId,
            BackupRequest(
                name=raw["name"],
                description=raw.get("description"),
                instance=raw.get("instance"),
                source=raw.get("source"),
                parent_id=raw.get("parent_id"),
                incremental=bool(raw.get("incremental")),
            ),
            backup_document,
        )
        document["is_automated"] = False  # the create response shows a boolean, as documented
        return {"backup": document}, 202

    def getBackups(
        self,
        accountId: str,
        limit: int | None = None,
        marker: str | None = None,
        datastore: str | None = None,
    ) -> Json:
        page = self.store.list_backups(
            accountId, limit, marker, datastore=datastore, view=backup_document
        )
        return self._backup_page(page)

    def getBackupById(self, accountId: str, backupId: str) -> Json:
        return {"backup": self.store.view_backup(accountId, backupId, backup_document)}

    def deleteBackup(self, accountId: str, backupId: str) -> ConnexionResponse:
        self.store.delete_backup(accountId, backupId)
        return ConnexionResponse(status_code=202)

    def backupAction(self, accountId: str, backupId: str, body: Json) -> ConnexionResponse:
        raw = body["copy-backup"]
        self.regions.copy_backup(
            region_of(self.scope.get(), self.regions.own),
            accountId,
            backupId,
            CopyRequest(
                target_region=raw["target_backup_region"],
                name=raw.get("name"),
                description=raw.get("description"),
            ),
        )
        return ConnexionResponse(status_code=202)  # an empty body, as documented

    def getBackupsByInstance(
        self, accountId: str, instanceId: str, limit: int | None = None, marker: str | None = None
    ) -> Json:
        page = self.store.list_backups(
            accountId, limit, marker, instance_id=instanceId, view=backup_document
        )
        return self._backup_page(page)

    def getBackupsForHaInstance(
        self, accountId: str, haId: str, limit: int | None = None, marker: str | None = None
    ) -> Json:
        page = self.store.list_backups(accountId, limit, marker, ha_id=haId, view=backup_document)
        return self._backup_page(page)

    def getInstance(
        self, accountId: str, limit: int | None = None, marker: str | None = None
    ) -> Json:
        page = self.store.list_instances(accountId, limit, marker)
        root = self._root()
        document: Json = {"instances": [instance_view(root, accountId, i) for i in page.items]}
        return self._with_next(document, page, page.items[-1].id if page.items else None)

    def getInstanceById(self, accountId: str, instanceId: str) -> Json:
        instance = self.store.get_instance(accountId, instanceId)
        return {"instance": instance_view(self._root(), accountId, instance)}

    def createInstance(self, accountId: str, body: Json) -> Json:
        raw = body["instance"]
        datastore = raw.get("datastore") or {}
        restore = raw.get("restorePoint")
        instance = self.store.create_instance(
            accountId,
            InstanceRequest(
                name=raw["name"],
                flavor_ref=str(raw["flavorRef"]),
                volume_size=raw["volume"]["size"],
                datastore_type=datastore.get("type"),
                datastore_version=datastore.get("version"),
                backup_ref=restore["backupRef"] if restore is not None else None,
            ),
        )
        # 200, as the restore method page documents (not the 202 of a backup's create).
        return {"instance": instance_view(self._root(), accountId, instance)}

    def deleteInstance(self, accountId: str, instanceId: str) -> ConnexionResponse:
        self.store.delete_instance(accountId, instanceId)
        return ConnexionResponse(status_code=202)

    def getFlavors(self, accountId: str) -> Json:
        root = self._root()
        return {"flavors": [flavor_detail(root, accountId, f) for f in self.store.list_flavors()]}

    def getFlavorById(self, accountId: str, flavorId: str) -> Json:
        flavor = self.store.get_flavor(flavorId)
        return {"flavor": flavor_detail(self._root(), accountId, flavor)}

    def getHa(self, accountId: str) -> Json:
        return {
            "ha_instances": [
                {"id": ha.id, "name": ha.name, "state": ha.state, "datastore": datastore(ha)}
                for ha in self.store.list_ha_instances(accountId)
            ]
        }

    def getInstanceByHaId(self, accountId: str, haId: str) -> Json:
        ha, members = self.store.get_ha_instance(accountId, haId)
        return {"ha_instance": ha_instance_view(self._root(), accountId, ha, members)}

    def createAutoBackup(self, accountId: str, body: Json) -> tuple[Json, int]:
        raw = body["schedule"]
        request = ScheduleRequest(
            day_of_week=raw["day_of_week"],
            hour=raw["hour"],
            minute=raw["minute"],
            instance_id=raw.get("instance_id"),
            source_id=raw.get("source_id"),
            source_type=raw.get("source_type") or "instance",
            full_backup_retention=raw.get("full_backup_retention", 2),
            copy_to=list(raw.get("copy_to") or []),
        )
        schedule = self.store.create_schedule(accountId, request)
        return {"schedule": schedule_document(schedule)}, 202

    def getAutomatedBackups(
        self, accountId: str, limit: int | None = None, marker: str | None = None
    ) -> Json:
        page = self.store.list_schedules(accountId, limit, marker)
        document: Json = {"schedules": [schedule_document(s) for s in page.items]}
        return self._with_next(document, page, page.items[-1].id if page.items else None)

    def getAutomatedBackupById(self, accountId: str, scheduleId: str) -> Json:
        return {"schedule": schedule_document(self.store.get_schedule(accountId, scheduleId))}

    def updateAutomatedBackupById(self, accountId: str, scheduleId: str, body: Json) -> Json:
        raw = body["schedule"]
        run_now = raw.get("run_now")
        change = ScheduleChange(
            day_of_week=raw.get("day_of_week"),
            hour=raw.get("hour"),
            minute=raw.get("minute"),
            full_backup_retention=raw.get("full_backup_retention"),
            copy_to=raw.get("copy_to"),
            # true, 1 or "true" (the documented example sends a string); false, 0 or "false"
            run_now=None if run_now is None else run_now in (True, 1, "true"),
        )
        schedule = self.store.update_schedule(accountId, scheduleId, change)
        return {"schedule": schedule_document(schedule)}

    def deleteAutomatedBackupById(self, accountId: str, scheduleId: str) -> ConnexionResponse:
        self.store.delete_schedule(accountId, scheduleId)
        return ConnexionResponse(status_code=202)

    def _backup_page(self, page: Page) -> Json:
        """A page of backup documents (the store made them: `view=backup_document`)."""
        document: Json = {"backups": page.items}
        return self._with_next(document, page, page.items[-1]["id"] if page.items else None)

    def _with_next(self, document: Json, page: Page, last_id: str | None) -> Json:
        """Add the `rel: next` link when another page follows: this URL, with limit and marker."""
        if page.more and last_id is not None:
            path, query = self._path_and_query()
            query["limit"] = query.get("limit") or str(len(page.items))
            query["marker"] = last_id
            href = f"{self._root()}{path}?{urlencode(query)}"
            document["links"] = [{"href": href, "rel": "next"}]
        return document


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= 64:  # a client sending ever new hosts or queries cannot grow it
        cache.clear()
    cache[key] = value
