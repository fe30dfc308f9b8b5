"""An answer the mock gives without connexion's pipeline (the gateway's and the fast path's)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, no Content-Length
