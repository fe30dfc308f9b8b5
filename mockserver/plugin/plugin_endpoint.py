"""What the pytest plugin's handles are made of: the control API of a running mock, reached over
HTTP, and `Endpoint`, one account's API at one endpoint of that mock (`/v1.0/<account>`, or a
region's `/iad/v1.0/<account>`) with the helpers that act on that endpoint's region: seeding
instances and backups, schedules and copies through the API, the journal and fault rules of
that region. `BackupsMock` and `Region` (plugin_mock.py) are its two kinds.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from mockserver.state.clock import parse_timestamp
from mockserver.state.models import location_of

Json = dict[str, Any]
MYSQL_5_6 = "1379cc8b-4bc5-4c4a-9e9d-7a9ad27c0866"  # the fixture state's mysql 5.6 version_id
# A journal or fault-rule pattern taken as it is: `/v1.0/...`, `/iad/v1.0/...`, `*...` or `/`.
_ABSOLUTE = re.compile(r"(/[a-z]+)?/v1\.0|\*|/$")


class Control:
    """The control API of a running mock (`/__mock`), over HTTP."""

    def __init__(self, url: str, token: str | None = None) -> None:
        headers = {"X-Mock-Token": token} if token else {}
        self.client = httpx.Client(
            base_url=f"{url}/__mock", headers=headers, timeout=30, trust_env=False
        )

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """The answer's JSON; a 400 raises ValueError, another refusal RuntimeError."""
        response = self.client.request(method, path, json=body, params=params)
        if response.status_code >= 400:
            message = f"{method} /__mock{path}: {response.status_code} {fault_message(response)}"
            raise (ValueError if response.status_code == 400 else RuntimeError)(message)
        return response.json() if response.content else None

    def state(self) -> Json:
        state: Json = self.call("GET", "/state")
        return state

    def close(self) -> None:
        self.client.close()


def fault_message(response: httpx.Response) -> str | None:
    """The message of a fault body (`{"<name>": {"code", "message"}}`), if it is one."""
    try:
        fault: Any = next(iter(response.json().values()), {})
    except (ValueError, AttributeError):
        return response.text or None
    message = fault.get("message") if isinstance(fault, dict) else None
    return str(message) if message is not None else None


def accounts_of(state: Json, region: str) -> Json:
    """The accounts of `region` in a state document: at the top for the mock's own region,
    under `regions` for the others."""
    if state.get("region") == region:
        accounts: Json = state.setdefault("accounts", {})
        return accounts
    held: Json = state.setdefault("regions", {}).setdefault(region, {})
    others: Json = held.setdefault("accounts", {})
    return others


class Endpoint:
    """One account's API at one endpoint of a running mock: `url` is the root of that API
    (`http://127.0.0.1:<port>`, or `.../iad` for IAD's), `base_url` adds `/v1.0/<account>`.
    The clock is the mock's one clock, whichever endpoint moves it."""

    def __init__(self, control: Control, url: str, account: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.account = account
        self.token = token
        self._control = control

    @property
    def region_code(self) -> str:
        """The code of the region this endpoint serves (`"DFW"`)."""
        raise NotImplementedError

    @property
    def _journal_region(self) -> str | None:
        """The region that journal queries and fault rules are narrowed to (None: by path)."""
        return None

    @property
    def _relative_root(self) -> str:
        """What a relative journal pattern (`"/backups"`) is put under, before `/v1.0`."""
        return ""

    @property
    def base_url(self) -> str:
        """The API's base: `<url>/v1.0/<account>`."""
        return f"{self.url}/v1.0/{self.account}"

    @property
    def headers(self) -> dict[str, str]:
        """Headers for a JSON request to the API with this mock's token."""
        return {"X-Auth-Token": self.token, "Content-Type": "application/json"}

    # -- the clock (one for every region) ----------------------------------------------------

    def clock(self) -> Json:
        """`{"now": <timestamp>, "epoch", "offset_seconds", "frozen"}`."""
        clock: Json = self._control.call("GET", "/clock")
        return clock

    def advance(
        self, seconds: float = 0, *, days: float = 0, hours: float = 0, minutes: float = 0
    ) -> None:
        """Move the clock forward by the sum of the arguments; the backups it passes change
        status, and every scheduled run it passes happens, each at its own time."""
        total = seconds + minutes * 60 + hours * 3600 + days * 86_400
        self._control.call("POST", "/clock", {"advance_seconds": total})

    def advance_to(self, moment: str) -> None:
        """Move the clock to `moment` (a timestamp such as a schedule's `next_run`); nothing
        happens when the clock is already there or past it."""
        ahead = parse_timestamp(moment) - self.clock()["epoch"]
        if ahead > 0:
            self.advance(ahead)

    # -- this region's state -----------------------------------------------------------------

    def add_instance(self, **fields: Any) -> Json:
        """Add an instance to this account; missing fields get defaults (an ACTIVE mysql 5.6)."""
        instance_id = fields.get("id") or str(uuid.uuid4())
        instance = {
            "id": instance_id,
            "name": f"instance-{instance_id[:8]}",
            "status": "ACTIVE",
            "datastore": {"type": "mysql", "version": "5.6", "version_id": MYSQL_5_6},
            "flavor": {"id": "2", "ram": 1024},
            "volume": {"size": 1},
            **fields,
        }
        return self._add("instances", instance)

    def add_backup(self, **fields: Any) -> Json:
        """Add an ended backup (COMPLETED unless `status="FAILED"`) of `instance_id`, or of
        `source={"type": "ha", "id": ...}`; the other fields default from what is backed up."""
        status = fields.get("status", "COMPLETED")
        if status not in ("COMPLETED", "FAILED"):
            raise ValueError(
                f"add_backup makes ended backups only, not {status}: create a running backup"
                " through the API (POST /backups)"
            )
        source = fields.get("source")
        if source is None and fields.get("instance_id"):
            source = {"type": "instance", "id": fields["instance_id"]}
        if source is None:
            raise ValueError("add_backup needs instance_id=... or source={'type', 'id'}")
        state = self._control.state()
        account = self._account(state)
        kind = "instances" if source["type"] == "instance" else "ha_instances"
        target = next((t for t in account.get(kind, []) if t["id"] == source["id"]), None)
        if target is None:
            raise ValueError(
                f"account {self.account} has no {kind[:-1]} {source['id']} in {self.region_code}"
            )
        backup_id = fields.get("id") or str(uuid.uuid4())
        created = fields.get("created") or self.clock()["now"]
        completed = status == "COMPLETED"
        location = location_of(self.account, backup_id, self.region_code)
        backup = {
            "id": backup_id,
            "name": f"backup-{backup_id[:8]}",
            "description": None,
            "status": status,
            "created": created,
            "updated": created,
            "instance_id": source["id"] if kind == "instances" else None,
            "source": dict(source),
            "parent_id": None,
            "locationRef": location if completed else None,
            "size": 0.1 if completed else None,
            "type": "InnoBackupExIncremental" if fields.get("parent_id") else "InnoBackupEx",
            "is_automated": 0,
            "flavor_ram": target["flavor"]["ram"],
            "volume_size": target["volume"]["size"],
            "datastore": dict(target["datastore"]),
            **fields,
        }
        return self._add("backups", backup, state)

    def add_schedule(
        self,
        instance_id: str | None = None,
        *,
        ha_id: str | None = None,
        day_of_week: int = 0,
        hour: int = 0,
        minute: int = 0,
        **fields: Any,
    ) -> Json:
        """Create a backup schedule of an instance (or of the HA instance `ha_id`) through the
        API, `POST /schedules`, and return it; other members (`full_backup_retention`,
        `copy_to`) go as they are. A refusal raises, with the mock's fault message."""
        member: Json = {"action": "backup", "day_of_week": day_of_week, "hour": hour}
        member |= {"minute": minute, **fields}
        if ha_id is not None:
            member |= {"source_id": ha_id, "source_type": "ha"}
        elif instance_id is not None:
            member["instance_id"] = instance_id
        response = self._api("POST", "/schedules", {"schedule": member}, 202)
        schedule: Json = response.json()["schedule"]
        return schedule

    def copy_backup(
        self,
        backup_id: str,
        to: str,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> Json:
        """Copy a backup of this region to region `to` through the API (`POST
        /backups/<id>/action`, `copy-backup`: every rule applies; a refusal raises ValueError
        with the mock's fault message) and return the copy, NEW, as `state()` shows it."""
        member: Json = {"target_backup_region": to}
        if name is not None:
            member["name"] = name
        if description is not None:
            member["description"] = description
        before = {b["id"] for b in self._backups_in(self._control.state(), to)}
        self._api("POST", f"/backups/{backup_id}/action", {"copy-backup": member}, 202)
        origin = {"region": self.region_code, "id": backup_id}
        made = [
            b
            for b in self._backups_in(self._control.state(), to)
            if b.get("copy_of") == origin and b["id"] not in before
        ]
        if len(made) != 1:  # the mock answered 202 but made no copy, or more than one
            raise RuntimeError(f"copy of {backup_id} to {to}: {len(made)} new copies there")
        return made[0]

    # -- this region's journal and fault rules -----------------------------------------------

    def requests(self, method: str | None = None, path: str | None = None) -> list[Json]:
        """Journal entries (`method`, `path`, `query`, `headers`, `body`, `status`, `at`,
        `ignored_query`, `region`, and who answered and what was wrong with it behind a proxy:
        `answered_by`, `violations`, `unchecked`, `upstream`), oldest first. `path` is a
        pattern (`*` matches anything) relative to `base_url` (`"/backups"`), unless it starts
        with `/v1.0`, a region's `/iad/v1.0`, `*`, or is `/`."""
        query = {
            "method": method,
            "path": self._path(path) if path else None,
            "region": self._journal_region,
        }
        answer = self._control.call(
            "GET", "/requests", params={k: v for k, v in query.items() if v}
        )
        entries: list[Json] = answer["requests"]
        return entries

    def inject(
        self,
        path: str,
        *,
        method: str = "*",
        status: int | None = None,
        latency_ms: int = 0,
        count: int | None = 1,
    ) -> None:
        """The next `count` requests (every one when None) matching `method` and `path` (as in
        `requests`) answer `status` with its fault body, after `latency_ms`."""
        rule: Json = {
            "method": method,
            "path": self._path(path),
            "status": status,
            "latency_ms": latency_ms,
            "count": count,
        }
        if self._journal_region is not None:
            rule["region"] = self._journal_region
        self._control.call("POST", "/faults", rule)

    # -- the parts -------------------------------------------------------------------------

    def _api(self, method: str, path: str, body: Json, expected: int) -> httpx.Response:
        """A request to this endpoint's API; any other status than `expected` raises."""
        response = self._control.client.request(
            method, f"{self.base_url}{path}", json=body, headers=self.headers
        )
        if response.status_code != expected:
            raise ValueError(f"{method} {path}: {response.status_code} {fault_message(response)}")
        return response

    def _path(self, pattern: str) -> str:
        if _ABSOLUTE.match(pattern):
            return pattern
        return f"{self._relative_root}/v1.0/{self.account}/{pattern.lstrip('/')}"

    def _account(self, state: Json) -> Json:
        account: Json = accounts_of(state, self.region_code).setdefault(self.account, {})
        return account

    def _backups_in(self, state: Json, region: str) -> list[Json]:
        account: Json = accounts_of(state, region.upper()).get(self.account, {})
        backups: list[Json] = account.get("backups", [])
        return backups

    def _add(self, kind: str, item: Json, state: Json | None = None) -> Json:
        state = state if state is not None else self._control.state()
        items: list[Json] = self._account(state).setdefault(kind, [])
        items[:] = [existing for existing in items if existing["id"] != item["id"]]
        items.append(item)
        self._control.call("PUT", "/state", state)
        return item
