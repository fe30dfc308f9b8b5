"""A logged request, made from the request as it came, and replayed through the mock's own
pipeline: `Gateway.answer_from_mock` for the API (no journal, coverage, fault rules or rate
counts: the request went through them once, where it was answered), the gateway itself for the
control API (which has none of them). The caller pins the clock and seeds the ids."""

from __future__ import annotations

import logging

from mockserver.asgi import Message, Scope
from mockserver.http.gateway import CONTROL_PREFIX, Gateway
from mockserver.http.messages import request_headers
from mockserver.shared.log import Command

log = logging.getLogger("mockserver")


def command_of(scope: Scope, at: float, seed: int, body: bytes) -> Command:
    """The request of `scope`, answered at `at` with its ids drawn from `seed`, to log."""
    return Command(
        id="",
        at=at,
        seed=seed,
        method=scope["method"],
        path=scope["path"],
        raw_path=scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape"),
        query=scope.get("query_string", b""),
        headers=tuple((bytes(name), bytes(value)) for name, value in scope["headers"]),
        body=body,
    )


async def replay(gateway: Gateway, command: Command) -> None:
    """Answer `command` again here, its answer dropped (a failure is logged: it succeeded where
    it was answered, so this process holds another state)."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": command.method,
        "scheme": "http",
        "path": command.path,
        "raw_path": command.raw_path,
        "root_path": "",
        "query_string": command.query,
        "headers": [list(pair) for pair in command.headers],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }
    sent = [False]

    async def receive() -> Message:
        if sent[0]:
            return {"type": "http.disconnect"}
        sent[0] = True
        return {"type": "http.request", "body": command.body, "more_body": False}

    async def discard(message: Message) -> None:
        if message["type"] == "http.response.start" and not 200 <= message["status"] < 300:
            log.error(
                "replaying %s %s (entry %s) answered %d here, where it succeeded: this"
                " process disagrees with the one that answered it",
                command.method,
                command.path,
                command.id,
                message["status"],
            )

    path = command.path
    if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
        await gateway(scope, receive, discard)
    else:
        await gateway.answer_from_mock(
            scope, request_headers(scope), command.body, receive, discard
        )
