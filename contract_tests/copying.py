"""Copies as the checks reach them (contract section 12): the request, the region copies go to,
finding a copy there, and the backup a fuzzed copy copies.

A copy is `POST /backups/{backupId}/action` with `{"copy-backup": {"target_backup_region": ...}}`:
a new backup of the account in the target region, with a new id. The answer (202) has no body:
the copy is found by listing the target region's backups (newest first) for the new one with the
name asked, or, when none was asked, the original's. Every copy the run asks for is named with
the run's prefix (its original's name has it too), so that cleanup finds one that a stop kept the
run from finding; a copy found is the run's to delete from then on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from contract_tests.exchange import Exchange
from contract_tests.guard import NO_COPIES
from contract_tests.pages import walk
from contract_tests.regions import NO_COPIES as NOT_COPIED
from contract_tests.target import Target

if TYPE_CHECKING:
    from contract_tests.api import Api

DESCRIPTION = "Copied by contract-tests; it deletes it itself."
FULL = "InnoBackupEx"


@dataclass
class Copied:
    """A copy the run asked for, and what became of it."""

    answer: Exchange
    original_id: str
    region: str  # the region asked for
    name: str  # what the copy is called: the name asked, else its original's
    asked: dict[str, Any] = field(default_factory=dict)  # the copy-backup action sent
    copy: dict[str, Any] | None = None  # as the region lists it (None: not there)
    seen: list[Exchange] = field(default_factory=list)  # the lists it was looked for in

    @property
    def copy_id(self) -> str:
        return str((self.copy or {}).get("id"))


def path(api: Api, backup_id: str) -> str:
    return api.path(f"/backups/{backup_id}/action")


def why_not(target: Target) -> str | None:
    """Why the run copies no backup (None: it does)."""
    if target.read_only:
        return "read-only: no backup is copied"
    if target.region == NOT_COPIED:
        return "the target is in LON, whose backups cannot be copied (contract section 12)"
    if target.copy_to is None:
        return NO_COPIES
    return None


def destination(api: Api) -> Api:
    """The run in the region it copies to."""
    assert api.target.copy_to is not None, "copies are not allowed"
    there = api.in_region(api.target.copy_to.code)
    assert there is not None  # the region copies go to is one the run reaches
    return there


def request(api: Api, backup_id: str, region: str, **members: Any) -> Exchange:
    """Ask for a copy of the backup in `region`, named by the run unless `members` say
    otherwise (a member given as None is left out: the copy takes the original's)."""
    asked: dict[str, Any] = {
        "target_backup_region": region,
        "name": api.new_name(),
        "description": DESCRIPTION,
        **members,
    }
    action = {name: value for name, value in asked.items() if value is not None}
    return api.call("POST", path(api, backup_id), body={"copy-backup": action})


def copy(
    api: Api, there: Api, original: Mapping[str, Any], region: str | None = None, **members: Any
) -> Copied:
    """Copy `original` (a backup of `api`'s region) to `region` (by default `there`'s), and
    look for the copy in `there` once the answer is a success."""
    code = region or str(there.target.region)
    answer = request(api, str(original["id"]), code, **members)
    asked = _asked(answer)
    name = asked.get("name") if isinstance(asked.get("name"), str) else original.get("name")
    made = Copied(answer, str(original["id"]), code, str(name), asked)
    if 200 <= answer.status < 300:
        made.copy, made.seen = find(there, made.name)
    return made


def find(api: Api, name: str, strict: bool = True) -> tuple[dict[str, Any] | None, list[Exchange]]:
    """The newest backup of `api`'s region called `name` that the run has not found before, and
    the exchanges that looked; a backup found is the run's from then on. Not `strict`: a region
    whose list cannot be read (LON, whose accounts may be apart) holds nothing to find."""
    if strict:
        items, exchanges = walk(api, api.path("/backups"))
    else:
        items, exchanges = list(api.items(api.path("/backups"), "backups")), []
    for item in items:
        item_id = item.get("id")
        mine = isinstance(item_id, str) and not api.inventory.owns(item_id)
        if item.get("name") == name and mine:
            api.inventory.remember(str(item_id))
            return item, exchanges
    return None, exchanges


def copyable(api: Api) -> dict[str, Any] | None:
    """The backup a fuzzed copy copies: the account's smallest COMPLETED full backup (a copy
    only reads it)."""
    items, _ = walk(api, api.path("/backups"))
    full = [
        b
        for b in items
        if b.get("status") == "COMPLETED"
        and b.get("parent_id") is None
        and b.get("type") == FULL
        and isinstance(b.get("id"), str)
    ]
    full.sort(key=lambda b: (_size(b), b["id"]))
    return full[0] if full else None


def _size(backup: Mapping[str, Any]) -> float:
    size = backup.get("size")
    return float(size) if isinstance(size, int | float) and not isinstance(size, bool) else 0.0


def _asked(answer: Exchange) -> dict[str, Any]:
    """The copy-backup action a request asked for (the suite sends JSON)."""
    try:
        sent = json.loads(answer.sent_body)
    except ValueError:
        sent = None
    action = sent.get("copy-backup") if isinstance(sent, dict) else None
    return action if isinstance(action, dict) else {}
