"""The request journal of a shared state: one capped Redis stream that every process records into.

Entries are numbered by Redis, so the numbers go on across processes as they do in one; an entry
is recorded by one script (number and entry at once), and the stream keeps the last `size`. A
write's entry goes with the script that logs the write (log.py); a read's is sent without
waiting for Redis's reply, and its ticket makes every later read of the journal wait for it
(tickets.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

import redis

from mockserver.control.coverage import EXAMPLES
from mockserver.control.journal import Entry, Journal, Row, row_of
from mockserver.http.encoder import decode, encode
from mockserver.shared.coverage import SharedCoverage, coverage_cell
from mockserver.shared.replaying import Replaying
from mockserver.shared.tickets import Tickets
from mockserver.shared.wire import Wire, reaching

READ = "read the journal"

# Number an entry and keep it, in the stream capped at about `size`, and count it in the coverage
# (coverage.py's keys: a count by operation and status; for a request to no operation, a count
# and the last examples). The four keys from keys[k], the six arguments from args[a] (an
# entry's `Recorded`). Shared with the write's scripts (log.py), which record the write's entry
# in the same round trip.
RECORD = """
local function record(keys, k, args, a)
  local seq = redis.call('INCR', keys[k + 1]) - 1
  redis.call('XADD', keys[k], 'MAXLEN', '~', args[a], '*', 'seq', seq, 'head', args[a + 1],
    'rest', args[a + 2], 'body', args[a + 3])
  if args[a + 4] ~= '' then
    redis.call('HINCRBY', keys[k + 2], args[a + 4], 1)
  else
    redis.call('HINCRBY', keys[k + 2], '', 1)
    redis.call('LPUSH', keys[k + 3], args[a + 5])
    redis.call('LTRIM', keys[k + 3], 0, LAST_EXAMPLE)
  end
  return seq
end
""".replace("LAST_EXAMPLE", str(EXAMPLES - 1))
# A read's entry also strikes its ticket off (KEYS[5], ARGV[7]: tickets.py).
_ADD = (
    RECORD
    + """
if ARGV[7] ~= '' then redis.call('HDEL', KEYS[5], ARGV[7]) end
return record(KEYS, 1, ARGV, 1)
"""
)

# An entry as the scripts take it: the journal's size; the entry's head, rest and body; its
# coverage cell (operationId and status), or '' and the example of a request to no operation.
Recorded = list[Any]


class SharedJournal(Journal):
    def __init__(
        self,
        client: redis.Redis,
        wire: Wire,
        prefix: str,
        size: int,
        replaying: Replaying,
        coverage: SharedCoverage,
        tickets: Tickets,
    ):
        super().__init__(size)  # for `size`; the entries are in Redis
        self._client = client
        self._stream = f"{prefix}:journal"
        self._seq = f"{prefix}:journal:seq"
        self.keys: list[str] = [self._stream, self._seq, *coverage.keys]
        self._tickets = tickets
        self._add_keys = [*self.keys, tickets.keys[1]]  # and the pending tickets, struck off
        self._replaying = replaying
        self._add = wire.script(_ADD)
        self._deferred: ContextVar[list[Recorded] | None] = ContextVar("deferred", default=None)

    def record(self, entry: Entry) -> None:
        _, method, path, query, body, status, at, region, answered_by, operation, rest = row_of(
            0, entry
        )
        head = encode([method, path, query, status, at, region, answered_by, operation])
        if operation is not None:
            cell, example = coverage_cell(operation, status), b""
        else:  # a request to no operation: counted, and kept as one of the last examples
            cell, example = "", encode({"method": method, "path": path, "status": str(status)})
        recorded = [self.size, head, rest, body, cell, example]
        deferred = self._deferred.get()
        if deferred is not None:  # recorded by the write's own script (replica.py)
            deferred.append(recorded)
            return
        # The coverage is counted with it. Answered already: a failure is only said (wire.py).
        self._add.later(keys=self._add_keys, args=[*recorded, self._tickets.strike()])

    @contextmanager
    def deferred(self) -> Iterator[list[Recorded]]:
        """Within (in this task): entries are kept in the list given, not sent, so that a
        write's entry goes with the script that logs the write or gives its lock back."""
        kept: list[Recorded] = []
        token = self._deferred.set(kept)
        try:
            yield kept
        finally:
            self._deferred.reset(token)

    @property
    def next_seq(self) -> int:
        with reaching(READ):
            return int(self._client.get(self._seq) or 0)

    def _kept(self) -> list[Row]:
        self._tickets.wait(READ)
        with reaching(READ):
            # The newest `size`: the stream is trimmed by whole nodes (MAXLEN ~, a tenth of an
            # exact trim's cost to Redis), so it may hold a few more.
            newest = self._client.xrevrange(self._stream, "+", "-", count=self.size)
        entries: list[Any] = list(reversed(cast(list[Any], newest)))
        rows = []
        for _, fields in entries:
            head = fields[b"head"]
            method, path, query, status, at, region, answered_by, operation = decode(head)
            rest = fields[b"rest"]
            row = (int(fields[b"seq"]), method, path, query, fields[b"body"], status, at)
            rows.append((*row, region, answered_by, operation, rest))
        return rows

    def clear(self) -> None:
        if self._replaying.active:  # cleared once, where the request was answered
            return
        with reaching("clear the journal"):
            self._client.delete(self._stream)

    def __len__(self) -> int:
        self._tickets.wait(READ)
        with reaching(READ):
            return min(int(self._client.xlen(self._stream)), self.size)
