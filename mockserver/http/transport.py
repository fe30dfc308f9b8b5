"""The HTTP/1.1 protocol the mock serves with: uvicorn's own (httptools), except that
- a request it cannot parse gets the documented fault body instead of uvicorn's plain text.
  uvicorn answers those requests itself, before any ASGI app sees them: a NUL or another
  control character in a header or in the request line, a URL too long to parse (over 64 KiB),
  a bad Content-Length. Clients such as python-troveclient crash on a fault body that is not
  JSON;
- an answer's head and body leave in one write (CoalescingTransport);
- a kept-alive connection has one keep-alive timer, not one a request (`keepalive.py`);
- a request the gateway can answer at once is answered without the ASGI cycle (`direct.py`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver.http.direct import AnswerNow, Direct
from mockserver.http.faults import FaultFactory

MESSAGE = (
    "The request is not valid HTTP/1.1: a malformed request line or header (such as one with a"
    " NUL byte), or a URL too long to parse."
)


def protocol_class(
    faults: FaultFactory, answer_now: AnswerNow | None = None
) -> type[HttpToolsProtocol]:
    """The protocol class for uvicorn; with `answer_now` (the app's `Mock.answer_now`), what it
    answers at once is answered without the ASGI cycle."""
    body = faults.encode(400, MESSAGE)

    class FaultBodyProtocol(Direct):
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

    FaultBodyProtocol.answer_now = staticmethod(answer_now) if answer_now else None
    return FaultBodyProtocol


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

    def is_closing(self) -> bool:  # asked after every answer: not through __getattr__
        return bool(self._transport.is_closing())

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
