"""Helpers of the direct path's tests (test_direct.py, test_direct_flow.py): a fresh mock served
by real uvicorn in the test's own event loop, behind `Counting`, which counts the requests that
reach the ASGI app (0 for a request answered directly), and raw HTTP/1.1 on one connection."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import uvicorn
from fixture_ids import MYSQL, PERCONA_BACKUP

from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.asgi import Receive, Scope, Send
from mockserver.http.transport import protocol_class

T = TypeVar("T")
TIMEOUT = 30.0  # seconds: only an upper bound, for a slow loaded machine
BASE = "/v1.0/1234"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
FROZEN_AT = 1_700_000_000.5
CREATE = json.dumps({"backup": {"name": "snap", "instance": MYSQL}}).encode()


def request(
    method: str, path: str, body: bytes | None = None, *headers: str, token: bool = True
) -> bytes:
    """A request as sent on the wire; a body goes with its JSON type and its length."""
    lines = [f"{method} {path} HTTP/1.1", "Host: mock.test:8779"]
    if token:
        lines.append("X-Auth-Token: direct-token")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return "\r\n".join([*lines, *headers, "", ""]).encode() + (body or b"")


def show(backup_id: str = PERCONA_BACKUP, *headers: str) -> bytes:
    return request("GET", f"{BASE}/backups/{backup_id}", None, *headers)


CLOCK = request("GET", "/__mock/clock", token=False)


async def read_answer(reader: asyncio.StreamReader) -> bytes:
    """One whole answer (head and body, by its Content-Length), as it came."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    length = int(headers_of(head).get("content-length", "0"))
    return head + await asyncio.wait_for(reader.readexactly(length), TIMEOUT)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def headers_of(answer: bytes) -> dict[str, str]:
    lines = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {name.lower(): value.strip() for name, _, value in (x.partition(":") for x in lines)}


def body_of(answer: bytes) -> Any:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


def without_date(answer: bytes) -> bytes:
    head, body = answer.split(b"\r\n\r\n", 1)
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"date:")]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class Counting:
    """The mock as uvicorn's app, counting the HTTP requests the ASGI cycle brings it."""

    def __init__(self, mock: Mock) -> None:
        self.mock = mock
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls += 1
        await self.mock(scope, receive, send)


async def until(condition: Callable[[], bool]) -> None:
    """Wait for `condition`, at most TIMEOUT seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not condition():
        assert loop.time() < deadline, "timed out waiting for a condition"
        await asyncio.sleep(0.01)


@dataclass
class Connection:
    """A client's connection to the server, and what the server's ASGI app has seen."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    app: Counting
    server: uvicorn.Server

    async def answer(self) -> bytes:
        return await read_answer(self.reader)

    async def exchange(self, *requests: bytes) -> list[bytes]:
        """The answers to `requests`, each sent once the one before it is answered."""
        answers = []
        for sent in requests:
            self.writer.write(sent)
            answers.append(await self.answer())
        return answers


def serve(
    mock: Mock, client: Callable[[Connection], Awaitable[T]], *, direct: bool = True, **options: Any
) -> T:
    """`client` run on a connection to uvicorn serving `mock` with the mock's protocol, with the
    direct path (as the CLI serves) or without it, in one event loop."""

    async def main() -> T:
        app = Counting(mock)
        config = uvicorn.Config(
            app,
            http=protocol_class(mock.gateway.faults, mock.answer_now if direct else None),
            lifespan="off",
            log_config=None,
            **{"log_level": "error", **options},
        )
        server = uvicorn.Server(config)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        writer = None
        try:
            await until(lambda: server.started or serving.done())
            assert server.started, "uvicorn did not start"
            opening = asyncio.open_connection("127.0.0.1", listener.getsockname()[1])
            reader, writer = await asyncio.wait_for(opening, TIMEOUT)
            return await client(Connection(reader, writer, app, server))
        except BaseException:
            server.force_exit = True  # a failed client may leave a request open: no waiting
            raise
        finally:
            if writer is not None:
                writer.close()
            server.should_exit = True
            await serving
            listener.close()

    return asyncio.run(main())


def fresh(**settings: Any) -> Mock:
    return create_app(Settings(frozen_clock=True, **settings))


def exchanged(
    mock: Mock, *requests: bytes, direct: bool = True, **options: Any
) -> tuple[list[bytes], int]:
    """The answers to `requests` on one connection, and how many reached the ASGI app."""

    async def client(connection: Connection) -> tuple[list[bytes], int]:
        return await connection.exchange(*requests), connection.app.calls

    return serve(mock, client, direct=direct, **options)
