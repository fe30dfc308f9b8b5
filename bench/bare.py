"""The ceiling of the stack: a bare uvicorn ASGI app that answers every request with one answer.

`python -m bench.bare --port P --answer FILE` serves the answer FILE holds (written by the
ceiling phase from ours' answer to a request: its status, its headers as sent and its body) to
every request, and does nothing else: no routing, no validation, no state. It runs uvicorn as
ours runs it (httptools, asyncio's own loop, no access log, warnings only), so that its req/s is
what any app on this stack could reach on the same CPU, and ours' req/s a share of it.

uvicorn adds its own `date` and `server` headers, as it does to ours' answers: the answer's
copies of those two are left out, so that the bytes on the wire are the same as ours'.
"""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import uvicorn

# The ASGI types, as mockserver/asgi.py names them: not imported from there, since importing
# mockserver loads connexion, and the bare app must hold no more than uvicorn does.
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ADDED_BY_UVICORN = {"date", "server"}


def write_answer(path: Path, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> None:
    """The answer file: JSON, the body in base64 (its bytes exactly, whatever they are)."""
    document = {
        "status": status,
        "headers": [[name, value] for name, value in headers],
        "body_base64": base64.b64encode(body).decode("ascii"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


class Answer:
    """The ASGI app: the same start and body messages, built once, for every request."""

    def __init__(self, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        self.start: Message = {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in headers
                if name.lower() not in ADDED_BY_UVICORN
            ],
        }
        self.body: Message = {"type": "http.response.body", "body": body}

    @classmethod
    def read(cls, path: Path) -> Answer:
        document = json.loads(path.read_text())
        headers = [(str(name), str(value)) for name, value in document["headers"]]
        return cls(int(document["status"]), headers, base64.b64decode(document["body_base64"]))

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        # The request's body, if any, is not read: uvicorn discards what the app leaves.
        await send(self.start)
        await send(self.body)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--answer", type=Path, required=True, help="the answer file (JSON)")
    args = parser.parse_args(argv)
    uvicorn.run(
        Answer.read(args.answer),
        host=args.host,
        port=args.port,
        http="httptools",
        loop="asyncio",
        lifespan="off",  # nothing to start or stop
        access_log=False,
        log_level="warning",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
