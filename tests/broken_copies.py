"""Broken variants of the mock's copies of backups to other regions (contract section 12), each
caught by the contract suite.

They change the mock's regions from the outside, through what each region's store offers the
copy action (`copyable`, `receive`) and every client (`get_backup`, `list_backups`,
`delete_backup`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Any

from broken_wrapper import (
    ACTION_PATH,
    REGIONAL_BACKUP_PATH,
    REGIONAL_BACKUPS_PATH,
    Answer,
    Broken,
    Request,
    authorized,
    edit_backups,
)

from mockserver.app import Mock
from mockserver.state.errors import MockError
from mockserver.state.models import RUNNING, Backup, CopyRequest
from mockserver.state.regions import NO_COPIES

EMPTY_202 = Answer(202, [], b"")


@dataclass(frozen=True)
class Asked:
    """A copy action, as the mock reads it once its schema has passed."""

    region: str  # the region it is sent to, whose backup is copied
    account: str
    backup_id: str
    copy: CopyRequest

    @property
    def target(self) -> str:
        return self.copy.target_region


def _region(mock: Mock, prefix: str | None) -> str:
    return prefix.upper() if prefix else mock.regions.own


def _asked(mock: Mock, request: Request) -> Asked | None:
    """The copy a request asks for, when its body is one the schema passes."""
    found = ACTION_PATH.match(request.path)
    document = request.json()
    if request.method != "POST" or found is None or not authorized(request):
        return None
    if not isinstance(document, dict) or set(document) != {"copy-backup"}:
        return None
    action = document["copy-backup"]
    if not isinstance(action, dict) or action.get("target_backup_region") not in mock.regions.codes:
        return None
    name, description = action.get("name"), action.get("description")
    if not all(value is None or isinstance(value, str) for value in (name, description)):
        return None
    copy = CopyRequest(action["target_backup_region"], name, description)
    return Asked(_region(mock, found["region"]), found["account"], found["id"], copy)


def _original(mock: Mock, asked: Asked) -> Backup | None:
    """The backup a copy action names (None: there is none)."""
    try:
        return mock.regions[asked.region].get_backup(asked.account, asked.backup_id)
    except MockError:
        return None


def _copyable(mock: Mock, asked: Asked) -> Backup | None:
    """The backup, when the source region lets it go (None: it refuses; the mock says so)."""
    try:
        return mock.regions[asked.region].copyable(asked.account, asked.backup_id, asked.target)
    except MockError:
        return None


def _receive(mock: Mock, region: str, asked: Asked, original: Backup) -> Answer | None:
    """Make a copy of `original` in `region`, whatever else the rules say; 202, or None when
    the region cannot take it (an incremental backup whose parent has no copy there)."""
    try:
        mock.regions[region].receive(
            asked.account, original, asked.region, None, mock.clock.now(), asked.copy
        )
    except MockError:
        return None
    return EMPTY_202


def _backups(mock: Mock, region: str, account: str) -> Iterator[Backup]:
    """Every backup of the account in the region, newest first."""
    marker = None
    while True:
        page = mock.regions[region].list_backups(account, marker=marker)
        yield from page.items
        if not page.more or not page.items:
            return
        marker = page.items[-1].id


def _copies_of(mock: Mock, region: str, account: str, origin: tuple[str, str]) -> list[str]:
    """The copies (ids, newest first) the region holds of the backup `origin` (region, id)."""
    return [b.id for b in _backups(mock, region, account) if b.copy_of == origin]


class CopyNotMade(Broken):
    """A copy of a full backup the mock would make answers 202, and nothing is made."""

    def before(self, request: Request) -> Answer | None:
        asked = _asked(self.mock, request)
        original = _copyable(self.mock, asked) if asked is not None else None
        if original is None or original.parent_id is not None:
            return None
        return EMPTY_202


class CopyMadeInTheSourceRegion(Broken):
    """A copy the mock would make is made in the backup's own region instead."""

    def before(self, request: Request) -> Answer | None:
        asked = _asked(self.mock, request)
        original = _copyable(self.mock, asked) if asked is not None else None
        if asked is None or original is None:
            return None
        return _receive(self.mock, asked.region, asked, original)


@dataclass
class CopyKeepsTheOriginalId(Broken):
    """A copy shows its original's id in its region (and answers to it there)."""

    shown_as: dict[tuple[str, str], str] = field(default_factory=dict)  # (region, copy) -> id
    known_as: dict[tuple[str, str], str] = field(default_factory=dict)  # (region, id) -> copy

    def before(self, request: Request) -> Answer | None:
        found = REGIONAL_BACKUP_PATH.match(request.path)
        key = (_region(self.mock, found["region"]), found["id"]) if found else None
        if found is not None and key in self.known_as:
            request.path = request.path.removesuffix(found["id"]) + self.known_as[key]
        return None

    def after(self, request: Request, answer: Answer) -> None:
        asked = _asked(self.mock, request)
        if asked is not None and answer.status == 202:
            origin = (asked.region, asked.backup_id)
            copy_id = _copies_of(self.mock, asked.target, asked.account, origin)[0]
            self.shown_as[(asked.target, copy_id)] = asked.backup_id
            self.known_as[(asked.target, asked.backup_id)] = copy_id
        found = REGIONAL_BACKUP_PATH.match(request.path) or REGIONAL_BACKUPS_PATH.match(
            request.path
        )
        if found is None:
            return
        region = _region(self.mock, found["region"])

        def disguise(backup: dict[str, Any]) -> None:
            backup["id"] = self.shown_as.get((region, backup.get("id", "")), backup.get("id"))

        edit_backups(answer, disguise)


class CopyParentNotRemapped(Broken):
    """The copy of an incremental backup names its original's parent, not that parent's copy."""

    def after(self, request: Request, answer: Answer) -> None:
        found = REGIONAL_BACKUP_PATH.match(request.path) or REGIONAL_BACKUPS_PATH.match(
            request.path
        )
        if request.method != "GET" or found is None:
            return
        region, account = _region(self.mock, found["region"]), found["account"]

        def unmapped(backup: dict[str, Any]) -> None:
            if not backup.get("parent_id"):
                return
            with suppress(MockError):
                origin = self.mock.regions[region].get_backup(account, backup["id"]).copy_of
                if origin is not None:
                    original = self.mock.regions[origin[0]].get_backup(account, origin[1])
                    backup["parent_id"] = original.parent_id

        edit_backups(answer, unmapped)


class IncrementalWithUncopiedParentAccepted(Broken):
    """An incremental backup whose parent has no copy in the target region is copied as a full
    one."""

    def before(self, request: Request) -> Answer | None:
        asked = _asked(self.mock, request)
        original = _copyable(self.mock, asked) if asked is not None else None
        if asked is None or original is None or original.parent_id is None:
            return None
        return _receive(self.mock, asked.target, asked, original) or _receive(
            self.mock, asked.target, asked, replace(original, parent_id=None)
        )


class LonAccepted(Broken):
    """A copy of a completed full backup to LON is made."""

    def before(self, request: Request) -> Answer | None:
        asked = _asked(self.mock, request)
        if asked is None or asked.target != NO_COPIES or asked.region == NO_COPIES:
            return None
        original = _original(self.mock, asked)
        if original is None or original.status != "COMPLETED":
            return None
        return _receive(self.mock, NO_COPIES, asked, original)


class RunningBackupCopied(Broken):
    """A copy of a backup that has not ended (NEW or BUILDING) is made."""

    def before(self, request: Request) -> Answer | None:
        asked = _asked(self.mock, request)
        if asked is None or NO_COPIES in (asked.region, asked.target):
            return None
        original = _original(self.mock, asked)
        if original is None or original.status not in RUNNING or asked.target == asked.region:
            return None
        return _receive(self.mock, asked.target, asked, original)


class CopyAnswered200WithABody(Broken):
    """A copy answers 200 with the copy, not 202 with no body."""

    def after(self, request: Request, answer: Answer) -> None:
        asked = _asked(self.mock, request)
        if asked is None or answer.status != 202:
            return
        origin = (asked.region, asked.backup_id)
        copy_id = _copies_of(self.mock, asked.target, asked.account, origin)[0]
        answer.status = 200
        answer.headers = [(b"content-type", b"application/json")]
        answer.replace_json({"backup": {"id": copy_id}})


class DeletingTheOriginalDeletesTheCopy(Broken):
    """Deleting a backup deletes its copies in the other regions (those that have ended)."""

    def after(self, request: Request, answer: Answer) -> None:
        found = REGIONAL_BACKUP_PATH.match(request.path)
        if request.method != "DELETE" or found is None or answer.status != 202:
            return
        origin = (_region(self.mock, found["region"]), found["id"])
        for code in self.mock.regions.codes:
            store = self.mock.regions[code]
            for copy_id in _copies_of(self.mock, code, found["account"], origin):
                with suppress(MockError):  # one still running stays
                    store.delete_backup(found["account"], copy_id)


class CopyToItsOwnRegionAccepted(Broken):
    """A copy of a completed full backup to its own region is made there."""

    def before(self, request: Request) -> Answer | None:
        asked = _asked(self.mock, request)
        if asked is None or asked.target != asked.region or asked.region == NO_COPIES:
            return None
        original = _original(self.mock, asked)
        if original is None or original.status != "COMPLETED":
            return None
        return _receive(self.mock, asked.region, asked, original)


class CopyCompletesWithoutItsSize(Broken):
    """A completed copy shows no size (its original has one)."""

    def after(self, request: Request, answer: Answer) -> None:
        found = REGIONAL_BACKUP_PATH.match(request.path) or REGIONAL_BACKUPS_PATH.match(
            request.path
        )
        if request.method != "GET" or found is None:
            return
        store = self.mock.regions[_region(self.mock, found["region"])]

        def sizeless(backup: dict[str, Any]) -> None:
            with suppress(MockError):
                copied = store.get_backup(found["account"], str(backup.get("id"))).copy_of
                if copied is not None and backup.get("status") == "COMPLETED":
                    backup["size"] = None

        edit_backups(answer, sizeless)


@dataclass
class DeletingTheCopyDeletesTheOriginal(Broken):
    """Deleting a copy deletes the backup it was copied from as well."""

    origins: dict[str, tuple[str, str]] = field(default_factory=dict)  # path -> (region, id)

    def before(self, request: Request) -> Answer | None:
        found = REGIONAL_BACKUP_PATH.match(request.path)
        if request.method == "DELETE" and found is not None:
            store = self.mock.regions[_region(self.mock, found["region"])]
            with suppress(MockError):
                origin = store.get_backup(found["account"], found["id"]).copy_of
                if origin is not None:
                    self.origins[request.path] = origin
        return None

    def after(self, request: Request, answer: Answer) -> None:
        origin = self.origins.pop(request.path, None)
        if origin is not None and answer.status == 202:
            account = request.path.split("/v1.0/")[1].split("/")[0]
            with suppress(MockError):  # one still running stays
                self.mock.regions[origin[0]].delete_backup(account, origin[1])
