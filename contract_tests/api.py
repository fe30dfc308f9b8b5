"""The API as the hand-written checks use it: every request vetted, recorded and judged.

Each request goes through the guard (nothing the suite does not own is changed), lands in the
ledger (operation and status), and, when it is a fault, has its body checked against the
documented fault shape. A backup or a schedule the target accepts is remembered at once, so that
cleanup finds it even if the run stops on the next line (a copy, which the answer does not name,
once it is found in its region: `copying.py`). `in_region` is the same run in another region.
What a backup is taken of, each `Source` the run may back up, is in `source.py`.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from contract_tests import checks
from contract_tests.contract import Contract
from contract_tests.exchange import TOKEN_HEADER, Exchange
from contract_tests.guard import (
    CREATE,
    CREATE_INSTANCE,
    CREATE_SCHEDULE,
    DELETE,
    INSTANCE,
    SCHEDULE,
    Guard,
)
from contract_tests.inventory import Inventory
from contract_tests.ledger import Ledger
from contract_tests.shutdown import Shutdown, Stopped
from contract_tests.source import Source
from contract_tests.target import Target
from contract_tests.timeline import Timeline

NAME_PREFIX = "contract-tests"


class Api:
    def __init__(
        self,
        target: Target,
        http: httpx.Client,
        *,
        contract: Contract,
        ledger: Ledger,
        inventory: Inventory,
        timeline: Timeline,
        shutdown: Shutdown | None = None,
        run_id: str | None = None,
        home_account: str | None = None,
    ) -> None:
        self.target = target
        self.http = http
        self.contract = contract
        self.ledger = ledger
        self.inventory = inventory
        sources = [i for i in (target.instance_id, target.ha_id) if i]
        self.guard = Guard(
            inventory, target.read_only, sources, target.restores, target.copy_regions()
        )
        self.timeline = timeline
        self.shutdown = shutdown  # None: a stop does not stop it (cleanup's)
        self.run_id = run_id or uuid.uuid4().hex[:8]
        # The account the run's backups are made in: only its answers say what became of them.
        self.home_account = home_account or target.account
        self._names = itertools.count(1)

    def for_cleanup(self) -> Api:
        """The same API, target and inventory for cleanup, which goes on after a stop (until a
        second signal ends the process) and waits on a timeline of its own."""
        return Api(
            self.target,
            self.http,
            contract=self.contract,
            ledger=self.ledger,
            inventory=self.inventory,
            timeline=Timeline(self.timeline.control, self.timeline.timeout),
            run_id=self.run_id,
            home_account=self.home_account,
        )

    def with_target(self, target: Target) -> Api:
        """The same run against `target` (another account, say): same ledger and inventory."""
        return Api(
            target,
            self.http,
            contract=self.contract,
            ledger=self.ledger,
            inventory=self.inventory,
            timeline=self.timeline,
            shutdown=self.shutdown,
            run_id=self.run_id,
            home_account=self.home_account,
        )

    def in_region(self, code: str) -> Api | None:
        """The same run in another region it can reach (None: it cannot), with the inventory of
        what it made there: the copies it made, which it may delete."""
        region = self.target.reach(code)
        if region is None:
            return None
        return Api(
            self.target.in_region(region),
            self.http,
            contract=self.contract,
            ledger=self.ledger,
            inventory=self.inventory.elsewhere(code),
            timeline=self.timeline,
            shutdown=self.shutdown,
            run_id=self.run_id,
            home_account=self.home_account,
        )

    # -- requests ------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content: bytes | None = None,
        query: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        token: bool = True,
        judge: bool = True,
    ) -> Exchange:
        """Send `method path` (a path below the root); `token=False` sends no X-Auth-Token;
        `judge=False` leaves the answer unjudged (cleanup must go on whatever it gets); else its
        status must be one the operation documents, and a fault must have the documented body."""
        found = self.contract.spec.match(path)
        template = found[0].template if found else None
        self.guard.vet(method, template, found[1] if found else {}, _sent_json(body, content))
        sent: dict[str, str] = {}
        if token:
            sent[TOKEN_HEADER] = self.target.token
        if body is not None:
            content = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        url = self.target.url(path) + (f"?{urlencode(query)}" if query else "")
        if self.shutdown is not None:
            self.shutdown.check()
        try:
            answer = self.http.request(method, url, headers=sent, content=content)
        except httpx.HTTPError as error:
            if self.shutdown is not None and self.shutdown.requested:
                raise Stopped(self.shutdown.reason) from error  # its connection was cut
            raise
        exchange = Exchange(
            method=method.upper(),
            url=url,
            sent_headers=tuple(sent.items()),
            sent_body=content or b"",
            status=answer.status_code,
            headers=tuple((k.lower(), v) for k, v in answer.headers.items()),
            body=answer.content,
            token=self.target.token,
        )
        self.ledger.saw(self.contract.label(method, path), exchange.status)
        if found is not None and found[1].get("accountId") == self.home_account:
            self._track(exchange, template)
        if judge:
            checks.status_is_documented(self, exchange, self.contract.operation(method, path))
            if exchange.status >= 400:
                checks.fault_body_is_documented(self, exchange)
        return exchange

    def _track(self, exchange: Exchange, template: str | None) -> None:
        """Remember what the target accepted; forget only what it says is not there (a 202 to
        DELETE is not proof: cleanup asks again)."""
        accepted = 200 <= exchange.status < 300
        last = exchange.url.split("?")[0].rsplit("/", 1)[-1]
        if (exchange.method, template) == CREATE and accepted:
            backup_id = exchange.document("backup").get("id")
            if isinstance(backup_id, str):
                self.inventory.remember(backup_id)
        elif (exchange.method, template) == CREATE_SCHEDULE and accepted:
            schedule_id = exchange.document("schedule").get("id")
            if isinstance(schedule_id, str):
                self.inventory.remember_schedule(schedule_id)
        elif (exchange.method, template) == CREATE_INSTANCE and accepted:
            instance_id = exchange.document("instance").get("id")
            if isinstance(instance_id, str):
                self.inventory.remember_instance(instance_id)
        elif exchange.status == 404 and exchange.method == "DELETE":
            if template == DELETE[1]:
                self.inventory.forget(last)
            elif template == SCHEDULE:
                self.inventory.forget_schedule(last)
            elif template == INSTANCE:
                self.inventory.forget_instance(last)

    # -- the backups API -----------------------------------------------------------------------

    def path(self, below_account: str) -> str:
        return self.target.api_path(below_account)

    @property
    def name_prefix(self) -> str:
        """What the name of every backup and instance this run creates starts with."""
        return f"{NAME_PREFIX} {self.run_id} "

    def new_name(self) -> str:
        return f"{self.name_prefix}{next(self._names)}"

    def items(self, path: str, member: str, max_pages: int = 500) -> Iterator[dict[str, Any]]:
        """Every item of a list, unjudged (cleanup and adoption go on whatever they get): they
        end at the first page that is not a 200 with a list."""
        query: dict[str, str | int] = {"limit": 20}
        for _ in range(max_pages):
            page = self.call("GET", path, query=query, judge=False)
            body = page.json() if page.status == 200 else None
            if not isinstance(body, dict) or not isinstance(body.get(member), list):
                return
            found = [i for i in body[member] if isinstance(i, dict) and _has_id(i)]
            yield from found
            if not found or not body.get("links"):
                return
            query = {"limit": 20, "marker": found[-1]["id"]}

    def note_schedules_before(self) -> None:
        """Note the account's schedules as the run begins: none of them is the run's."""
        if self.target.read_only:
            return
        probe = self.call("GET", self.path("/schedules"), query={"limit": 1}, judge=False)
        if probe.status == 200:
            found = self.items(self.path("/schedules"), "schedules")
            self.inventory.schedules_before = frozenset(s["id"] for s in found)

    def adopt_unacknowledged(self) -> None:
        """Remember the backups, instances and schedules of this run whose create was accepted
        but whose answer never came back (the run was stopped while it was in flight), and the
        copies it made in other regions that it had not found yet: the name of a backup, a copy
        or an instance carries the run id; a schedule is of a source the run backs up, and was
        not there when the run began."""
        if self.target.read_only:
            return
        mine = self.name_prefix
        for backup in self.items(self.path("/backups"), "backups"):
            if str(backup.get("name", "")).startswith(mine):
                self.inventory.remember(backup["id"])
        if self.target.copy_to is not None:
            for region in self.target.elsewhere:
                there = self.in_region(region.code)
                assert there is not None  # a region of `elsewhere` is reached
                for backup in there.items(there.path("/backups"), "backups"):
                    if str(backup.get("name", "")).startswith(mine):
                        there.inventory.remember(backup["id"])
        if self.target.restores:
            for instance in self.items(self.path("/instances"), "instances"):
                if str(instance.get("name", "")).startswith(mine):
                    self.inventory.remember_instance(instance["id"])
        before = self.inventory.schedules_before
        if before is None:
            return
        sources = {source.id for source in self.sources()}
        for schedule in self.items(self.path("/schedules"), "schedules"):
            source = schedule.get("source")
            target = source.get("id") if isinstance(source, dict) else None
            if schedule["id"] not in before and (target or schedule.get("instance_id")) in sources:
                self.inventory.remember_schedule(schedule["id"])

    def create(
        self,
        *,
        instance: str | None = None,
        ha: str | None = None,
        parent_id: str | None = None,
        **members: Any,
    ) -> Exchange:
        """Back up `instance` or the HA instance `ha`; `members` are added to the request's
        backup (`description`, `incremental`, ...)."""
        backup: dict[str, Any] = {
            "name": self.new_name(),
            "description": "Made by contract-tests; it deletes it itself.",
            **members,
        }
        if instance is not None:
            backup["instance"] = instance
        else:
            backup["instance"] = None
            backup["source"] = {"type": "ha", "id": ha}
        if parent_id is not None:
            backup["parent_id"] = parent_id
        return self.call("POST", self.path("/backups"), body={"backup": backup})

    def show(self, backup_id: str, judge: bool = True) -> Exchange:
        return self.call("GET", self.path(f"/backups/{backup_id}"), judge=judge)

    def delete(self, backup_id: str, judge: bool = True) -> Exchange:
        return self.call("DELETE", self.path(f"/backups/{backup_id}"), judge=judge)

    def sources(self) -> list[Source]:
        """The instance and the HA instance the run may back up (those the target names)."""
        found = [
            Source("instance", self.target.instance_id or ""),
            Source("ha", self.target.ha_id or ""),
        ]
        return [source for source in found if source.id]


def _has_id(item: dict[str, Any]) -> bool:
    return isinstance(item.get("id"), str)


def _sent_json(body: Any, content: bytes | None) -> Any:
    """What a request's body holds, for the guard: the JSON sent, or the bytes read as JSON."""
    if body is not None or content is None:
        return body
    try:
        return json.loads(content)
    except ValueError:
        return None
