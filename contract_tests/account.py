"""The account's own rules: its backup quota, and that other accounts cannot see its backups.

Both are checked by hand, every run, rather than left to fuzzing: a broken quota or a leak
between accounts is found on one run and missed on the next when only luck sends the request
that shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from contract_tests.checks import CheckFailed, check
from contract_tests.exchange import Exchange
from contract_tests.lifecycle import ENDED
from contract_tests.pages import walk

if TYPE_CHECKING:
    from contract_tests.api import Api
    from contract_tests.source import Source

QUOTA_MESSAGE = "Quota exceeded for resources: ['backups']."  # contract section 3
# On a mock whose quota was not given, backups are created until one is refused; a mock whose
# quota is higher than this is told to say so (--quota N).
MOCK_QUOTA_CAP = 200


def count_backups(api: Api) -> tuple[int, list[Exchange]]:
    items, exchanges = walk(api, api.path("/backups"))
    return len(items), exchanges


def wait_until_ended(api: Api, backup_id: str) -> None:
    def ended() -> bool:
        shown = api.show(backup_id)
        return shown.status != 200 or shown.document("backup").get("status") in ENDED

    api.timeline.wait_for(ended, f"backup {backup_id} to end")


@check
def quota_is_enforced(api: Api, sources: list[Source], quota: int | None) -> None:
    """Once the account holds its quota of backups, a create is 413 `overLimit` with the
    documented message and no Retry-After, and it creates nothing."""
    held, _ = count_backups(api)
    most = quota - held if quota is not None else MOCK_QUOTA_CAP
    for made in range(max(most, 0) + 1):
        source = sources[made % len(sources)]
        answer = source.create(api)
        if answer.status == 413:
            break
        if answer.status != 202:
            raise CheckFailed(
                "A create on the way to the quota is refused",
                f"with {held + made} backups in the account, a backup of {source} answered"
                f" {answer.status}, not 202 (or 413 at the quota)",
                [answer],
            )
        wait_until_ended(api, answer.document("backup")["id"])
    else:
        where = f"its quota of {quota}" if quota is not None else f"{MOCK_QUOTA_CAP} backups"
        raise CheckFailed(
            "The backup quota is not enforced",
            f"the account holds {held + most + 1} backups, past {where}, and the last create"
            f" still answered {answer.status}"
            + ("" if quota is not None else " (a mock with a higher quota: give --quota N)"),
            [answer],
        )
    if quota is not None and held + made != quota:
        raise CheckFailed(
            "The quota is not the one given",
            f"the create refused with 413 was number {held + made + 1}; --quota says {quota}",
            [answer],
        )
    message = answer.json()
    fault = message.get("overLimit", {}) if isinstance(message, dict) else {}
    if not isinstance(fault, dict) or fault.get("message") != QUOTA_MESSAGE:
        raise CheckFailed(
            "The quota's 413 does not say so",
            f"the message is {fault.get('message') if isinstance(fault, dict) else fault!r},"
            f" not {QUOTA_MESSAGE!r}",
            [answer],
        )
    if answer.header("retry-after") is not None:
        raise CheckFailed(
            "The quota's 413 has a Retry-After",
            "waiting does not free a quota: only a delete does",
            [answer],
        )
    # Refused again, it must leave the list as it was (counted the same way both times, so that
    # a list that pages wrongly does not pass for a create that was not refused).
    full, _ = count_backups(api)
    again = source.create(api)
    after, exchanges = count_backups(api)
    if again.status != 413 or after != full:
        raise CheckFailed(
            "A create refused for the quota created a backup",
            f"the account listed {full} backups; a create answered {again.status}; then it listed"
            f" {after}",
            [again, *exchanges],
        )


@check
def other_accounts_cannot_see_a_backup(api: Api, other: Api, backup_id: str) -> None:
    """A backup of the account under test is 404 through another account: show, delete, and
    it is in none of that account's lists (contract section 5)."""
    shown = other.show(backup_id)
    if shown.status != 404:
        raise CheckFailed(
            "Another account sees the backup",
            f"GET {backup_id} through account {other.target.account} answered {shown.status},"
            " not 404",
            [shown],
        )
    deleted = other.delete(backup_id)
    mine = api.show(backup_id)
    if deleted.status != 404 or mine.status != 200:
        raise CheckFailed(
            "Another account can delete the backup",
            f"DELETE through account {other.target.account} answered {deleted.status}; the"
            f" backup's own account now answers {mine.status}",
            [deleted, mine],
        )
    items, exchanges = walk(other, other.path("/backups"))
    if backup_id in [item.get("id") for item in items]:
        raise CheckFailed(
            "Another account lists the backup",
            f"{backup_id} is in account {other.target.account}'s list",
            exchanges,
        )
