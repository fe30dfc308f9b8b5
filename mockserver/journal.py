"""The request journal: the last N requests the mock answered, oldest first."""

from __future__ import annotations

import fnmatch
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any  # the JSON document, or the text when it is not JSON, or None
    status: int
    at: str


class Journal:
    def __init__(self, size: int = 1000) -> None:
        self._entries: deque[Entry] = deque(maxlen=size)
        self._lock = threading.Lock()

    def record(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
        """Entries whose method matches (any case) and whose path matches a `*` pattern."""
        with self._lock:
            chosen = list(self._entries)
        if method:
            chosen = [e for e in chosen if e.method == method.upper()]
        if path:
            chosen = [e for e in chosen if path_matches(path, e.path)]
        return [asdict(e) for e in chosen]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def path_matches(pattern: str, path: str) -> bool:
    # Only `*` is a wildcard (it matches across `/`); `?` and `[` are literal in URL paths.
    escaped = pattern.replace("[", "[[]").replace("?", "[?]")
    return fnmatch.fnmatchcase(path, escaped)
