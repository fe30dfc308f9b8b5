"""The request journal: the last N requests the mock answered, oldest first.

An entry keeps the body as it came and the time as a number; both are turned into what the
control API shows only when it is read, so that recording costs each request next to nothing.
"""

from __future__ import annotations

import fnmatch
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mockserver.http.encoder import decode, encode
from mockserver.http.validation import parse_json, too_deep


# Not frozen: a frozen dataclass sets each of its 15 fields through object.__setattr__, and made
# an entry five times slower to build (1.6 µs against 0.3, a request's cost). An entry is not
# changed once built: it becomes a row (`row_of`) or a `dataclasses.replace`d copy.
@dataclass(slots=True)
class Entry:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float  # seconds since the epoch, by the mock's clock
    ignored_query: tuple[str, ...] = ()  # query parameters its operation does not define
    region: str | None = None  # the region the request went to (None: the control API)
    # Who answered: the mock; or, with an upstream, "upstream", "mock" (the fallback), "proxy"
    # (its own fault) or "fault" (a fault rule).
    answered_by: str = "mock"
    violations: tuple[dict[str, str], ...] = ()  # what the proxy found (rule and message)
    unchecked: tuple[str, ...] = ()  # what the proxy could not check, and why
    upstream: dict[str, Any] | None = None  # the upstream's status, or why it could not answer
    operation: str | None = None  # the operationId it went to (None: none, or the control API)

    def document(self, seq: int) -> dict[str, Any]:
        """The entry as GET /__mock/requests shows it; `seq`: its number in the journal."""
        at = datetime.fromtimestamp(self.at, UTC).isoformat(timespec="milliseconds")
        return {
            "seq": seq,
            "operation": self.operation,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": _body(self.body),
            "status": self.status,
            "at": at.replace("+00:00", "Z"),
            "ignored_query": list(self.ignored_query),
            "region": self.region,
            "answered_by": self.answered_by,
            "violations": list(self.violations),
            "unchecked": list(self.unchecked),
            "upstream": self.upstream,
        }


# Headers that carry credentials: the journal of a proxy, which sees a real service's tokens,
# shows them masked.
SECRET_HEADERS = frozenset({"x-auth-token", "authorization", "proxy-authorization", "x-mock-token"})


def masked(headers: dict[str, str]) -> dict[str, str]:
    """The headers with each credential replaced by a mask that keeps only its length."""
    return {
        name: f"***({len(value)} characters)" if name in SECRET_HEADERS else value
        for name, value in headers.items()
    }


# One kept entry: its number and its fields, as a plain tuple of strings, numbers and bytes
# (see `row_of`).
Row = tuple[Any, ...]


class Journal:
    """Entries are numbered from 0 in the order they were recorded; the numbers go on across a
    clear, so that a number names one request for good (the coverage page links by them).

    Each entry is kept as a plain tuple of immutable values, which the garbage collector stops
    tracking at its first pass (CPython untracks such tuples; a dataclass, a dict or a named
    tuple it tracks for good). A journal of 1,000 dataclasses put two or three new objects a
    request into the oldest generation; at 100,000 backups that brought a full collection, a
    pause of 30 to 110 ms, every few seconds of steady reads (profiled with gc.callbacks in
    `make bench`'s list scaling).
    """

    def __init__(self, size: int = 1000) -> None:
        self._entries: deque[Row] = deque(maxlen=size)
        self._next = 0
        self._lock = threading.Lock()

    def record(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(row_of(self._next, entry))
            self._next += 1

    @property
    def size(self) -> int:
        """How many entries it keeps."""
        return self._entries.maxlen or 0

    @property
    def next_seq(self) -> int:
        """The number the next entry will have."""
        return self._next

    def entries(
        self,
        method: str | None = None,
        path: str | None = None,
        region: str | None = None,
        *,
        operation: str | None = None,
        status: int | None = None,
        from_seq: int | None = None,
    ) -> list[dict[str, Any]]:
        """Entries whose method matches (any case), whose path matches a `*` pattern, that went
        to `region` and to `operation`, were answered with `status`, and are numbered `from_seq`
        or later."""
        chosen = [_entry(row) for row in self._kept()]
        if method:
            chosen = [(n, e) for n, e in chosen if e.method == method.upper()]
        if path:
            chosen = [(n, e) for n, e in chosen if path_matches(path, e.path)]
        if region:
            chosen = [(n, e) for n, e in chosen if e.region == region]
        if operation:
            chosen = [(n, e) for n, e in chosen if e.operation == operation]
        if status is not None:
            chosen = [(n, e) for n, e in chosen if e.status == status]
        if from_seq is not None:
            chosen = [(n, e) for n, e in chosen if n >= from_seq]
        return [e.document(n) for n, e in chosen]

    def _kept(self) -> list[Row]:
        """The kept entries, oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def row_of(seq: int, entry: Entry) -> Row:
    """The entry as a tuple of strings, numbers and bytes only (see `Journal`): its parts that
    are collections go in as one JSON text. A tuple inside it would keep it tracked for one
    more pass (the collector untracks the inner one first), often long enough to reach the
    oldest generation. `_entry` turns it back."""
    collections = {
        "headers": entry.headers,
        "ignored_query": entry.ignored_query,
        "violations": entry.violations,
        "unchecked": entry.unchecked,
        "upstream": entry.upstream,
    }
    return (
        seq,
        entry.method,
        entry.path,
        entry.query,
        entry.body,
        entry.status,
        entry.at,
        entry.region,
        entry.answered_by,
        entry.operation,
        encode(collections),  # orjson; the json module for what it refuses (a lone surrogate)
    )


def _entry(row: Row) -> tuple[int, Entry]:
    seq, method, path, query, body, status, at, region, answered_by, operation, rest = row
    collections = decode(rest)
    return seq, Entry(
        method,
        path,
        query,
        collections["headers"],
        body,
        status,
        at,
        tuple(collections["ignored_query"]),
        region,
        answered_by=answered_by,
        violations=tuple(collections["violations"]),
        unchecked=tuple(collections["unchecked"]),
        upstream=collections["upstream"],
        operation=operation,
    )


def path_matches(pattern: str, path: str) -> bool:
    # Only `*` is a wildcard (it matches across `/`); `?` and `[` are literal in URL paths.
    escaped = pattern.replace("[", "[[]").replace("?", "[?]")
    return fnmatch.fnmatchcase(path, escaped)


def _body(body: bytes) -> Any:
    """The JSON document; or the text, when the body is not JSON or is JSON that could not be
    copied and served back safely (nested too deeply, or with numbers out of range); or None."""
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        document = parse_json(body)
    except (ValueError, RecursionError):
        return text
    return text if too_deep(document) else document
