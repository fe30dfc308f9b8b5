"""The upstream: the real service behind the proxy, reached through one pooled aiohttp client.

aiohttp, because it pools keep-alive connections, speaks TLS with a given CA, streams bodies both
ways and passes raw bytes on (`auto_decompress=False`); and because it is cheap: measured per
request on one connection, httpx cost 536 µs of CPU and aiohttp 120 µs, most of the proxy's time
(`make bench`'s proxy phase). None of the client's automatic headers (`Accept`,
`Accept-Encoding`, `User-Agent`, `Content-Type`) is added to what the consumer sent: the upstream
receives the consumer's headers, and its answer comes back in the coding they asked for. Every
error of the client, also while a body is read, becomes an `UpstreamError`: the proxy knows
nothing of aiohttp.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import yarl

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

    def __init__(self, response: aiohttp.ClientResponse, timeout: float) -> None:
        self._response = response
        self._timeout = timeout
        self.status = response.status
        self.raw_headers: list[tuple[bytes, bytes]] = list(response.raw_headers)
        self.headers = {k.lower(): v for k, v in response.headers.items()}

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body's raw bytes, in their content coding, as they arrive."""
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except Exception as error:
            raise upstream_error(error, self._timeout) from error

    def close(self) -> None:
        """Done with it: its connection is reused when the body was read whole."""
        self._response.release()


class Upstream:
    def __init__(self, settings: UpstreamSettings) -> None:
        self.settings = settings
        self._base = yarl.URL(settings.url)
        self._origin = str(self._base.origin())
        self._prefix = self._base.raw_path.rstrip("/")
        self._session: aiohttp.ClientSession | None = None  # made in the server's event loop

    @property
    def url(self) -> str:
        return str(self._base)

    def _pool(self) -> aiohttp.ClientSession:
        if self._session is None:
            context = ssl.create_default_context(
                cafile=None if self.settings.ca is None else str(self.settings.ca)
            )
            timeout = self.settings.timeout
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self.settings.connections, ssl=context, force_close=False
                ),
                timeout=aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout),
                auto_decompress=False,  # passed on as sent; decoded only to be checked
                skip_auto_headers=_AUTOMATIC,
                trust_env=False,  # the upstream named on the command line, not a proxy variable
            )
        return self._session

    async def open(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes],
    ) -> UpstreamAnswer:
        """Send the request; the answer's head, its body still to be read (`chunks`)."""
        target = self._prefix + raw_path.decode("latin-1")
        if query:
            target += "?" + query.decode("latin-1")
        url = yarl.URL(self._origin + target, encoded=True)  # the path as sent, not re-quoted
        # The length of a body held whole is set again; a streamed one keeps the length the
        # client declared (else it would be sent chunked).
        dropped = _NOT_FORWARDED if isinstance(body, bytes) else _NOT_FORWARDED - {"content-length"}
        forwarded = [
            (n.decode("latin-1"), v.decode("latin-1"))
            for n, v in headers
            if n.decode("latin-1").lower() not in dropped
        ]
        try:
            response = await self._pool().request(
                method,
                url,
                headers=forwarded,
                data=body,
                allow_redirects=False,  # a redirect is the upstream's answer, checked as such
                skip_auto_headers=_AUTOMATIC,
            )
        except Exception as error:
            raise upstream_error(error, self.settings.timeout, self.url) from error
        return UpstreamAnswer(response, self.settings.timeout)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


# What aiohttp adds to a request unless told not to.
_AUTOMATIC = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


def upstream_error(error: Exception, timeout: float, url: str = "the upstream") -> UpstreamError:
    if isinstance(error, UpstreamError):
        return error
    if isinstance(error, TimeoutError):  # aiohttp's timeouts are TimeoutErrors too
        return UpstreamError("timeout", f"no whole answer within {timeout:g} s")
    if isinstance(error, aiohttp.ClientConnectorError | aiohttp.ClientSSLError):
        return UpstreamError("unreachable", f"cannot connect to {url}: {error}")
    cause = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return UpstreamError("broken", f"the answer broke off: {cause}")
