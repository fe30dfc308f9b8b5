"""The HTTP/1.1 protocol the mock serves with: uvicorn's own (httptools), except that a request
it cannot parse gets the documented fault body instead of uvicorn's plain text.

uvicorn answers those requests itself, before any ASGI app sees them: a NUL or another control
character in a header or in the request line, a URL too long to parse (over 64 KiB), a bad
Content-Length. Clients such as python-troveclient crash on a fault body that is not JSON.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver.http.faults import FaultFactory

MESSAGE = (
    "The request is not valid HTTP/1.1: a malformed request line or header (such as one with a"
    " NUL byte), or a URL too long to parse."
)


def protocol_class(faults: FaultFactory) -> type[HttpToolsProtocol]:
    body = faults.encode(400, MESSAGE)

    class FaultBodyProtocol(HttpToolsProtocol):
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
