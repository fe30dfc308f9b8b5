"""Restores and instance deletes (contract section 11), checked by hand: a restore of a completed
backup answers the new instance in BUILD, of the backup's datastore, listed at once; it cannot
be backed up or deleted while BUILD, and becomes ACTIVE; a deleted instance is gone (show, the
list, its backups' list) while its backups stay; a backup that has not ended cannot be restored.

None of them needs the mock's clock: on a real service the suite waits for the build, as it
waits for a backup. They run where restores are allowed (`Target.restores`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from contract_tests.checks import CheckFailed, check, checks_in, deleted_and_gone
from contract_tests.exchange import Exchange
from contract_tests.lifecycle import RUNNING, bracketed
from contract_tests.pages import walk
from contract_tests.restoring import (
    BUILD,
    datastore_of,
    listed,
    path,
    restore,
    show,
    status_of,
    wait_until_built,
)
from contract_tests.timeline import TimedOut

if TYPE_CHECKING:
    from contract_tests.api import Api


@check
def restore_of_a_completed_backup_is_accepted(
    api: Api, answer: Exchange, backup: Mapping[str, Any]
) -> None:
    """Create answers 200 with the new instance: an id, status BUILD, and the name, volume and
    flavor asked."""
    instance = answer.document("instance")
    if answer.status != 200 or not isinstance(instance.get("id"), str):
        raise CheckFailed(
            "A restore of a completed backup is not accepted",
            f"backup {backup.get('id')} is COMPLETED ({backup.get('size')} GB); the restore"
            f" answered {answer.status}, not 200 with an instance",
            [answer],
        )
    asked = _asked(answer)
    asked_volume = asked.get("volume")
    volume = instance.get("volume")
    flavor = instance.get("flavor")
    found = (
        instance.get("status"),
        instance.get("name"),
        volume.get("size") if isinstance(volume, dict) else None,
        str(flavor.get("id")) if isinstance(flavor, dict) else None,
    )
    expected = (
        BUILD,
        asked.get("name"),
        asked_volume.get("size") if isinstance(asked_volume, dict) else None,
        str(asked.get("flavorRef")),
    )
    if found != expected:
        raise CheckFailed(
            "A restored instance is not what was asked",
            f"status, name, volume size, flavor id are {found}, not {expected}",
            [answer],
        )


@check
def restored_instance_carries_the_backups_datastore(
    api: Api, answer: Exchange, backup: Mapping[str, Any]
) -> None:
    """The new instance's datastore is the backup's (type and version), in create's answer and
    in show, though the restore named none."""
    instance_id = str(answer.document("instance").get("id"))
    expected = datastore_of(backup)
    shown = show(api, instance_id)
    if not all(expected):
        raise CheckFailed(
            "A restored backup does not say its datastore",
            f"backup {backup.get('id')} has the datastore {backup.get('datastore')!r}: there is"
            " nothing to compare the restored instance's with",
            [answer, shown],
        )
    for where in (answer, shown):
        found = datastore_of(where.document("instance"))
        if found != expected:
            raise CheckFailed(
                "A restored instance does not carry its backup's datastore",
                f"{where.method} answered the datastore {found} for instance {instance_id};"
                f" backup {backup.get('id')} is {expected}",
                [answer, shown],
            )


@check
def restored_instance_is_listed(api: Api, instance_id: str) -> None:
    """GET /instances lists the new instance at once, while it is BUILD."""
    items, exchanges = listed(api)
    if instance_id not in [item.get("id") for item in items]:
        raise CheckFailed(
            "A restored instance is not listed",
            f"{instance_id} is not in GET {path(api)}",
            exchanges,
        )


@check
def backup_of_a_building_instance_is_refused(api: Api, instance_id: str) -> None:
    """While the instance is BUILD (before and after the try), a backup of it is 422."""
    before, seen = status_of(api, instance_id)
    answer = api.create(instance=instance_id)
    after, again = status_of(api, instance_id)
    if before == after == BUILD and answer.status != 422:
        raise CheckFailed(
            "A backup of an instance in BUILD is not refused",
            f"instance {instance_id} is BUILD; a backup of it answered {answer.status}, not 422",
            [seen, answer, again],
        )


@check
def delete_of_a_building_instance_is_refused(api: Api, instance_id: str) -> None:
    """While the instance is BUILD, DELETE is 422 and the instance stays (the WADL's note)."""
    before, seen = status_of(api, instance_id)
    answer = api.call("DELETE", path(api, instance_id))
    after = show(api, instance_id)
    if before == BUILD and (answer.status != 422 or after.status != 200):
        raise CheckFailed(
            "Deleting an instance in BUILD is not refused",
            f"instance {instance_id} was BUILD; DELETE answered {answer.status}, not 422, and"
            f" then show answered {after.status}",
            [seen, answer, after],
        )


@check
def restored_instance_becomes_active(api: Api, instance_id: str) -> None:
    """Once built, the instance is ACTIVE, within the timeline's timeout (--timeout) of the
    target's time."""
    try:
        status, shown = wait_until_built(api, instance_id)
    except TimedOut as timed_out:
        _, shown = status_of(api, instance_id)
        raise CheckFailed(
            "A restored instance never becomes ACTIVE", f"still BUILD: {timed_out}", [shown]
        ) from timed_out
    if status != "ACTIVE":
        raise CheckFailed(
            "A restored instance does not become ACTIVE",
            f"instance {instance_id} left BUILD for {status}",
            [shown],
        )


@check
def deleted_instance_is_gone_and_its_backups_stay(
    api: Api, instance_id: str, backup_ids: Iterable[str]
) -> None:
    """Delete answers 202; then show is 404, GET /instances leaves it out and its backups' list
    is 404, while its backups stay: shown with its `instance_id`, and listed."""
    answer = deleted_and_gone(api, "instance", path(api, instance_id), lambda: listed(api))
    theirs = api.call("GET", path(api, instance_id) + "/backups")
    if theirs.status != 404:
        raise CheckFailed(
            "A deleted instance's backups are still listed under it",
            f"GET {path(api, instance_id)}/backups answered {theirs.status}, not 404",
            [answer, theirs],
        )
    kept = list(backup_ids)
    for backup_id in kept:
        backup = api.show(backup_id)
        if backup.status != 200 or backup.document("backup").get("instance_id") != instance_id:
            raise CheckFailed(
                "Deleting an instance deleted its backups",
                f"after DELETE {instance_id}, its backup {backup_id} answers {backup.status}"
                f" with instance_id {backup.document('backup').get('instance_id')!r}",
                [answer, backup],
            )
    items, exchanges = walk(api, api.path("/backups"))
    missing = [i for i in kept if i not in [item.get("id") for item in items]]
    if missing:
        raise CheckFailed(
            "A deleted instance's backups are no longer listed",
            f"after DELETE {instance_id}, {missing} are not in GET {api.path('/backups')}",
            [answer, *exchanges],
        )


@check
def restore_of_an_unfinished_backup_is_refused(api: Api, backup_id: str) -> None:
    """While a backup is NEW or BUILDING (before and after the try), a restore of it is 422."""
    tried = bracketed(
        api, backup_id, lambda before: restore(api, {"id": backup_id, **before.document("backup")})
    )
    answer = tried.result
    if tried.throughout(RUNNING) and answer.status != 422:
        raise CheckFailed(
            "A restore of an unfinished backup is not refused",
            f"backup {backup_id} is {tried.statuses[-1]}; a restore of it answered"
            f" {answer.status}, not 422",
            [tried.before, answer, tried.after],
        )


def _asked(answer: Exchange) -> dict[str, Any]:
    """The instance a create asked for (the suite sends JSON)."""
    try:
        sent = json.loads(answer.sent_body)
    except ValueError:
        sent = None
    instance = sent.get("instance") if isinstance(sent, dict) else None
    return instance if isinstance(instance, dict) else {}


CHECKS = tuple(checks_in(sys.modules[__name__]))  # every check above, for "Not run"
