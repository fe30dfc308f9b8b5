"""What every broken variant of the mock is made of: an ASGI wrapper around a true mock that sees
each API request and the mock's answer, and may change either (the variants are in
broken_mocks.py, broken_faults.py, broken_schedules.py, broken_restores.py and broken_copies.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mockserver.app import Mock
from mockserver.asgi import Message, Receive, Scope, Send

TOKEN = "contract-tests"
ACCOUNT = "1234"
OTHER_ACCOUNT = "5678"
BACKUP_PATH = re.compile(r"^/v1\.0/(?P<account>[^/]+)/backups/(?P<id>[^/]+)$")
BACKUPS_PATH = re.compile(r"^/v1\.0/[^/]+/backups$")
HA_PATH = re.compile(r"^/v1\.0/[^/]+/ha/[^/]+$")
INSTANCE_PATH = re.compile(r"^/v1\.0/[^/]+/instances/(?P<id>[^/]+)$")
SOURCE_LIST_PATH = re.compile(r"^/v1\.0/[^/]+/instances/[^/]+/backups$")
SCHEDULES_PATH = re.compile(r"^/v1\.0/(?P<account>[^/]+)/schedules$")
SCHEDULE_PATH = re.compile(r"^/v1\.0/(?P<account>[^/]+)/schedules/(?P<id>[^/]+)$")
INSTANCES_PATH = re.compile(r"^/v1\.0/(?P<account>[^/]+)/instances$")
# A region's own paths (contract section 12): `/iad/v1.0/...`, or the mock's own region's.
REGIONAL = r"^(?:/(?P<region>[a-z]{3}))?/v1\.0/(?P<account>[^/]+)"
ACTION_PATH = re.compile(REGIONAL + r"/backups/(?P<id>[^/]+)/action$")
REGIONAL_BACKUP_PATH = re.compile(REGIONAL + r"/backups/(?P<id>[^/]+)$")
REGIONAL_BACKUPS_PATH = re.compile(REGIONAL + r"/backups$")
DEFAULT_DATASTORE = {"type": "mysql", "version": "5.6"}  # a create's, when it names none


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def replace_json(self, document: Any) -> None:
        self.body = json.dumps(document).encode()

    def empty(self) -> None:
        self.body = b""
        self.headers = [(k, v) for k, v in self.headers if k.lower() != b"content-type"]


@dataclass
class Broken:
    """A true mock behind a wrapper; subclasses override `before` and `after`."""

    mock: Mock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock"):
            await self.mock(scope, receive, send)
            return
        request = Request(
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode(),
            list(scope.get("headers", [])),
            await read_body(receive),
        )
        early = self.before(request)
        if early is not None:
            await send_answer(send, early)
            return
        headers = [(k, v) for k, v in request.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(request.body)).encode()))
        scope = {**scope, "headers": headers}
        if request.path != scope["path"]:  # `before` sent it elsewhere
            scope.update(path=request.path, raw_path=request.path.encode())
        answer = await capture(self.mock, scope, replay(request.body))
        self.after(request, answer)
        await send_answer(send, answer)

    def before(self, request: Request) -> Answer | None:
        """An answer that replaces the mock's, or None to ask the mock (and `after` it) for
        the request, which it may change (its body, its path)."""
        return None

    def after(self, request: Request, answer: Answer) -> None:
        """Change the mock's answer in place."""


def backups_of(document: Any) -> list[dict[str, Any]]:
    """The backup documents in an API answer: `{"backup": ...}` or `{"backups": [...]}`."""
    if not isinstance(document, dict):
        return []
    if isinstance(document.get("backup"), dict):
        return [document["backup"]]
    return [b for b in document.get("backups", []) if isinstance(b, dict)]


def edit_backups(answer: Answer, edit: Callable[[dict[str, Any]], None]) -> None:
    document = answer.json()
    found = backups_of(document)
    for backup in found:
        edit(backup)
    if found:
        answer.replace_json(document)


def authorized(request: Request) -> bool:
    return any(k.lower() == b"x-auth-token" and v for k, v in request.headers)


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes) -> Receive:
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return messages.pop() if messages else {"type": "http.disconnect"}

    return receive


async def capture(app: Mock, scope: Scope, receive: Receive) -> Answer:
    answer = Answer(500, [], b"")
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    answer.body = b"".join(chunks)
    return answer


async def send_answer(send: Send, answer: Answer) -> None:
    headers = [(k, v) for k, v in answer.headers if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})
