"""The mock's transport sends an answer's head and body in one write (mockserver/http/transport.py),
and holds nothing past the event loop's step: a head alone (HEAD, 100 Continue, a slow stream)
still goes out at once, and nothing is lost on close. Its protocol closes an idle kept-alive
connection as uvicorn does, with one timer a connection instead of one a request."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

from mockserver.asgi import Receive, Scope, Send
from mockserver.http.faults import FaultFactory
from mockserver.http.keepalive import KeepAlive
from mockserver.http.transport import CoalescingTransport, protocol_class


class Recording:
    """A transport that records what is written to it, and when it is closed."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed_after = -1
        self.aborted = False
        self.extra = "delegated"

    def write(self, data: bytes) -> None:
        assert self.closed_after < 0, "written after close"
        self.writes.append(data)

    def close(self) -> None:
        self.closed_after = len(self.writes)

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0


def run(steps: Any) -> Recording:
    async def main() -> Recording:
        recording = Recording()
        await steps(CoalescingTransport(recording), recording)
        return recording

    return asyncio.run(main())


def test_a_head_and_its_body_go_out_in_one_write() -> None:
    async def steps(transport: CoalescingTransport, recording: Recording) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        assert recording.writes == []
        transport.write(b"{}")
        assert recording.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        await asyncio.sleep(0)
        assert len(recording.writes) == 1

    run(steps)


def test_a_write_alone_goes_out_by_the_end_of_the_loop_step() -> None:
    async def steps(transport: CoalescingTransport, recording: Recording) -> None:
        transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await asyncio.sleep(0)
        assert recording.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
        transport.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        await asyncio.sleep(0)  # a stream's next chunk comes later: its head is not kept
        assert len(recording.writes) == 2
        transport.write(b"2\r\n{}\r\n")
        await asyncio.sleep(0)
        assert recording.writes[-1] == b"2\r\n{}\r\n"

    run(steps)


def test_close_sends_what_is_held_first() -> None:
    async def steps(transport: CoalescingTransport, recording: Recording) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        transport.close()
        assert recording.writes == [
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        ]
        assert recording.closed_after == 1
        await asyncio.sleep(0)  # the step's flush finds nothing more to send
        assert len(recording.writes) == 1

    run(steps)


def test_abort_drops_what_is_held_and_the_rest_is_delegated() -> None:
    async def steps(transport: CoalescingTransport, recording: Recording) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        assert transport.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.abort()
        await asyncio.sleep(0)
        assert recording.writes == []
        assert recording.aborted
        assert transport.extra == "delegated"

    run(steps)


REQUEST = b"GET / HTTP/1.1\r\nHost: mock\r\n\r\n"
ANSWER_END = b"\r\n\r\n{}"


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        headers = [(b"content-length", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})


def serve(keep_alive_s: float, client: Callable[[int], Awaitable[Any]]) -> Any:
    """`client(port)` run against uvicorn serving with the mock's protocol, in one event loop."""

    async def main() -> Any:
        config = uvicorn.Config(
            _answer,
            http=protocol_class(FaultFactory({500: "instanceFault"})),
            timeout_keep_alive=keep_alive_s,  # type: ignore[arg-type]
            lifespan="off",
            log_config=None,
            log_level="error",
        )
        server = uvicorn.Server(config)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            return await client(listener.getsockname()[1])
        finally:
            server.should_exit = True
            await serving

    return asyncio.run(main())


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(REQUEST)
    await reader.readuntil(ANSWER_END)


def test_an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout() -> None:
    async def client(port: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await _exchange(reader, writer)
        # The server closes it (EOF): waited for, at most far longer than the 0.2 s timeout.
        rest = await asyncio.wait_for(reader.read(), timeout=30)
        writer.close()
        return rest

    assert serve(0.2, client) == b""


def test_a_connection_in_use_is_kept_past_the_keep_alive_timeout() -> None:
    async def client(port: int) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        loop = asyncio.get_running_loop()
        until = loop.time() + 3  # three timeouts of 1 s, requests one after another
        answered = 0
        while loop.time() < until:
            await _exchange(reader, writer)  # fails (IncompleteReadError) if it was closed
            answered += 1
        writer.close()
        return answered

    assert serve(1.0, client) > 3


def test_a_kept_alive_connection_arms_one_timer_not_one_a_request(monkeypatch: Any) -> None:
    # Each timer a request left in the loop reached the collector's oldest generation, and set
    # off full collections (35 ms each at 100,000 backups): see KeepAlive.
    calls: list[Any] = []
    call_at = asyncio.BaseEventLoop.call_at

    def recorded(
        loop: asyncio.BaseEventLoop, when: float, callback: Any, *args: Any, **kw: Any
    ) -> Any:
        if isinstance(getattr(callback, "__self__", None), KeepAlive):
            calls.append(callback)
        return call_at(loop, when, callback, *args, **kw)

    monkeypatch.setattr(asyncio.BaseEventLoop, "call_at", recorded)

    async def client(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(200):
            await _exchange(reader, writer)
        writer.close()

    serve(60.0, client)
    assert len(calls) == 1  # uvicorn's own protocol arms 200
