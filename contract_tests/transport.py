"""An HTTP client whose requests in flight a stop can cut short.

A request blocked reading a slow answer would hold a stopped run for as long as its timeout.
Raising into it from the signal handler is what deadlocked (see `shutdown.py`); cutting its
socket is safe: `shutdown(SHUT_RDWR)` takes no lock, and the read that was waiting returns at
once with an error that httpcore expects and handles (it releases its pool and drops the
connection). The socket registry is a plain set: adding, discarding and copying it are each one
atomic operation in CPython, so the handler can read it while another thread changes it, where
a lock could be held by the very thread the handler interrupted.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, open_streams: set[_Stream]) -> None:
        self._inner = inner
        self._open = open_streams
        open_streams.add(self)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._open.discard(self)
        self._inner.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        self._open.discard(self)  # the TLS stream wraps the same socket, and takes its place
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._open)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def cut(self) -> None:
        sock = self._inner.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # already closed: nothing to cut
                sock.shutdown(socket.SHUT_RDWR)


class AbortableBackend(httpcore.NetworkBackend):
    """httpcore's own blocking backend, with every connection it opens remembered until it
    closes, so that `abort` can cut them all."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._open: set[_Stream] = set()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _Stream(stream, self._open)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        return _Stream(self._inner.connect_unix_socket(path, timeout, socket_options), self._open)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)

    def abort(self) -> None:
        """Cut every open connection: requests waiting on one fail at once. Safe in a signal
        handler; later requests open new connections."""
        for stream in list(self._open):
            stream.cut()


def abortable_client(backend: AbortableBackend, timeout: float) -> httpx.Client:
    """An httpx client (proxies from the environment included) whose connections `backend`
    opens. httpx builds httpcore's pools itself and has no option to give them a network
    backend, so each pool it made gets ours before the first request."""
    client = httpx.Client(timeout=timeout)
    mounted = [transport for transport in client._mounts.values() if transport is not None]
    transports: list[Any] = [client._transport, *mounted]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if pool is None or not hasattr(pool, "_network_backend"):
            client.close()
            raise RuntimeError(f"httpx {httpx.__version__}: cannot give its pool our backend")
        pool._network_backend = backend
    return client
