"""The ASGI layer of a mock whose state is shared with other processes through Redis.

Each process keeps the whole state in memory, as a single mock does, and every rule stays where
it is (`state/`): what is shared is the log of the requests that changed it (`log.py`), which
every process replays in the one order. A request that changes nothing syncs first (one round
trip: the log's new entries, replayed here, the instant to answer at, and a ticket for its
journal entry, which is sent without a wait: tickets.py). A write takes the
write lock (one round trip, with the same entries), is answered here at its instant with ids
drawn from a new seed, and is logged with both when it succeeded (a second round trip that also
gives the lock back); its answer leaves only once it is logged, so the next request to any
process sees it. A write refused by a rule changed nothing and is not logged.

Replayed, a request goes through the mock's own pipeline (`Gateway.answer_from_mock`, or the
control API's), without the journal, the coverage, the fault rules and the rate counts, which
it already went through once where it was answered.

In a process, one replay runs at a time and one write at a time asks for the lock (the others
wait their turn here); both locks are per event loop, as a test may drive a mock from several.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import weakref
from collections.abc import MutableMapping
from typing import Any

import redis

from mockserver.asgi import Message, Receive, Scope, Send
from mockserver.control.injection import Injector
from mockserver.http.gateway import Gateway
from mockserver.http.messages import respond
from mockserver.shared.journal import SharedJournal
from mockserver.shared.log import (
    START,
    Command,
    CommandLog,
    Fenced,
    OtherRules,
    Synced,
    new_token,
)
from mockserver.shared.renewer import Renewer
from mockserver.shared.replay import command_of, replay
from mockserver.shared.replaying import Replaying
from mockserver.shared.tickets import Tickets
from mockserver.state.clock import Clock
from mockserver.state.errors import ServiceUnavailable
from mockserver.state.ids import Ids
from mockserver.state.regions import Regions

log = logging.getLogger("mockserver")

READS = frozenset({"GET", "HEAD", "OPTIONS"})
DOWN_SECONDS = 0.25  # after Redis failed, answer 503 at once for this long, then try again
UNREACHABLE = (
    "The shared state (Redis) cannot be reached; the mock answers again as soon as it can."
)
LOST_LOCK = (
    "This write outlived the shared state's write lock (the process stalled) and was not kept;"
    " nothing changed: send it again."
)


class Busy(Exception):
    """The write lock stayed with other writers for longer than a request waits."""


class Replica:
    def __init__(
        self,
        gateway: Gateway,
        commands: CommandLog,
        replaying: Replaying,
        tickets: Tickets,
        *,
        regions: Regions,
        clock: Clock,
        injector: Injector,
        journal: SharedJournal,
        initial_state: dict[str, Any],
        frozen_clock: bool,
        rules: str,
        lock_wait: float = 30.0,
    ) -> None:
        self.gateway = gateway
        self.commands = commands
        self.replaying = replaying
        self.tickets = tickets
        self.regions = regions
        self.clock = clock
        self.ids: Ids = regions.ids
        self.injector = injector
        self.journal = journal
        self.renewer = Renewer(commands)
        self.initial_state = initial_state
        self.frozen_clock = frozen_clock
        self.lock_wait = lock_wait
        self.rules = rules
        self.last = START  # the last entry of the log applied here
        self.epoch: str | None = None  # the log's; None: not yet read (start over)
        self.dirty = False  # a write's fate in the log is unknown: start over at the next sync
        self._down_until = 0.0
        # One replay at a time, and one write at a time asking for the lock, in this process.
        self._replays: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._writing: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._join()

    def _join(self) -> None:
        """Learn the log's epoch (and the shared frozen instant) now, so that what a test
        does to this mock directly before its first request stands; the log's entries are
        replayed at the first request (or at start-up, by the server's lifespan)."""
        try:
            epoch = self.commands.epoch()
            self._agree()  # OtherRules: this mock is not built
        except redis.RedisError as error:  # the first request tries again
            log.warning("the shared state (Redis) cannot be reached yet: %s", error)
            return
        self.epoch = epoch  # the state was just built from the starting one: nothing to undo

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.gateway(scope, self._catching_up(receive), send)
            return
        if scope["type"] != "http":
            await self.gateway(scope, receive, send)
            return
        if time.monotonic() < self._down_until:
            await respond(send, self.gateway.faults.error(ServiceUnavailable(UNREACHABLE)))
            return
        try:
            if scope["method"] in READS:
                try:
                    at, ticket = await self._synced(ticket=True)
                except redis.RedisError as error:
                    await self._unreachable(send, error)
                    return
                with self.clock.pinned(at), self.tickets.holding(ticket):
                    await self.gateway(scope, receive, send)
                return
            await self._write(scope, receive, send)
        except OtherRules as error:  # Redis was emptied, and another process claimed it first
            log.error("%s", error)
            await respond(send, self.gateway.faults.error(ServiceUnavailable(str(error))))

    def _catching_up(self, receive: Receive) -> Receive:
        """`receive`, which replays the log at start-up, before the first request waits, and
        sends the journal entries still waiting to be sent at shutdown."""

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._synced()
                except redis.RedisError as error:
                    self._down(error)
            elif message["type"] == "lifespan.shutdown":
                self.tickets.wire.drain()
            return message

        return receiving

    # -- reads and writes --------------------------------------------------------------------

    async def _synced(self, ticket: bool = False) -> tuple[float, int | None]:
        """Replay what the log has that this process has not; the instant to answer at, and a
        ticket for the request's journal entry if asked for (tickets.py)."""
        taken: int | None = None
        async with self._local_lock(self._replays):
            while True:
                offset = self.clock.offset
                got = self.commands.sync(self.last, self.clock.own_now(), ticket and taken is None)
                taken = taken or got.ticket
                if self._must_start_over(got):
                    self._start_over(got.epoch)
                    continue
                at = await self._apply(got)
                # A replayed clock move changes this process's own reading: the instant must be
                # read (and raised into the shared clock) again.
                if self.clock.offset == offset:
                    return at, taken

    async def _write(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = new_token()
        # One write of this process at a time asks Redis for the lock, the others wait here in
        # the order they came (and Redis queues the processes' in theirs: see log.py).
        async with self._local_lock(self._writing):
            try:
                await self._written(token, scope, receive, send)
            finally:
                self.renewer.release(token)

    async def _written(self, token: str, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            at = await self._locked(token)
        except redis.RedisError as error:
            await self._unreachable(send, error)
            return
        except Busy:
            reason = "The shared state's write lock is held by another process; try again."
            await respond(send, self.gateway.faults.error(ServiceUnavailable(reason)))
            return
        seed = secrets.randbits(63)
        body: list[bytes] = []
        held: list[Message] = []

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.append(message.get("body", b""))
            return message

        async def holding(message: Message) -> None:
            held.append(message)

        logged = False
        reason = UNREACHABLE
        try:
            with (
                self.clock.pinned(at),
                self.ids.seeded(seed),
                self.journal.deferred() as entries,
            ):
                await self.gateway(scope, receiving, holding)
                # The instant after it: later than `at` when it moved the clock, and the shared
                # clock's floor from now on, so that no process answers before it.
                until = self.clock.now()
            status = held[0]["status"] if held else 500
            entry = entries[0] if entries else None  # the journal's, in the same round trip
            if 200 <= status < 300:
                command = command_of(scope, at, seed, b"".join(body))
                self.last = self.commands.append(token, command, until, entry)
            else:
                self.commands.unlock(token, entry)
            logged = True
        except (redis.RedisError, Fenced) as error:
            # Logged or not, nobody can tell: the next sync starts over from the log.
            self.dirty = True
            if isinstance(error, redis.RedisError):
                self._down(error)
            else:
                log.error("a write was not logged: %s", error)
                reason = LOST_LOCK
        finally:
            if not logged and not self.dirty:  # the gateway itself failed: give the lock back
                self._release(token)
        if not logged:
            await respond(send, self.gateway.faults.error(ServiceUnavailable(reason)))
            return
        for message in held:
            await send(message)

    async def _locked(self, token: str) -> float:
        """Take the write lock, waiting while another process holds it; the write's instant."""
        deadline = time.monotonic() + self.lock_wait
        pause = 0.0005
        while True:
            async with self._local_lock(self._replays):
                got = self.commands.lock(self.last, self.clock.own_now(), token)
                if got is not None:
                    self.renewer.hold(token)  # from now: the replay below may be long
                    if self._must_start_over(got):
                        self._start_over(got.epoch)
                        got = Synced(got.epoch, got.at, self.commands.after(START))
                    at = await self._apply(got)
                    return max(at, self.clock.own_now())
            if time.monotonic() > deadline:
                raise Busy
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.002)  # the first in Redis's queue takes it soon after

    # -- replaying ---------------------------------------------------------------------------

    async def _apply(self, got: Synced) -> float:
        """Replay `got`'s entries in order; the instant to answer at (never before them)."""
        at = got.at
        for command in got.commands:
            await self._replay(command)
            self.last = command.id
            at = max(at, command.at)
        return at

    async def _replay(self, command: Command) -> None:
        with self.replaying.running(), self.clock.pinned(command.at), self.ids.seeded(command.seed):
            await replay(self.gateway, command)

    def _must_start_over(self, got: Synced) -> bool:
        return self.dirty or got.epoch != self.epoch

    def _agree(self) -> None:
        """Take what every process of the log shares before it replays: the rules (OtherRules
        when another process claimed the log under others) and the clock, with no offset and,
        frozen, at the first process's instant."""
        frozen_at = None
        if self.frozen_clock:
            key = f"{self.commands.prefix}:frozen"
            self.commands.client.set(key, repr(self.clock.own_now()), nx=True)
            frozen_at = float(self.commands.client.get(key) or 0)
        self.commands.claim(self.rules)
        self.clock.restart(frozen_at)

    def _start_over(self, epoch: str) -> None:
        """Back to the state every process starts from, to replay the log from its start."""
        self._agree()
        self.regions.replace(self.initial_state)
        self.regions.fate.mode = "normal"
        self.injector.restart()
        self.last = START
        self.epoch = epoch
        self.dirty = False

    # -- failures ----------------------------------------------------------------------------

    def _down(self, error: Exception) -> None:
        if time.monotonic() >= self._down_until:
            log.warning("the shared state (Redis) cannot be reached: %s", error)
        self._down_until = time.monotonic() + DOWN_SECONDS

    async def _unreachable(self, send: Send, error: Exception) -> None:
        self._down(error)
        await respond(send, self.gateway.faults.error(ServiceUnavailable(UNREACHABLE)))

    def _release(self, token: str) -> None:
        try:
            self.commands.unlock(token)
        except redis.RedisError as error:  # it expires by itself
            self._down(error)

    @staticmethod
    def _local_lock(locks: MutableMapping[asyncio.AbstractEventLoop, asyncio.Lock]) -> asyncio.Lock:
        """This event loop's lock of `locks` (a test may drive a mock from several loops)."""
        loop = asyncio.get_running_loop()
        lock = locks.get(loop)
        if lock is None:
            lock = locks[loop] = asyncio.Lock()
        return lock
