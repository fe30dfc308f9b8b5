"""The HTTP/1.1 protocol the mock serves with: uvicorn's own (httptools), except that
- a request it cannot parse gets the documented fault body instead of uvicorn's plain text.
  uvicorn answers those requests itself, before any ASGI app sees them: a NUL or another
  control character in a header or in the request line, a URL too long to parse (over 64 KiB),
  a bad Content-Length. Clients such as python-troveclient crash on a fault body that is not
  JSON;
- an answer's head and body leave in one write (CoalescingTransport);
- a kept-alive connection has one keep-alive timer, not one a request (see KeepAlive).
"""

from __future__ import annotations

import asyncio
from asyncio import TimerHandle
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver.http.faults import FaultFactory

MESSAGE = (
    "The request is not valid HTTP/1.1: a malformed request line or header (such as one with a"
    " NUL byte), or a URL too long to parse."
)


def protocol_class(faults: FaultFactory) -> type[HttpToolsProtocol]:
    body = faults.encode(400, MESSAGE)

    class FaultBodyProtocol(KeepAlive):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(CoalescingTransport(transport))  # type: ignore[arg-type]

        def send_400_response(self, msg: str) -> None:
            content = [b"HTTP/1.1 400 Bad Request\r\n"]
            for name, value in self.server_state.default_headers:
                content.extend([name, b": ", value, b"\r\n"])
            content.extend(
                [
                    b"content-type: application/json\r\n",
                    b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                    b"connection: close\r\n",
                    b"\r\n",
                    body,
                ]
            )
            self.transport.write(b"".join(content))
            self.transport.close()

    return FaultBodyProtocol


class KeepAlive(HttpToolsProtocol):
    """uvicorn's protocol, whose kept-alive connection is closed as uvicorn closes it (after
    `timeout_keep_alive` seconds with no request), by one timer that is moved on when it falls
    due, instead of a timer armed after every answer and cancelled by the next request.

    A cancelled timer stays in the event loop's queue until it falls due or the loop sweeps the
    queue, long enough to outlive two young collections: each request's reached the collector's
    oldest generation, and those arrivals are what set off a full collection. With 100,000
    backups one took 35 ms, every 14 s of a steady list at one connection (gc.callbacks); with
    this timer, none did in 48 s. It also spares each request a timer's cost.
    """

    _idle_since: float | None = None  # the loop's time of the last answer; None while busy

    def data_received(self, data: bytes) -> None:
        self._idle_since = None  # a request is coming: not idle (uvicorn cancels its timer)
        super().data_received(data)

    def _unset_keepalive_if_required(self) -> None:
        """uvicorn cancels the timer here on every request; this one stays, see `_due`."""

    def on_response_complete(self) -> None:
        # uvicorn's, except for the timer: the next pipelined request, or the connection idle.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self._arm(self._idle_since + self.timeout_keep_alive)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._disarm()

    def _arm(self, when: float) -> None:
        self.timeout_keep_alive_task = self.loop.call_at(when, self._due)

    def _disarm(self) -> None:
        task: TimerHandle | None = self.timeout_keep_alive_task
        if task is not None:
            task.cancel()
            self.timeout_keep_alive_task = None

    def _due(self) -> None:
        self.timeout_keep_alive_task = None
        if self._idle_since is None:
            return  # a request is in progress: its answer arms the timer again
        due = self._idle_since + self.timeout_keep_alive
        if self.loop.time() >= due:
            self.timeout_keep_alive_handler()
        else:
            self._arm(due)


class CoalescingTransport:
    """A transport that sends a response's head and its body in one write.

    uvicorn writes the status line and headers, then the body, as two writes: two send()
    calls, and two wake-ups of the client, which reads a head with no body first. Profiled
    under 50 connections, the socket's writes were a quarter of the time of a show. A write
    is held until the next one, or the end of the event loop's step at the latest (call_soon):
    an answer sent at once goes out whole, and a head sent alone (HEAD, 100 Continue, a
    stream) waits no longer than the rest of the loop's current step.
    """

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._held: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes) -> None:
        if self._held:
            self._held.append(data)
            self.flush()
            return
        self._held.append(data)
        self._loop.call_soon(self.flush)

    def flush(self) -> None:
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        self.write(b"".join(lines))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self._held)) + int(self._transport.get_write_buffer_size())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
