"""Tickets: why a read's journal entry needs no round trip of its own, and no journal read
misses it.

A read's one round trip is its sync (log.py). Its journal entry can only be written once it is
answered, so it is sent to Redis without waiting for the reply (wire.py's `later`). Sent is not
kept yet: the client may have the answer, and ask another process for the journal, before Redis
has taken the entry. So the sync also gives the read a ticket (a number from one counter,
kept in a hash of pending tickets with Redis's time), and the script that records its entry
strikes the ticket off (or a release does, for a request the journal does not keep, such as
the control API's). A read of the journal or the coverage first waits until no ticket before
its own is pending: a request answered before it began took its ticket before its answer left,
so its entry is in. A ticket pending for `LOST_MS` is given up (its process was killed, or
Redis failed as it recorded), so a lost entry holds up one reader for at most that long.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from mockserver.shared.wire import Wire, reaching

LOST_MS = 2_000

# The tickets pending before ARGV[1] ('': before the next ticket), and not pending for LOST_MS
# yet; the others are given up.
_WAITING = """
local now = redis.call('TIME')
local lost = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[2])
local before = tonumber(ARGV[1]) or (tonumber(redis.call('GET', KEYS[1]) or '0') + 1)
local pending = redis.call('HGETALL', KEYS[2])
local waiting = 0
for i = 1, #pending, 2 do
  if tonumber(pending[i]) < before then
    if tonumber(pending[i + 1]) < lost then
      redis.call('HDEL', KEYS[2], pending[i])
    else
      waiting = waiting + 1
    end
  end
end
return waiting
"""

_RELEASE = "redis.call('HDEL', KEYS[1], ARGV[1])"

# Taken by the sync script (log.py): a ticket, pending from Redis's instant. KEYS[k], KEYS[k+1]:
# the counter and the pending hash.
TAKE = """
local function take(keys, k)
  local now = redis.call('TIME')
  local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local ticket = redis.call('INCR', keys[k])
  redis.call('HSET', keys[k + 1], ticket, ms)
  return ticket
end
"""


@dataclass
class Ticket:
    number: int
    struck: bool = False  # its entry's script strikes it off


class Tickets:
    def __init__(self, wire: Wire, prefix: str) -> None:
        self.keys: list[str] = [f"{prefix}:tickets", f"{prefix}:tickets:pending"]
        self.wire = wire  # where the entries go (a test delays them)
        self._waiting = wire.script(_WAITING)
        self._release = wire.script(_RELEASE)
        self._held: ContextVar[Ticket | None] = ContextVar("ticket", default=None)

    @contextmanager
    def holding(self, number: int | None) -> Iterator[None]:
        """Within (in this task): the request holds ticket `number`; released after, unless its
        journal entry struck it off."""
        if number is None:
            yield
            return
        ticket = Ticket(number)
        token = self._held.set(ticket)
        try:
            yield
        finally:
            self._held.reset(token)
            if not ticket.struck:
                self._release.later(keys=self.keys[1:], args=[number])

    def strike(self) -> str:
        """The ticket the entry being recorded strikes off ('' for none), now struck."""
        ticket = self._held.get()
        if ticket is None:
            return ""
        ticket.struck = True
        return str(ticket.number)

    def wait(self, purpose: str) -> None:
        """Wait until every request that took a ticket before this one (any ticket taken yet,
        outside a request) has its journal entry recorded, or was given up."""
        ticket = self._held.get()
        before = str(ticket.number) if ticket is not None else ""
        pause = 0.0005
        with reaching(purpose):
            # The wire runs this after what this process sent later, so its own are in.
            while self._waiting(keys=self.keys, args=[before, LOST_MS]):
                time.sleep(pause)  # another process is recording: a moment, at most LOST_MS
                pause = min(pause * 2, 0.005)
