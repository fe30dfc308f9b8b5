"""The command log in Redis: every request that changed the shared state, in the one order all
processes replay it, with the instant it was answered at and the seed its ids came from.

Each operation is one Lua script, so that it is one round trip and atomic:

- `sync` (every request that changes nothing): the entries this process has not yet applied,
  the instant to answer at, and the request's ticket (tickets.py). That instant is raised into
  the shared clock (`clock`), so that no later write is answered at an earlier one; while a
  write holds the lock, readers answer at no later than the write's instant, which it then logs.
- `lock` (every write): takes the write lock, or queues the writer (waiters take it in the order
  they first asked); with the same entries, and the write's instant (never earlier than any
  instant answered before).
- `append`: logs the write's request and gives the lock back, only if the lock is still this
  writer's (a writer that lost it, past its time-to-live, is fenced out: nothing of it is
  logged); it raises the shared clock to the instant after the write (later than its own when
  it moved the clock). `unlock`: gives it back when the write changed nothing. The lock lives
  `lock_ms` (2 s), renewed while a write runs longer (renewer.py): a process killed while
  writing holds up the others' writes for at most that long.

Instants travel as the shortest text that reads back as the same double (Python's repr, Lua's
%.17g): a lifecycle step due at exactly `created + new_seconds` must not move by a rounding.

The epoch names one log: a Redis that lost its data starts a new one, and every process starts
over from the new log's beginning.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis

from mockserver.shared.journal import RECORD, Recorded
from mockserver.shared.tickets import TAKE
from mockserver.shared.wire import Wire

# With a ticket (tickets.py), when ARGV[5] is '1'.
_SYNC = (
    TAKE
    + """
local epoch = redis.call('GET', KEYS[4])
if not epoch then redis.call('SET', KEYS[4], ARGV[3]); epoch = ARGV[3] end
local floor = tonumber(redis.call('GET', KEYS[2]) or '0')
local at = math.max(tonumber(ARGV[2]), floor)
local held = redis.call('GET', KEYS[3])
if held then
  local writing = tonumber(string.match(held, '|(.*)$'))
  if writing < at then at = math.max(writing, floor) end
end
local text = string.format('%.17g', at)
if at > floor then redis.call('SET', KEYS[2], text) end
local ticket = 0
if ARGV[5] == '1' then ticket = take(KEYS, 5) end
return {epoch, text, redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[4]), ticket}
"""
)

# Waiters queue in the order they first asked (KEYS[5], by Redis's clock), and the lock goes to
# the first of them: a process whose writes follow one another cannot keep it from another's.
# A waiter that stops asking (killed, or gone) for a second leaves the queue.
_LOCK = """
local epoch = redis.call('GET', KEYS[4])
if not epoch then redis.call('SET', KEYS[4], ARGV[5]); epoch = ARGV[5] end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local first = redis.call('ZRANGE', KEYS[5], 0, 0)[1]
while first and tonumber(redis.call('HGET', KEYS[6], first) or '0') < now - 1000 do
  redis.call('ZREM', KEYS[5], first)
  redis.call('HDEL', KEYS[6], first)
  first = redis.call('ZRANGE', KEYS[5], 0, 0)[1]
end
if redis.call('EXISTS', KEYS[3]) == 1 or (first and first ~= ARGV[3]) then
  if not redis.call('ZSCORE', KEYS[5], ARGV[3]) then redis.call('ZADD', KEYS[5], now, ARGV[3]) end
  redis.call('HSET', KEYS[6], ARGV[3], now)
  return {epoch, ''}
end
if first then
  redis.call('ZREM', KEYS[5], ARGV[3])
  redis.call('HDEL', KEYS[6], ARGV[3])
end
local floor = tonumber(redis.call('GET', KEYS[2]) or '0')
local text = string.format('%.17g', math.max(tonumber(ARGV[2]), floor))
redis.call('SET', KEYS[3], ARGV[3] .. '|' .. text, 'PX', ARGV[4])
redis.call('SET', KEYS[2], text)
return {epoch, text, redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[6])}
"""

# With the write's journal entry (journal.py's `record`: ARGV[4] to ARGV[9]), when ARGV[3] is '1';
# the request's fields from ARGV[10].
_APPEND = (
    RECORD
    + """
local held = redis.call('GET', KEYS[3])
if not held or string.sub(held, 1, #ARGV[1] + 1) ~= ARGV[1] .. '|' then return false end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 10))
local floor = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[2]) > floor then redis.call('SET', KEYS[2], ARGV[2]) end
redis.call('DEL', KEYS[3])
if ARGV[3] == '1' then record(KEYS, 4, ARGV, 4) end
return id
"""
)

_RENEW = """
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_UNLOCK = (
    RECORD
    + """
local held = redis.call('GET', KEYS[1])
if held and string.sub(held, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then redis.call('DEL', KEYS[1]) end
if ARGV[2] == '1' then record(KEYS, 2, ARGV, 3) end
return 1
"""
)

BATCH = 500  # entries a script returns at most; the rest are read page by page
START = "0-0"  # before the first entry


class OtherRules(ValueError):
    """The log in Redis is replayed under other settings or another starting state."""


class Fenced(Exception):
    """The write lock was no longer this writer's: its change was not logged."""


@dataclass(frozen=True)
class Command:
    """A logged request: replayed as it came, at `at`, its new ids drawn from `seed`."""

    id: str
    at: float
    seed: int
    method: str
    path: str
    raw_path: bytes
    query: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def fields(self) -> list[bytes | str]:
        """The stream entry's fields, in pairs (the id is Redis's)."""
        lines = b"\n".join(name + b"\0" + value for name, value in self.headers)
        return [
            "at",
            repr(self.at),
            "seed",
            str(self.seed),
            "method",
            self.method,
            "path",
            self.path.encode("utf-8", "surrogateescape"),
            "raw_path",
            self.raw_path,
            "query",
            self.query,
            "headers",
            lines,
            "body",
            self.body,
        ]


def _command(entry: Sequence[Any]) -> Command:
    entry_id, given = entry
    # A script's reply is XRANGE's own (a flat list of fields and values); the client's xrange
    # makes a dict of it.
    fields = given if isinstance(given, dict) else dict(zip(given[::2], given[1::2], strict=True))
    lines = fields[b"headers"]
    headers = tuple(
        (name, value)
        for name, _, value in (line.partition(b"\0") for line in lines.split(b"\n") if line)
    )
    return Command(
        entry_id.decode(),
        float(fields[b"at"]),
        int(fields[b"seed"]),
        fields[b"method"].decode(),
        fields[b"path"].decode("utf-8", "surrogateescape"),
        fields[b"raw_path"],
        fields[b"query"],
        headers,
        fields[b"body"],
    )


@dataclass(frozen=True)
class Synced:
    epoch: str
    at: float  # the instant to answer at
    commands: list[Command]  # not yet applied here, oldest first
    ticket: int | None = None  # the request's, when it asked for one


class CommandLog:
    """The log's scripts, on one Redis database; `prefix` names the keys of one shared mock."""

    def __init__(
        self,
        client: redis.Redis,
        wire: Wire,
        journal_keys: list[str],
        ticket_keys: list[str],
        prefix: str,
        lock_ms: int = 2_000,
    ):
        self.client = client
        self.prefix = prefix
        self.lock_ms = lock_ms
        self._keys = [f"{prefix}:{name}" for name in ("log", "clock", "lock", "epoch")]
        self._queue = [f"{prefix}:lock:queue", f"{prefix}:lock:seen"]
        self._journal_keys = journal_keys
        self._ticket_keys = ticket_keys
        self._sync = wire.script(_SYNC)
        self._lock = wire.script(_LOCK)
        self._append = wire.script(_APPEND)
        self._unlock = wire.script(_UNLOCK)
        self._renew = client.register_script(_RENEW)

    def sync(self, after: str, at: float, ticket: bool = False) -> Synced:
        """The entries after `after`, the instant to answer at, and a ticket if asked for."""
        keys = [*self._keys, *self._ticket_keys]
        args = [after, repr(at), _epoch(), BATCH, "1" if ticket else "0"]
        epoch, text, entries, number = self._sync(keys=keys, args=args)
        return Synced(epoch.decode(), float(text), self._all(entries), number or None)

    def claim(self, rules: str) -> None:
        """Replay this log under `rules` (a digest of the settings and starting state); the
        first process to join names them, and one started with others is refused."""
        key = f"{self.prefix}:rules"
        self.client.set(key, rules, nx=True)
        held = cast(bytes, self.client.get(key) or b"").decode()
        if held and held != rules:
            raise OtherRules(
                "the processes sharing this Redis database were started with other options"
                " (--quota, the durations, --region, --tokens, ...) or another starting state;"
                " a request replayed under other rules would not make the same change. Start"
                " every process with the same options, or empty the database (FLUSHDB) to"
                " start a new shared state under these"
            )

    def epoch(self) -> str:
        """The log's epoch (a new log's, when there is none), nothing else read or raised."""
        self.client.set(self._keys[3], _epoch(), nx=True)
        epoch = cast(bytes, self.client.get(self._keys[3]) or b"")
        return epoch.decode()

    def lock(self, after: str, at: float, token: str) -> Synced | None:
        """The lock taken (the entries and the write's instant); None while another holds it."""
        reply = self._lock(
            keys=[*self._keys, *self._queue],
            args=[after, repr(at), token, self.lock_ms, _epoch(), BATCH],
        )
        if not reply[1]:
            return None
        epoch, text, entries = reply
        return Synced(epoch.decode(), float(text), self._all(entries))

    def append(
        self, token: str, command: Command, until: float, entry: Recorded | None = None
    ) -> str:
        """Log `command`, raise the shared clock to `until` (the instant after it), record its
        journal `entry`, and give the lock back; the command's id in the log. Fenced: the
        lock was lost (nothing of it is kept)."""
        keys = [*self._keys[:3], *self._journal_keys]
        args = [token, repr(until), *_recorded(entry), *command.fields()]
        entry_id = self._append(keys=keys, args=args)
        if not entry_id:
            raise Fenced(f"the write lock expired (after {self.lock_ms} ms) before the write ended")
        return str(entry_id.decode())

    def renew(self, token: str) -> bool:
        """Give the lock `lock_ms` more, if it is still ours (whether it was)."""
        return bool(self._renew(keys=self._keys[2:3], args=[token, self.lock_ms]))

    def unlock(self, token: str, entry: Recorded | None = None) -> None:
        """Give the lock back (if still ours), and record the journal `entry`."""
        self._unlock(keys=[self._keys[2], *self._journal_keys], args=[token, *_recorded(entry)])

    def after(self, entry_id: str) -> list[Command]:
        """Every entry after `entry_id`, read page by page (no script: for a writer that
        holds the lock, or a first batch's rest)."""
        return self._all(self._page(entry_id))

    def _all(self, entries: list[Any]) -> list[Command]:
        """A first batch, and the pages after it."""
        commands = [_command(entry) for entry in entries]
        while len(entries) == BATCH:
            entries = self._page(commands[-1].id)
            commands.extend(_command(entry) for entry in entries)
        return commands

    def _page(self, after: str) -> list[Any]:
        return cast(list[Any], self.client.xrange(self._keys[0], f"({after}", "+", BATCH))


def _recorded(entry: Recorded | None) -> list[Any]:
    """A journal entry as the scripts take it: a flag, then its four arguments."""
    return ["1", *entry] if entry is not None else ["0", 0, "", "", "", "", ""]


def _epoch() -> str:
    """The name a log starts with when there is none (a new or emptied Redis)."""
    return secrets.token_hex(8)


def new_token() -> str:
    return secrets.token_hex(12)
