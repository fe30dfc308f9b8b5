"""One request the suite sent and the answer it got, and the curl line that repeats it."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

TOKEN_HEADER = "X-Auth-Token"
# Repro lines name the token by this variable instead of printing it into CI logs.
TOKEN_VARIABLE = "CONTRACT_TESTS_TOKEN"
LONG_BODY = 2048  # characters: a longer body is written as a Python expression that makes it


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    sent_headers: tuple[tuple[str, str], ...]  # only those the suite set, not the client's own
    sent_body: bytes
    status: int
    headers: tuple[tuple[str, str], ...]  # names in lower case
    body: bytes
    token: str  # the target's token, to hide in the repro line

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name.lower():
                return value
        return None

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The JSON body, or None when there is none or it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def document(self, member: str) -> dict[str, Any]:
        """`body[member]` if it is an object, else an empty dict (the checks say what is wrong)."""
        body = self.json()
        found = body.get(member) if isinstance(body, dict) else None
        return found if isinstance(found, dict) else {}

    def curl(self) -> str:
        parts = ["curl", "-i", "-X", self.method]
        for name, value in self.sent_headers:
            if name.lower() == TOKEN_HEADER.lower() and value == self.token:
                parts.append(f'-H "{TOKEN_HEADER}: ${TOKEN_VARIABLE}"')
            else:
                parts.append(f"-H {shlex.quote(f'{name}: {value}')}")
        text = self.sent_body.decode("utf-8", "replace")
        if len(text) > LONG_BODY:  # generated, so that the line stays short and still runs
            parts.append("--data-binary @-")
            parts.append(shlex.quote(self.url))
            generate = f"import sys; sys.stdout.write({_expression(text)})"
            return f"python3 -c {shlex.quote(generate)} | " + " ".join(parts)
        if text:
            parts.append(f"--data-binary {shlex.quote(text)}")
        parts.append(shlex.quote(self.url))
        return " ".join(parts)

    def __str__(self) -> str:
        return f"{self.method} {self.url} -> {self.status}"


def _expression(text: str) -> str:
    """A Python expression whose value is `text`, long runs of one character as `c * n`."""
    pieces: list[str] = []
    plain = ""
    for run in re.finditer(r"(.)\1*", text, re.DOTALL):
        chunk = run.group(0)
        if len(chunk) >= 32:
            if plain:
                pieces.append(repr(plain))
                plain = ""
            pieces.append(f"{run.group(1)!r} * {len(chunk)}")
        else:
            plain += chunk
    if plain:
        pieces.append(repr(plain))
    return " + ".join(pieces) or "''"
