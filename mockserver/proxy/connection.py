"""One keep-alive HTTP/1.1 connection to the upstream: a request written, its answer parsed by
httptools (llhttp, the parser uvicorn serves with) as it arrives.

Why not a client library: the proxy's speed target is its CPU a request, and aiohttp's client,
the cheapest one measured, cost 155 µs of CPU for a show where this costs 55 (one connection,
in process: its sessions, cookie jar, URL objects, header multidicts, tracing and a task a
request are what a proxy passing bytes on does not need). What is left to write is small:
httptools parses, asyncio connects (TLS too) and writes; this holds the state of one exchange
and wakes the one waiting for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import httptools

# Kept while the one reading it is slower than the upstream: reading waits beyond this.
_HIGH_WATER = 256 * 1024


class Broken(Exception):
    """The answer did not come whole: the connection closed, or it was not HTTP."""


class Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None  # while the transport is paused
        self.lost = False  # the connection is gone (it is never reused)
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._fresh()

    def _fresh(self) -> None:
        """The state of one exchange."""
        self.status = 0
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self.head_done = False
        self.complete = False  # the answer ended
        self.error: Exception | None = None
        self.answered = False  # any byte of an answer came
        self._body: list[bytes] = []
        self._buffered = 0
        self._paused = False
        self._head_only = False  # an answer to HEAD: no body follows its head
        self._until_close = False  # its body ends when the connection does
        self._keep_alive = False  # the answer let the connection stay open
        self._informational = False

    # -- what the pool does with it ----------------------------------------------------------

    def reusable(self) -> bool:
        return (
            not self.lost
            and self.complete
            and self.error is None
            and not self._head_only
            and not self._until_close
            and self._keep_alive
        )

    def reuse(self) -> None:
        self._fresh()

    def abort(self) -> None:
        self.lost = True
        if self._transport is not None:
            self._transport.abort()

    # -- one exchange ------------------------------------------------------------------------

    async def send(self, head: bytes, body: bytes | AsyncIterator[bytes], chunked: bool) -> None:
        """Write the request: `head` (its lines and the blank line), then `body`, chunk-coded
        when `chunked`."""
        assert self._transport is not None
        self._head_only = head.startswith(b"HEAD ")
        if isinstance(body, bytes):
            self._transport.write(head + body)
            return
        self._transport.write(head)
        async for chunk in body:
            if not chunk:
                continue
            if self.lost:
                raise Broken("the upstream closed the connection while the request was sent")
            if chunked:
                self._transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            else:
                self._transport.write(chunk)
            if self._writable is not None:
                await self._writable
        if chunked:
            self._transport.write(b"0\r\n\r\n")

    async def head(self) -> None:
        """Wait for the answer's head (status and headers)."""
        while not self.head_done:
            self._check()
            await self._wait()

    async def chunk(self, timeout: float) -> bytes | None:
        """The body's next bytes as they arrived (None at its end); Broken if it breaks off,
        TimeoutError after `timeout` seconds without any."""
        while not self._body:
            if self.complete:
                return None
            self._check()
            async with asyncio.timeout(timeout):
                await self._wait()
        data = b"".join(self._body) if len(self._body) > 1 else self._body[0]
        self._body.clear()
        self._buffered = 0
        if self._paused and self._transport is not None and not self.lost:
            self._paused = False
            self._transport.resume_reading()
        return data

    def _check(self) -> None:
        if self.error is not None:
            raise self.error

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- asyncio's calls ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.answered = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self.error = Broken(f"the answer is not HTTP: {error}")
            self.abort()
            self._wake()

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.closed.done():
            self.closed.set_result(None)
        if self._until_close and self.head_done:
            self.complete = True  # the body ended with the connection, as its head said
        elif not self.complete and self.error is None:
            cause = f": {exc}" if exc is not None else ""
            self.error = Broken(
                f"the upstream closed the connection before the whole answer{cause}"
            )
        self._wake()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # -- httptools' calls --------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # an interim answer: the real one follows
            self._informational = True
            self.raw_headers = []
            return
        self.status = status
        self.head_done = True
        if self._head_only or status in (204, 304):
            self.complete = True
        else:
            names = {name.lower() for name, _ in self.raw_headers}
            self._until_close = b"content-length" not in names and b"transfer-encoding" not in names
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self.complete = True
        # Asked now: once the data fed has been parsed whole, the parser no longer knows.
        self._keep_alive = self._parser.should_keep_alive()
        self._wake()
