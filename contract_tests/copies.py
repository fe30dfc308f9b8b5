"""Copies of backups to another region (contract section 12), checked by hand: a copy of a
completed backup is accepted with an empty answer, made in the target region only (a new id, the
name asked), and completes there as its original's copy (the original's type, datastore, sizes,
source; the copy of its parent as its parent); a copy and its original live apart from then on;
the copies the contract refuses are refused (to the backup's own region, to LON, of an
incremental backup whose parent has no copy there, of a backup that has not ended, of a backup
that does not exist) and make nothing.

None of them needs the mock's clock: on a real service the suite waits for a copy as it waits
for a backup. They run where copies are allowed (`Target.copy_to`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from contract_tests.account import wait_until_ended
from contract_tests.checks import CheckFailed, check, checks_in, deleted_and_gone
from contract_tests.copying import Copied, find
from contract_tests.exchange import Exchange
from contract_tests.lifecycle import RUNNING
from contract_tests.pages import walk
from contract_tests.timeline import TimedOut

if TYPE_CHECKING:
    from contract_tests.api import Api

# What a copy carries over from its original, as it is (contract section 12).
SAME = ("type", "datastore", "flavor_ram", "volume_size", "instance_id", "source", "size")


@check
def copy_of_a_completed_backup_is_accepted(api: Api, made: Copied) -> None:
    """The copy action answers 202 with an empty body (the documented response)."""
    answer = made.answer
    if answer.status != 202 or answer.body.strip():
        raise CheckFailed(
            "A copy of a completed backup is not accepted as documented",
            f"a copy of {made.original_id} to {made.region} answered {answer.status} with"
            f" {len(answer.body)} bytes of body, not 202 with none",
            [answer],
        )


@check
def copy_is_absent_from_the_source_region(api: Api, made: Copied) -> None:
    """The backup's own region lists no new backup of the copy's name: the copy is made in the
    target region only."""
    items, exchanges = walk(api, api.path("/backups"))
    strays = [
        str(item["id"])
        for item in items
        if item.get("name") == made.name
        and item.get("id") != made.original_id
        and isinstance(item.get("id"), str)
    ]
    for stray in strays:  # the run's, to delete
        api.inventory.remember(stray)
    if strays:
        raise CheckFailed(
            "A copy is made in the backup's own region",
            f"after copying {made.original_id} to {made.region}, GET {api.path('/backups')}"
            f" lists {strays} named {made.name!r}",
            [made.answer, *exchanges],
        )


@check
def copy_is_listed_in_the_target_region(api: Api, made: Copied, there: Api) -> None:
    """The target region lists the copy: a backup named as asked, with an id of its own."""
    if made.copy is None:
        raise CheckFailed(
            "A copy is not made in the target region",
            f"copying {made.original_id} to {made.region} answered {made.answer.status}; then"
            f" GET {there.target.url(there.path('/backups'))} lists no backup named"
            f" {made.name!r}",
            [made.answer, *made.seen],
        )
    if made.copy_id == made.original_id:
        raise CheckFailed(
            "A copy keeps its original's id",
            f"the copy of {made.original_id} in {made.region} has the id {made.copy_id}",
            [made.answer, *made.seen],
        )


@check
def copy_completes_as_its_original(
    api: Api, made: Copied, there: Api, original: Mapping[str, Any], parent_id: str | None
) -> None:
    """The copy ends COMPLETED in the target region, within the timeline's timeout, with its
    original's type, datastore, flavor_ram, volume_size, instance_id, source and size; the name
    and description asked (else the original's); `parent_id`; `is_automated` 0."""
    try:
        wait_until_ended(there, made.copy_id)
    except TimedOut as timed_out:
        shown = there.show(made.copy_id)
        raise CheckFailed("A copy never ends", str(timed_out), [shown]) from timed_out
    shown = there.show(made.copy_id)
    copy = shown.document("backup")
    expected = {member: original.get(member) for member in SAME}
    expected.update(
        status="COMPLETED",
        name=made.name,
        description=made.asked.get("description", original.get("description")),
        parent_id=parent_id,
    )
    differences = [
        f"{member} is {copy.get(member)!r}, not {value!r}"
        for member, value in expected.items()
        if copy.get(member) != value
    ]
    automated = copy.get("is_automated")
    if not (automated is False or (type(automated) is int and automated == 0)):
        differences.append(f"is_automated is {automated!r}, not 0")
    if differences:
        raise CheckFailed(
            "A completed copy is not its original's copy",
            f"copy {made.copy_id} (in {made.region}) of {original.get('id')}: "
            + "; ".join(differences),
            [shown],
        )


@check
def incremental_copy_names_the_copy_of_its_parent(
    api: Api, made: Copied, there: Api, parent_copy_id: str
) -> None:
    """The copy of an incremental backup names, as its parent, the copy of its original's
    parent in the target region (in the list and in show)."""
    shown = there.show(made.copy_id)
    for where in ((made.copy or {}), shown.document("backup")):
        if where.get("parent_id") != parent_copy_id:
            raise CheckFailed(
                "The copy of an incremental backup does not name the copy of its parent",
                f"copy {made.copy_id} (in {made.region}) of {made.original_id} has the parent"
                f" {where.get('parent_id')!r}, not {parent_copy_id} (the parent's copy there)",
                [made.answer, *made.seen, shown],
            )


@check
def copy_of_an_incremental_whose_parent_has_no_copy_is_refused(
    api: Api, made: Copied, there: Api
) -> None:
    """An incremental backup whose parent has no copy in the target region: 400, and nothing is
    made there."""
    _refused(made, there, 400, "The copy of an incremental backup whose parent has no copy there")


@check
def copy_to_its_own_region_is_refused(api: Api, made: Copied) -> None:
    """A copy to the backup's own region: 400, and nothing is made there."""
    _refused(made, api, 400, "A copy to the backup's own region")


@check
def copy_to_lon_is_refused(api: Api, made: Copied, lon: Api) -> None:
    """A copy to LON (not supported): 400, and nothing is made there."""
    _refused(made, lon, 400, "A copy to LON")


@check
def copy_of_an_unknown_backup_is_not_found(api: Api, made: Copied, there: Api) -> None:
    """A copy of a backup the account does not have: 404, and nothing is made."""
    _refused(made, there, 404, "A copy of a backup that does not exist")


@check
def copy_of_an_unfinished_backup_is_refused(
    api: Api, made: Copied, there: Api, before: str, after: str
) -> None:
    """While a backup is NEW or BUILDING (`before` and `after` the try), a copy of it is 422,
    and nothing is made."""
    if before in RUNNING and after in RUNNING:
        _refused(made, there, 422, f"A copy of a backup that is {after}")


@check
def original_stays_when_its_copy_is_deleted(
    api: Api, there: Api, copy_id: str, original_id: str
) -> None:
    """Deleting a copy (202, then 404 and not listed in its region) leaves its original: shown
    and listed in its own region."""
    listed = there.path("/backups")
    answer = deleted_and_gone(there, "copy", f"{listed}/{copy_id}", lambda: walk(there, listed))
    original, exchanges, present = _still_there(api, original_id)
    if not present:
        raise CheckFailed(
            "Deleting a copy deleted its original",
            f"after DELETE of copy {copy_id} (in {there.target.region}), its original"
            f" {original_id} answers {original.status}",
            [answer, original, *exchanges],
        )


@check
def copy_stays_when_its_original_is_deleted(
    api: Api, there: Api, copy_id: str, original_id: str
) -> None:
    """Once its original is deleted (show answers 404), a copy is still shown and listed in its
    region."""
    original = api.show(original_id)
    if original.status != 404:
        return  # the original is still there: nothing to say of its copies
    shown, exchanges, present = _still_there(there, copy_id)
    if not present:
        raise CheckFailed(
            "Deleting a backup deleted its copy",
            f"original {original_id} was deleted; its copy {copy_id} in {there.target.region}"
            f" answers {shown.status}",
            [original, shown, *exchanges],
        )


def _still_there(api: Api, backup_id: str) -> tuple[Exchange, list[Exchange], bool]:
    """Show the backup and walk its region's list: the show, the list's exchanges, and whether
    it is both shown (200) and listed."""
    shown = api.show(backup_id)
    items, exchanges = walk(api, api.path("/backups"))
    listed = backup_id in [item.get("id") for item in items]
    return shown, exchanges, shown.status == 200 and listed


def _refused(made: Copied, there: Api, status: int, what: str) -> None:
    """The copy answered `status`, and `there` (where it would be) lists nothing of its name, as
    far as the run can read it there; a copy found there is the run's, to delete."""
    if made.answer.status != status:
        raise CheckFailed(
            f"{what} is not refused",
            f"copying {made.original_id} to {made.region} answered {made.answer.status}, not"
            f" {status}",
            [made.answer, *made.seen],
        )
    found, _ = find(there, made.name, strict=False)
    if found is not None:
        raise CheckFailed(
            f"{what} is refused, but made",
            f"copying {made.original_id} to {made.region} answered {status}; then"
            f" {there.target.region} lists {found.get('id')} named {made.name!r}",
            [made.answer],
        )


CHECKS = tuple(checks_in(sys.modules[__name__]))  # every check above, for "Not run"
