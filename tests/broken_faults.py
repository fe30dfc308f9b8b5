"""Broken variants of the mock's faults, each caught by the contract suite: each gets a fault
wrong. It serves what must be refused (an unknown token, another account's backup, a full quota,
a body too big, the delete of a running backup), refuses with what no operation documents (a
status, a fault's shape), says too little in a 400, ignores `Prefer: code=`, or fails a valid
create with a 500."""

from __future__ import annotations

import json

from broken_wrapper import (
    BACKUP_PATH,
    TOKEN,
    Answer,
    Broken,
    Request,
    authorized,
)


class AuthIgnored(Broken):
    """Any request is served as if it carried the right token."""

    def before(self, request: Request) -> Answer | None:
        request.headers = [(k, v) for k, v in request.headers if k.lower() != b"x-auth-token"]
        request.headers.append((b"x-auth-token", TOKEN.encode()))
        return None


class WrongFaultShape(Broken):
    def after(self, request: Request, answer: Answer) -> None:
        document = answer.json()
        if answer.status >= 400 and isinstance(document, dict) and len(document) == 1:
            fault = next(iter(document.values()))
            answer.replace_json({"error": {"status": answer.status, "text": fault.get("message")}})


class UndocumentedStatus(Broken):
    """A second backup while one runs is 409 Conflict, which no operation documents."""

    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "POST" and answer.status == 422:
            answer.status = 409
            answer.replace_json({"conflictingRequest": {"code": 409, "message": "busy"}})


class RunningDeleteAccepted(Broken):
    """Deleting a running backup answers 202 (and deletes nothing)."""

    def after(self, request: Request, answer: Answer) -> None:
        if request.method == "DELETE" and answer.status == 422:
            answer.status = 202
            answer.empty()


class NoQuota(Broken):
    """The account's backup quota is never enforced."""

    def before(self, request: Request) -> Answer | None:
        self.mock.store.quota = 10**9
        return None


class CrossAccountRead(Broken):
    """Show answers a backup of any account, through any account."""

    def before(self, request: Request) -> Answer | None:
        found = BACKUP_PATH.match(request.path)
        if request.method != "GET" or found is None or not authorized(request):
            return None
        for account in self.mock.store.snapshot()["accounts"].values():
            for backup in account.get("backups", []):
                if backup["id"] == found["id"]:
                    body = json.dumps({"backup": backup}).encode()
                    return Answer(200, [(b"content-type", b"application/json")], body)
        return None


class NonAsciiDescription500(Broken):
    """A create whose description is not ASCII fails with a 500."""

    def before(self, request: Request) -> Answer | None:
        document = request.json()
        backup = document.get("backup") if isinstance(document, dict) else None
        description = backup.get("description") if isinstance(backup, dict) else None
        if request.method == "POST" and isinstance(description, str) and not description.isascii():
            body = b'{"instanceFault": {"code": 500, "message": "ascii codec can\'t encode"}}'
            return Answer(500, [(b"content-type", b"application/json")], body)
        return None


class PreferIgnored(Broken):
    """`Prefer: code=` changes nothing: the request is answered as usual."""

    def before(self, request: Request) -> Answer | None:
        request.headers = [(k, v) for k, v in request.headers if k.lower() != b"prefer"]
        return None


class FirstViolationOnly(Broken):
    """A 400 names only the first violation it found."""

    def after(self, request: Request, answer: Answer) -> None:
        document = answer.json()
        fault = document.get("badRequest") if isinstance(document, dict) else None
        if answer.status == 400 and isinstance(fault, dict):
            message = str(fault.get("message", ""))
            fault["message"] = message.split("; ")[0]
            answer.replace_json(document)


class NoBodyLimit(Broken):
    """A body of any size is read and judged (its unknown members dropped)."""

    def before(self, request: Request) -> Answer | None:
        document = request.json()
        if len(request.body) > 64 * 1024 and isinstance(document, dict):
            backup = document.get("backup")
            if isinstance(backup, dict):
                known = ("name", "description", "instance", "source", "parent_id", "incremental")
                document["backup"] = {k: v for k, v in backup.items() if k in known}
                request.body = json.dumps(document).encode()
        return None
