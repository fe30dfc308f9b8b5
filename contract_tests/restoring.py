"""Restores as the checks reach them (contract section 11): the request, the backup a run
restores, the flavor it asks for, and an instance's build.

A restore is `POST /instances` with `restorePoint: {"backupRef": <backup id>}`: it makes a new
instance (a real one on a real service), BUILD until it is ready, then ACTIVE, of the backup's
datastore. Every instance the run makes is named with the run's prefix (so that cleanup finds
one whose answer a stop cut off) and is the run's to delete.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from contract_tests.exchange import Exchange
from contract_tests.lifecycle import ENDED
from contract_tests.pages import walk

if TYPE_CHECKING:
    from contract_tests.api import Api

BUILD = "BUILD"
# An instance's datastore when the create names none and restores nothing (contract section 11):
# a restore that ignores its backup's datastore ends up with it.
DEFAULT_DATASTORE = ("mysql", "5.6")
MAX_VOLUME = 150  # GB: the largest volume the contract allows, so the largest backup a run restores
FALLBACK_FLAVOR = "1"  # the WADL examples' flavor, when the target lists none


def path(api: Api, instance_id: str | None = None) -> str:
    return api.path("/instances" + (f"/{instance_id}" if instance_id is not None else ""))


def show(api: Api, instance_id: str, judge: bool = True) -> Exchange:
    return api.call("GET", path(api, instance_id), judge=judge)


def status_of(api: Api, instance_id: str) -> tuple[str, Exchange]:
    shown = show(api, instance_id)
    return str(shown.document("instance").get("status")), shown


def listed(api: Api) -> tuple[list[dict[str, Any]], list[Exchange]]:
    return walk(api, path(api), member="instances")


def datastore_of(document: Mapping[str, Any]) -> tuple[str, str]:
    """The (type, version) of a backup's or an instance's `datastore`."""
    datastore = document.get("datastore")
    if not isinstance(datastore, dict):
        return ("", "")
    return (str(datastore.get("type", "")), str(datastore.get("version", "")))


def volume_for(backup: Mapping[str, Any]) -> int:
    """The smallest volume (whole GB, at least 1) that holds the backup."""
    size = backup.get("size")
    needed = math.ceil(size) if isinstance(size, int | float) and not isinstance(size, bool) else 1
    return max(1, needed)


def flavor_ids(api: Api) -> list[int]:
    """The flavors the target lists, smallest first (a restore asks for the first)."""
    answer = api.call("GET", api.path("/flavors"), judge=False)
    body = answer.json() if answer.status == 200 else None
    found = body.get("flavors") if isinstance(body, dict) else None
    flavors = [f for f in found or [] if isinstance(f, dict) and isinstance(f.get("id"), int)]
    return [f["id"] for f in sorted(flavors, key=lambda f: (f.get("ram") or 0, f["id"]))]


def restorable(api: Api) -> dict[str, Any] | None:
    """The backup a run restores: the account's smallest COMPLETED backup that fits a volume,
    of a datastore other than the default when one is there (so that a restore that ignores
    its backup's datastore shows), else the smallest of any. A restore only reads it."""
    items, _ = walk(api, api.path("/backups"))
    fitting = [
        b
        for b in items
        if b.get("status") == "COMPLETED"
        and isinstance(b.get("id"), str)
        and volume_for(b) <= MAX_VOLUME
    ]
    if not fitting:
        return None
    fitting.sort(key=lambda b: (datastore_of(b) == DEFAULT_DATASTORE, volume_for(b), b["id"]))
    return fitting[0]


def restore(api: Api, backup: Mapping[str, Any], **members: Any) -> Exchange:
    """Restore `backup` into a new instance of the first flavor the target lists, on the
    smallest volume that holds it; `members` are added to the request's instance."""
    flavors = flavor_ids(api)
    instance: dict[str, Any] = {
        "name": api.new_name(),
        "flavorRef": str(flavors[0]) if flavors else FALLBACK_FLAVOR,
        "volume": {"size": volume_for(backup)},
        "restorePoint": {"backupRef": backup["id"]},
        **members,
    }
    return api.call("POST", path(api), body={"instance": instance})


def wait_until_built(api: Api, instance_id: str) -> tuple[str, Exchange]:
    """Let time pass until the instance is no longer BUILD (`TimedOut` after the timeline's
    timeout); its status then, and the exchange that read it."""
    seen: list[tuple[str, Exchange]] = []

    def built() -> bool:
        seen.append(status_of(api, instance_id))
        return seen[-1][0] != BUILD

    api.timeline.wait_for(built, f"instance {instance_id} to be built")
    return seen[-1]


def backup_and_wait(api: Api, instance_id: str) -> Exchange:
    """Back up the instance and wait until the backup ended; the create's answer."""
    answer = api.create(instance=instance_id)
    backup_id = answer.document("backup").get("id")
    if answer.status != 202 or not isinstance(backup_id, str):
        return answer

    def ended() -> bool:
        shown = api.show(backup_id)
        return shown.status != 200 or shown.document("backup").get("status") in ENDED

    api.timeline.wait_for(ended, f"backup {backup_id} to end")
    return answer
