"""The ASGI messages of a request and an answer: headers read, a body read within a limit and
replayed, an answer sent. Plain helpers of the gateway, with no rule of the mock in them."""

from __future__ import annotations

from mockserver.asgi import Message, Receive, Scope, Send
from mockserver.http.answer import Answer


def request_headers(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found


def media_type_lowered(scope: Scope, headers: dict[str, str]) -> tuple[Scope, dict[str, str]]:
    """The request with the media type of its Content-Type in lower case, the rest as sent.

    Media types are case-insensitive (RFC 9110, 8.3.1); connexion's checks are not: a body sent
    as `APPLICATION/JSON` passed its validation and then reached the handler as bytes (a 500).
    """
    value = headers.get("content-type")
    if value is None:
        return scope, headers
    media, separator, rest = value.partition(";")
    lowered = media.lower() + separator + rest
    if lowered == value:
        return scope, headers
    raw = [(n, v) for n, v in scope.get("headers", []) if n.lower() != b"content-type"]
    raw.append((b"content-type", lowered.encode("latin-1")))
    return {**scope, "headers": raw}, {**headers, "content-type": lowered}


def valid_length(headers: dict[str, str]) -> bool:
    # uvicorn refuses a bad Content-Length itself; other ASGI servers may pass it on.
    declared = headers.get("content-length")
    return declared is None or declared.isdigit()


def is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def read_body(receive: Receive, headers: dict[str, str], limit: int) -> tuple[bytes, bool]:
    """The body, and False when it is over `limit` (then only its start was read)."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"", False
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", False
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), True


def with_length(scope: Scope, body: bytes) -> Scope:
    """The scope, declaring the length of the body read whole: connexion reads no body from a
    request without Content-Length, so a chunked request would otherwise lose its body."""
    headers = scope.get("headers", [])
    if any(name.lower() == b"content-length" for name, _ in headers):
        return scope
    return {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}


def replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def respond(send: Send, response: Answer) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
