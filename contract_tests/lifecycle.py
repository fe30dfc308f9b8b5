"""The lifecycle of a backup, as the checks see it: a created backup shows where it should, its
source is BACKUP while it runs and ACTIVE once it ends, a second backup and a delete are
refused while it runs, and a delete takes its incremental descendants along."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from contract_tests.checks import CheckFailed, check, checks_in
from contract_tests.exchange import Exchange
from contract_tests.pages import walk

if TYPE_CHECKING:
    from contract_tests.api import Api
    from contract_tests.source import Source

RUNNING = ("NEW", "BUILDING")
ENDED = ("COMPLETED", "FAILED")
T = TypeVar("T")


@dataclass(frozen=True)
class Bracketed(Generic[T]):
    """An action between two looks at a backup: what a rule that holds "while a backup runs"
    (or "once it ended") is judged on, only when both looks agree."""

    before: Exchange
    result: T
    after: Exchange

    @property
    def statuses(self) -> tuple[Any, Any]:
        return (_status(self.before), _status(self.after))

    def throughout(self, phase: Sequence[str]) -> bool:
        """Whether the backup was in `phase` (RUNNING, ENDED) at both looks."""
        return all(status in phase for status in self.statuses)


def bracketed(api: Api, backup_id: str, action: Callable[[Exchange], T]) -> Bracketed[T]:
    """Show the backup, do `action` (given that first look), show it again."""
    before = api.show(backup_id)
    result = action(before)
    return Bracketed(before, result, api.show(backup_id))


def _status(shown: Exchange) -> Any:
    return shown.document("backup").get("status")


@check
def backup_of_an_idle_source_is_accepted(api: Api, answer: Exchange, source: Source) -> None:
    backup = answer.document("backup")
    if answer.status != 202 or not isinstance(backup.get("id"), str):
        raise CheckFailed(
            "A backup of an idle source is not accepted",
            f"{source} runs no backup of the suite's; create answered {answer.status}, not 202"
            " with a backup",
            [answer],
        )


@check
def incremental_backup_names_its_parent(api: Api, answer: Exchange, parent_id: str) -> None:
    backup = answer.document("backup")
    found = (backup.get("parent_id"), backup.get("type"))
    if found != (parent_id, "InnoBackupExIncremental"):
        raise CheckFailed(
            "An incremental backup does not name its parent",
            f"parent_id, type are {found}, not ({parent_id!r}, 'InnoBackupExIncremental')",
            [answer],
        )


@check
def incremental_flag_chains_to_the_newest_completed_backup(
    api: Api, answer: Exchange, newest_id: str
) -> None:
    """`incremental: 1` without `parent_id` makes an incremental backup whose parent is the
    newest COMPLETED backup of the same source (contract section 3)."""
    backup = answer.document("backup")
    found = (answer.status, backup.get("parent_id"), backup.get("type"))
    if found != (202, newest_id, "InnoBackupExIncremental"):
        raise CheckFailed(
            "`incremental: 1` does not chain to the newest completed backup",
            f"status, parent_id, type are {found}, not (202, {newest_id!r},"
            " 'InnoBackupExIncremental')",
            [answer],
        )


@check
def text_beyond_ascii_is_accepted_and_kept(
    api: Api, answer: Exchange, name: str, description: str
) -> None:
    """A name and a description that are not ASCII are accepted, and show returns them as
    they were sent."""
    if answer.status != 202:
        raise CheckFailed(
            "A backup whose text is not ASCII is refused",
            f"create answered {answer.status}, not 202",
            [answer],
        )
    shown = api.show(str(answer.document("backup").get("id")))
    for where in (answer, shown):
        backup = where.document("backup")
        if (backup.get("name"), backup.get("description")) != (name, description):
            raise CheckFailed(
                "Text that is not ASCII is not kept as sent",
                f"name, description are {backup.get('name')!r}, {backup.get('description')!r}",
                [answer, shown],
            )


@check
def created_backup_is_visible(api: Api, backup: dict[str, Any], source: Source) -> None:
    """Show answers it, and it is in the account's list, its source's list and no other."""
    backup_id = backup["id"]
    shown = api.show(backup_id)
    document = shown.document("backup")
    if shown.status != 200 or document.get("id") != backup_id:
        raise CheckFailed("Created backup cannot be shown", f"show answered {shown}", [shown])
    for member in ("name", "source", "parent_id", "instance_id"):
        if document.get(member) != backup.get(member):
            raise CheckFailed(
                "Show disagrees with create",
                f"{member} is {document.get(member)!r} in show, {backup.get(member)!r} in create",
                [shown],
            )
    lists = [api.path("/backups"), source.list_path(api)]
    datastore = document.get("datastore", {}).get("type")
    if isinstance(datastore, str):
        lists.append(api.path("/backups") + f"?datastore={datastore}")
    for path in lists:
        items, exchanges = walk(api, path)
        if backup_id not in [item.get("id") for item in items]:
            raise CheckFailed(
                "Created backup is missing from a list", f"{backup_id} is not in {path}", exchanges
            )
    for other in source.others(api):
        items, exchanges = walk(api, other.list_path(api))
        if backup_id in [item.get("id") for item in items]:
            raise CheckFailed(
                "Backup is listed under a source it is not from",
                f"{backup_id} (of {source}) is in {other.list_path(api)}",
                exchanges,
            )


@check
def target_is_busy_while_backup_runs(api: Api, backup_id: str, source: Source) -> None:
    """While the backup is NEW or BUILDING (before and after the look), its source is BACKUP."""
    looked = bracketed(api, backup_id, lambda _: source.state(api))
    state, seen = looked.result
    if looked.throughout(RUNNING) and state != "BACKUP":
        raise CheckFailed(
            f"{source.kind_name} is not BACKUP while its backup runs",
            f"backup {backup_id} is {looked.statuses[1]}, {source} is {state}",
            [looked.before, seen, looked.after],
        )


@check
def target_is_active_after_backup_ends(api: Api, backup_id: str, source: Source) -> None:
    shown = api.show(backup_id)
    status = shown.document("backup").get("status")
    if status not in ENDED:
        raise CheckFailed("Backup has not ended", f"{backup_id} is {status}", [shown])
    state, seen = source.state(api)
    if state != "ACTIVE":
        raise CheckFailed(
            f"{source.kind_name} does not return to ACTIVE",
            f"backup {backup_id} is {status}, {source} is still {state}",
            [shown, seen],
        )


@check
def completed_backup_has_size_and_location(api: Api, backup_id: str) -> None:
    shown = api.show(backup_id)
    backup = shown.document("backup")
    if backup.get("status") != "COMPLETED":
        return
    location = backup.get("locationRef")
    size = backup.get("size")
    if not isinstance(size, int | float) or isinstance(size, bool):
        raise CheckFailed("Completed backup has no size", f"size is {size!r}", [shown])
    if not isinstance(location, str) or not location.endswith(f"/{backup_id}.xbstream.gz"):
        raise CheckFailed(
            "Completed backup has no location of its own", f"locationRef is {location!r}", [shown]
        )


@check
def second_backup_is_refused_while_one_runs(
    api: Api, running_id: str, source: Source, parent_id: str | None = None
) -> None:
    """While a backup of a source runs (before and after the try), another one is 422."""
    tried = bracketed(api, running_id, lambda _: source.create(api, parent_id))
    again = tried.result
    if tried.throughout(RUNNING) and again.status != 422:
        raise CheckFailed(
            "A second backup while one runs is not refused",
            f"backup {running_id} of {source} is {tried.statuses[1]}; another create answered"
            f" {again.status}, not 422",
            [tried.before, again],
        )


# -- delete ----------------------------------------------------------------------------------


@check
def running_backup_delete_is_refused(api: Api, backup_id: str, chain: Sequence[str]) -> None:
    """Deleting a backup whose chain (it and its descendants) still runs is 422 and removes none."""
    answer = api.delete(backup_id)
    if answer.status != 422:
        raise CheckFailed(
            "Deleting a running backup is not refused",
            f"DELETE {backup_id} answered {answer.status}, not 422, while {list(chain)} runs",
            [answer],
        )
    for member in chain:
        shown = api.show(member)
        if shown.status != 200:
            raise CheckFailed(
                "A refused delete removed something",
                f"after the 422, {member} answers {shown.status}",
                [answer, shown],
            )


@check
def deleted_backup_and_descendants_are_gone(
    api: Api, backup_id: str, descendants: Sequence[str], source: Source
) -> None:
    answer = api.delete(backup_id)
    if answer.status != 202:
        raise CheckFailed(
            "Delete is not accepted", f"DELETE {backup_id} answered {answer}", [answer]
        )
    doomed = [backup_id, *descendants]
    for member in doomed:
        shown = api.show(member)
        if shown.status != 404:
            what = "deleted backup" if member == backup_id else "descendant of a deleted backup"
            raise CheckFailed(
                f"A {what} can still be shown",
                f"after DELETE {backup_id}, GET {member} answers {shown.status}, not 404",
                [answer, shown],
            )
    for path in (api.path("/backups"), source.list_path(api)):
        items, exchanges = walk(api, path)
        left = [item.get("id") for item in items if item.get("id") in doomed]
        if left:
            raise CheckFailed(
                "A deleted backup is still listed", f"{left} still in {path}", [answer, *exchanges]
            )


CHECKS = tuple(checks_in(sys.modules[__name__]))  # every check above, for "Not run"
