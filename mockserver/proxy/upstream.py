"""The upstream: the real service behind the proxy, reached through one pooled httpx client.

httpx, because it pools keep-alive connections, speaks TLS with a given CA, and streams bodies
both ways; the proxy only decides what to send and what to do with the answer. The request is
built by hand (`httpx.Request`, not the client's `build_request`) so that none of the client's
default headers (`Accept-Encoding`, `User-Agent`, ...) is added to what the consumer sent: the
upstream receives the consumer's headers, and its answer comes back in the coding they asked for.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

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
    url: str  # the real service's root, http or https; a path in it prefixes every request
    ca: Path | None = None  # a CA bundle to trust for https (a private CA); None: the system's
    timeout: float = 30.0  # seconds: to connect, and then for the whole answer
    connections: int = 100  # pooled connections, kept alive between requests


class Upstream:
    def __init__(self, settings: UpstreamSettings) -> None:
        self.settings = settings
        self._base = httpx.URL(settings.url)
        self._prefix = self._base.raw_path.split(b"?")[0].rstrip(b"/")
        self._client: httpx.AsyncClient | None = None  # made in the server's event loop

    @property
    def url(self) -> str:
        return str(self._base)

    def _pool(self) -> httpx.AsyncClient:
        if self._client is None:
            verify: ssl.SSLContext | bool = True
            if self.settings.ca is not None:
                verify = ssl.create_default_context(cafile=str(self.settings.ca))
            self._client = httpx.AsyncClient(
                verify=verify,
                timeout=httpx.Timeout(self.settings.timeout),
                limits=httpx.Limits(
                    max_connections=self.settings.connections,
                    max_keepalive_connections=self.settings.connections,
                ),
                follow_redirects=False,  # a redirect is the upstream's answer, checked as such
                trust_env=False,  # the upstream named on the command line, not a proxy variable
            )
        return self._client

    async def open(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes | AsyncIterator[bytes],
    ) -> httpx.Response:
        """Send the request; the answer's head, its body still to be read (`aiter_raw`)."""
        target = self._prefix + raw_path + (b"?" + query if query else b"")
        url = self._base.copy_with(raw_path=target)
        # The length of a body held whole is set again by httpx; a streamed one keeps the
        # length the client declared (else httpx would send it chunked).
        dropped = _NOT_FORWARDED if isinstance(body, bytes) else _NOT_FORWARDED - {"content-length"}
        forwarded = [(n, v) for n, v in headers if n.decode("latin-1").lower() not in dropped]
        request = httpx.Request(method, url, headers=forwarded, content=body)
        try:
            return await self._pool().send(request, stream=True)
        except httpx.TimeoutException as error:
            raise UpstreamError(
                "timeout", f"no answer within {self.settings.timeout:g} s"
            ) from error
        except httpx.ConnectError as error:
            raise UpstreamError("unreachable", f"cannot connect to {self.url}: {error}") from error
        except httpx.HTTPError as error:
            raise UpstreamError("broken", f"{type(error).__name__}: {error}") from error

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
