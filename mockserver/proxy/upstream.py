"""The upstream: the real service behind the proxy, reached on pooled keep-alive connections
(`connection.py` says why they are not a client library's).

Connections are kept alive and reused, up to `connections` at once (more requests wait for one),
over TLS with a given CA for https. Nothing is added to what the consumer sent but `Host` and a
body's length: the upstream receives the consumer's headers, and its answer comes back in the
coding they asked for, its body's bytes as they came. Every failure, also while a body is read,
becomes an `UpstreamError`: the proxy knows nothing of sockets.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mockserver.proxy.connection import Broken, Connection

# Meaningful for one connection only (RFC 9110, 7.6.1): never passed on. `host` is the
# upstream's own; `content-length` is set again for the body that is sent.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length"}


class UpstreamError(Exception):
    """The upstream could not answer: `kind` is `unreachable`, `timeout` or `broken`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class UpstreamSettings:
    url: str  # the real service's root, http or https; a path in it prefixes every path
    ca: Path | None = None  # a CA bundle to trust for https (a private CA); None: the system's
    timeout: float = 30.0  # seconds: to connect, and then for the whole answer
    connections: int = 100  # pooled connections, kept alive between requests


class UpstreamAnswer:
    """The upstream's answer: its head, and its body read as it arrives."""

    def __init__(self, upstream: Upstream, connection: Connection) -> None:
        self._upstream = upstream
        self._connection: Connection | None = connection
        self.status = connection.status
        self.raw_headers: list[tuple[bytes, bytes]] = connection.raw_headers
        self.headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in connection.raw_headers
        }

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's raw bytes, in their content coding, as they arrive."""
        assert self._connection is not None
        timeout = self._upstream.settings.timeout
        try:
            while (chunk := await self._connection.chunk(timeout)) is not None:
                yield chunk
        except Exception as error:
            raise upstream_error(error, timeout) from error

    def close(self) -> None:
        """Done with it: its connection is reused when the body was read whole."""
        if self._connection is not None:
            self._upstream.give_back(self._connection)
            self._connection = None


class Upstream:
    def __init__(self, settings: UpstreamSettings) -> None:
        self.settings = settings
        parts = urlsplit(settings.url)  # checked by the command line (options.py)
        self._prefix = parts.path.rstrip("/")  # as given: passed on, not re-quoted
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        authority = f"[{self._host}]" if ":" in self._host else self._host.encode("idna").decode()
        if parts.port is not None:
            authority += f":{parts.port}"
        self._host_line = f"host: {authority}\r\n".encode("ascii")
        self._tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            ca = None if settings.ca is None else str(settings.ca)
            self._tls = ssl.create_default_context(cafile=ca)
        self._idle: list[Connection] = []
        # Made in the server's event loop, at the first request.
        self._slots: asyncio.Semaphore | None = None

    @property
    def url(self) -> str:
        return self.settings.url

    async def open(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes],
    ) -> UpstreamAnswer:
        """Send the request; the answer's head, its body still to be read (`chunks`)."""
        head, chunked = self._head(method, raw_path, query, headers, body)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings.connections)
        slots = self._slots
        await slots.acquire()
        try:
            connection = await self._exchange(head, body, chunked, retry=method in _IDEMPOTENT)
        except BaseException as error:
            slots.release()
            if isinstance(error, Exception):
                raise upstream_error(error, self.settings.timeout, self.url) from error
            raise
        return UpstreamAnswer(self, connection)

    async def _exchange(
        self, head: bytes, body: bytes | AsyncIterator[bytes], chunked: bool, retry: bool
    ) -> Connection:
        """A connection whose answer's head came. When a kept-alive connection that the
        upstream closed as it was reused (it answered nothing) fails a request that can be
        sent again (idempotent, its body held), the request is sent once more, on a new one."""
        fresh = False
        while True:
            connection, reused = await self._connection(fresh)
            try:
                await connection.send(head, body, chunked)
                await connection.head()
                return connection
            except Broken:
                connection.abort()
                if not (reused and retry and isinstance(body, bytes) and not connection.answered):
                    raise
                fresh = True
            except BaseException:
                connection.abort()
                raise

    async def _connection(self, fresh: bool) -> tuple[Connection, bool]:
        """An idle connection that is still open (reused: True), unless `fresh`; or a new one."""
        while self._idle and not fresh:
            connection = self._idle.pop()
            if not connection.lost:
                connection.reuse()
                return connection, True
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.settings.timeout):
            _, connection = await loop.create_connection(
                Connection,
                self._host,
                self._port,
                ssl=self._tls,
                server_hostname=self._host if self._tls is not None else None,
            )
        return connection, False

    def give_back(self, connection: Connection) -> None:
        if connection.reusable():
            self._idle.append(connection)
        else:
            connection.abort()
        if self._slots is not None:  # (None: closed since, at the server's shutdown)
            self._slots.release()

    def _head(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes],
    ) -> tuple[bytes, bool]:
        """The request's head as sent upstream, and whether its body goes chunk-coded."""
        target = self._prefix.encode("latin-1") + raw_path
        if query:
            target += b"?" + query
        lines = [method.encode("latin-1"), b" ", target, b" HTTP/1.1\r\n", self._host_line]
        # The length of a body held whole is set again; a streamed one keeps the length the
        # client declared, else it goes chunk-coded.
        dropped = _NOT_FORWARDED if isinstance(body, bytes) else _NOT_FORWARDED - {"content-length"}
        declared = False
        for name, value in headers:
            lowered = name.decode("latin-1").lower()
            if lowered not in dropped:
                lines += (name, b": ", value, b"\r\n")
                declared = declared or lowered == "content-length"
        chunked = False
        if isinstance(body, bytes):
            if body or method not in _BODILESS:
                lines.append(b"content-length: %d\r\n" % len(body))
        elif not declared:
            lines.append(b"transfer-encoding: chunked\r\n")
            chunked = True
        lines.append(b"\r\n")
        return b"".join(lines), chunked

    async def aclose(self) -> None:
        """Close the idle connections, and wait (a moment at most) until they are closed, so
        that none outlives the event loop (a TLS close would wait for the upstream's reply)."""
        idle, self._idle = self._idle, []
        # Bound to this event loop: a next one (the server started again) makes its own.
        self._slots = None
        for connection in idle:
            connection.abort()
        if idle:
            await asyncio.wait([connection.closed for connection in idle], timeout=1.0)


# Methods whose request may be sent again (RFC 9110, 9.2.2), and those whose empty body is
# sent without a length.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "TRACE", "CONNECT"})


def upstream_error(error: Exception, timeout: float, url: str = "the upstream") -> UpstreamError:
    if isinstance(error, UpstreamError):
        return error
    if isinstance(error, TimeoutError):
        return UpstreamError("timeout", f"no whole answer within {timeout:g} s")
    if isinstance(error, Broken):
        return UpstreamError("broken", f"the answer broke off: {error}")
    if isinstance(error, OSError):  # refused, no route, a name not found, TLS refused
        return UpstreamError("unreachable", f"cannot connect to {url}: {error}")
    cause = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return UpstreamError("broken", f"the answer broke off: {cause}")
