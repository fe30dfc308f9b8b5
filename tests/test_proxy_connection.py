"""The proxy's connections to its upstream (`proxy/upstream.py`, `proxy/connection.py`), driven
directly against small asyncio servers that answer as HTTP/1.1 allows: kept alive and reused,
replaced when the upstream closed them, answers chunked, ended by the connection's close, to
HEAD, after an interim 100, and request bodies streamed with or without a declared length."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import pytest

from mockserver.proxy.upstream import Upstream, UpstreamError, UpstreamSettings


def in_loop(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """The test, run in an event loop of its own, bounded in time."""

    @functools.wraps(test)
    def run() -> None:
        asyncio.run(asyncio.wait_for(test(), 60))

    return run


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Server"], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


class Server:
    """A server on a free port that gives each connection to `handler`; it counts them and
    keeps the bytes of every request head it read."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer, self)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def head(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.heads.append(head)
        return head

    async def answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, answer: bytes
    ) -> None:
        """Read a request's head, and answer it with `answer`'s bytes."""
        await self.head(reader)
        writer.write(answer)
        await writer.drain()


async def answering(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server
) -> None:
    """Answers every request on the connection with OK."""
    while True:
        await server.answer(reader, writer, OK)


async def fetch(upstream: Upstream, method: str = "GET", body: bytes = b"") -> tuple[int, bytes]:
    answer = await upstream.open(
        method, b"/v1.0/1234/backups", b"", [(b"x-auth-token", b"t")], body
    )
    try:
        return answer.status, b"".join([chunk async for chunk in answer.chunks()])
    finally:
        answer.close()


def upstream_of(server: Server, timeout: float = 10.0) -> Upstream:
    return Upstream(UpstreamSettings(server.url, timeout=timeout))


@in_loop
async def test_requests_one_after_another_reuse_one_kept_alive_connection() -> None:
    async with Server(answering) as server:
        upstream = upstream_of(server)
        for _ in range(5):
            assert await fetch(upstream) == (200, b"{}")
        await upstream.aclose()
    assert server.connections == 1


@in_loop
async def test_requests_at_once_each_have_a_connection_and_give_it_back() -> None:
    async with Server(answering) as server:
        upstream = upstream_of(server)
        for _ in range(2):
            answers = await asyncio.gather(*(fetch(upstream) for _ in range(4)))
            assert answers == [(200, b"{}")] * 4
        await upstream.aclose()
    assert server.connections == 4


@in_loop
async def test_a_connection_the_upstream_closed_while_idle_is_replaced() -> None:
    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server) -> None:
        await s.answer(reader, writer, OK)  # then closed, as an upstream's keep-alive timeout does

    async with Server(once) as server:
        upstream = upstream_of(server)
        assert await fetch(upstream) == (200, b"{}")
        await asyncio.sleep(0)  # (the close may or may not have arrived: both must work)
        assert await fetch(upstream) == (200, b"{}")
        await upstream.aclose()
    assert server.connections == 2


@in_loop
async def test_a_reused_connection_closed_before_any_answer_is_retried_once_for_a_get() -> None:
    async def silent_second(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server
    ) -> None:
        await s.answer(reader, writer, OK)
        if s.connections == 1:  # the first connection reads the next request, answers nothing
            await s.head(reader)
            return
        await answering(reader, writer, s)

    async with Server(silent_second) as server:
        upstream = upstream_of(server)
        assert await fetch(upstream) == (200, b"{}")
        assert await fetch(upstream) == (200, b"{}")  # sent again, on a new connection
        await upstream.aclose()
    assert server.connections == 2
    assert len(server.heads) == 3  # the second request: read by the first, sent again


@in_loop
async def test_a_post_is_never_sent_twice() -> None:
    async def silent_second(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server
    ) -> None:
        await s.answer(reader, writer, OK)
        await s.head(reader)  # the POST: read, never answered

    async with Server(silent_second) as server:
        upstream = upstream_of(server)
        assert await fetch(upstream) == (200, b"{}")
        with pytest.raises(UpstreamError) as raised:
            await fetch(upstream, "POST", b'{"backup": {}}')
        await upstream.aclose()
    assert raised.value.kind == "broken"
    assert server.connections == 1


@in_loop
async def test_a_chunked_answer_comes_decoded_and_its_connection_is_reused() -> None:
    async def chunked(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server
    ) -> None:
        while True:
            head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            await s.answer(reader, writer, head + b"1\r\n{\r\n1\r\n}\r\n0\r\n\r\n")

    async with Server(chunked) as server:
        upstream = upstream_of(server)
        assert await fetch(upstream) == (200, b"{}")
        assert await fetch(upstream) == (200, b"{}")
        await upstream.aclose()
    assert server.connections == 1


@in_loop
async def test_an_answer_ended_by_the_connections_close_is_read_whole() -> None:
    async def until_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server
    ) -> None:
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n"
        await s.answer(reader, writer, head + b'{"whole": true}')

    async with Server(until_close) as server:
        upstream = upstream_of(server)
        assert await fetch(upstream) == (200, b'{"whole": true}')
        assert await fetch(upstream) == (200, b'{"whole": true}')  # on a new connection
        await upstream.aclose()
    assert server.connections == 2


@in_loop
async def test_an_answer_that_says_close_is_not_reused() -> None:
    async def closing(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server
    ) -> None:
        closing = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}"
        await s.answer(reader, writer, closing)
        await asyncio.sleep(0.5)  # it says close, but has not closed yet

    async with Server(closing) as server:
        upstream = upstream_of(server)
        assert await fetch(upstream) == (200, b"{}")
        assert await fetch(upstream) == (200, b"{}")
        await upstream.aclose()
    assert server.connections == 2


@in_loop
async def test_a_head_answer_has_no_body_though_it_gives_a_length() -> None:
    async def head(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server) -> None:
        while True:
            await s.answer(reader, writer, b"HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n")

    async with Server(head) as server:
        upstream = upstream_of(server, timeout=5)
        assert await fetch(upstream, "HEAD") == (200, b"")
        await upstream.aclose()


@in_loop
async def test_an_interim_100_is_passed_over_for_the_answer_that_follows() -> None:
    async def interim(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server
    ) -> None:
        await s.answer(reader, writer, b"HTTP/1.1 100 Continue\r\n\r\n" + OK)

    async with Server(interim) as server:
        upstream = upstream_of(server)
        assert await fetch(upstream) == (200, b"{}")
        await upstream.aclose()


async def streamed(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@in_loop
async def test_a_streamed_body_without_a_length_goes_chunk_coded() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server) -> None:
        head = await s.head(reader)
        assert b"transfer-encoding: chunked" in head.lower()
        body = b""
        while (size := int((await reader.readuntil(b"\r\n")).strip(), 16)) > 0:
            body += await reader.readexactly(size)
            await reader.readexactly(2)
        await reader.readexactly(2)
        s.bodies.append(body)
        writer.write(OK)
        await writer.drain()

    async with Server(echo) as server:
        upstream = upstream_of(server)
        answer = await upstream.open("POST", b"/x", b"", [], streamed(b"ab", b"", b"cd"))
        answer.close()
        await upstream.aclose()
    assert server.bodies == [b"abcd"]


@in_loop
async def test_a_streamed_body_with_a_declared_length_goes_as_it_is() -> None:
    async def read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server) -> None:
        head = await s.head(reader)
        assert b"content-length: 4\r\n" in head.lower()
        assert b"transfer-encoding" not in head.lower()
        s.bodies.append(await reader.readexactly(4))
        writer.write(OK)
        await writer.drain()

    async with Server(read) as server:
        upstream = upstream_of(server)
        headers = [(b"Content-Length", b"4")]
        answer = await upstream.open("PUT", b"/x", b"", headers, streamed(b"ab", b"cd"))
        answer.close()
        await upstream.aclose()
    assert server.bodies == [b"abcd"]


@in_loop
async def test_the_head_sent_carries_the_upstreams_host_and_the_bodys_own_length() -> None:
    async with Server(answering) as server:
        upstream = upstream_of(server)
        headers = [(b"Host", b"consumer.example"), (b"Content-Length", b"99"), (b"X-A", b"1")]
        answer = await upstream.open("POST", b"/v1.0/1234/backups", b"a=1", headers, b"{}")
        answer.close()
        await upstream.aclose()
    lines = server.heads[0].split(b"\r\n")
    assert lines[0] == b"POST /v1.0/1234/backups?a=1 HTTP/1.1"
    port = server.url.rsplit(":", 1)[1]
    assert f"host: 127.0.0.1:{port}".encode() in lines
    assert b"content-length: 2" in lines and b"X-A: 1" in lines
    assert not any(line.lower().startswith(b"host: consumer") for line in lines)


@in_loop
async def test_an_answer_that_is_not_http_is_broken() -> None:
    async def garbage(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server
    ) -> None:
        await s.answer(reader, writer, b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        await asyncio.sleep(1)

    async with Server(garbage) as server:
        upstream = upstream_of(server)
        with pytest.raises(UpstreamError) as raised:
            await fetch(upstream)
        await upstream.aclose()
    assert raised.value.kind == "broken" and "not HTTP" in raised.value.message


@in_loop
async def test_a_failed_exchange_gives_its_connection_slot_back() -> None:
    async def first_fails(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server
    ) -> None:
        if s.connections == 1:
            await s.head(reader)  # and closes, answering nothing
            return
        await answering(reader, writer, s)

    async with Server(first_fails) as server:
        upstream = Upstream(UpstreamSettings(server.url, connections=1))
        with pytest.raises(UpstreamError):
            await fetch(upstream, "POST", b"{}")
        # The one slot is free again: the next request does not wait for it forever.
        assert await asyncio.wait_for(fetch(upstream), 10) == (200, b"{}")
        await upstream.aclose()


@in_loop
async def test_a_get_is_sent_once_more_only_and_on_a_new_connection() -> None:
    async def first_two_go_silent(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Server
    ) -> None:
        if s.connections > 2:
            await answering(reader, writer, s)
            return
        await s.answer(reader, writer, OK)
        await s.head(reader)  # the next request: read, never answered

    async with Server(first_two_go_silent) as server:
        upstream = upstream_of(server)
        assert await asyncio.gather(fetch(upstream), fetch(upstream)) == [(200, b"{}")] * 2
        # Two kept-alive connections are idle; the one taken goes silent: the GET is sent again
        # on a new connection, not on the other idle one.
        assert await fetch(upstream) == (200, b"{}")
        await upstream.aclose()
    assert server.connections == 3
    assert len(server.heads) == 4
