"""The scripts of a request's round trips, sent on one connection of the process's own.

Each request of a shared state runs scripts in Redis. Through redis-py's client, each call
also passes through its command layer (a connection taken from the pool and given back, every
argument encoded one by one, its instrumentation): measured in process, about half of what a
round trip cost the mock, beside the wait for Redis. Here a script call is packed by hiredis and
sent on one connection that the process keeps; a script Redis does not know yet (NOSCRIPT) is
loaded and the call sent again, which is safe since it did not run. Nothing else is retried: a
script run twice would count twice. Other commands (reading the journal, renewing the lock from
its thread) use the client and its pool.

A call whose answer nobody waits for (a read's journal entry: tickets.py says why that is safe)
is sent `later`: with the next call's bytes, or `FLUSH_AFTER` from now, whichever comes first;
its reply is read with the next call's. A busy process so sends it in the next request's round
trip, and Redis reads and answers both at once; redis-py's pipeline would wait for the replies,
which is the round trip this saves.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis
from redis.exceptions import NoScriptError

from mockserver.state.errors import ServiceUnavailable

log = logging.getLogger("mockserver")
FLUSH_AFTER = 0.001  # seconds: a busy process's next request comes sooner

Call = tuple["Script", Sequence[Any], Sequence[Any]]


@contextmanager
def reaching(purpose: str) -> Iterator[None]:
    """Within: Redis failing is the 503 the request answers (the gateway turns a MockError
    into its status), saying what could not be done."""
    try:
        yield
    except redis.RedisError as error:
        message = f"The shared state (Redis) cannot be reached to {purpose}."
        raise ServiceUnavailable(message) from error


class Script:
    """One Lua script: `script(keys=[...], args=[...])` runs it, as redis-py's `Script` does."""

    def __init__(self, wire: Wire, source: str) -> None:
        self._wire = wire
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        return self._wire.run(self, keys, args)

    def later(self, keys: Sequence[Any], args: Sequence[Any]) -> None:
        """Run it, nobody waiting for its answer (a failure is logged)."""
        self._wire.later(self, keys, args)


class Wire:
    def __init__(self, client: redis.Redis) -> None:
        # redis-py leaves the connection's methods unannotated.
        self._connection: Any = client.connection_pool.make_connection()
        # A mock serves one event loop, but a test may drive it from several threads.
        self._lock = threading.Lock()
        self._queued: list[Call] = []  # sent `later`, not yet
        self._unread: list[Call] = []  # sent, their replies not read yet
        self._batches = 0  # of calls sent later, sent so far

    def script(self, source: str) -> Script:
        return Script(self, source)

    def run(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        with self._lock:
            return self._exchange((script, keys, args))

    def drain(self) -> None:
        """Send what waits to be sent, and wait for every reply (a process that stops)."""
        with self._lock:
            try:
                self._exchange(None)
            except redis.RedisError as error:
                log.warning("the last journal entries were not recorded (Redis: %s)", error)

    def _exchange(self, own: Call | None) -> Any:
        """Send what waits and `own`, read every reply; `own`'s."""
        try:
            self._send(own)
            missing = self._read_unread()
            reply = None
            failed: redis.ResponseError | None = None  # own script's error, once the rest is done
            if own is not None:
                try:
                    reply = self._connection.read_response()
                except NoScriptError:
                    missing.append(own)
                except redis.ResponseError as error:
                    failed = error
            # Each not yet known to Redis again (after a restart of it, or SCRIPT FLUSH).
            for call in missing:
                self._call("SCRIPT", "LOAD", call[0].source)
                if call is own:
                    reply = self._call(*_evalsha(call))
                    continue
                try:
                    self._call(*_evalsha(call))
                except redis.ResponseError as error:  # not own: said, as in _read_unread
                    log.warning("a shared state's script failed (Redis: %s)", error)
            if failed is not None:
                raise failed
            return reply
        except (redis.ConnectionError, redis.TimeoutError) as error:
            self._lost(error)
            raise

    def later(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> None:
        with self._lock:
            self._queued.append((script, keys, args))
            if len(self._queued) > 1:  # its batch's flush is due already
                return
            batch = self._batches
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop here: now
            self.flush(batch)
            return
        loop.call_later(FLUSH_AFTER, self.flush, batch)

    def flush(self, batch: int) -> None:
        """Send batch number `batch` of the calls sent later, unless a call took it already
        (its replies are read with the next call's)."""
        with self._lock:
            if batch != self._batches or not self._queued:
                return
            try:
                self._send(None)
            except (redis.ConnectionError, redis.TimeoutError) as error:
                self._lost(error)

    def _send(self, own: Call | None) -> None:
        """Send the queued calls, and `own` after them, in one write."""
        # A health check would read a reply that is not its own while others are unread.
        check_health = not self._unread
        queued, self._queued = self._queued, []
        self._unread.extend(queued)
        self._batches += bool(queued)
        calls = [*queued, own] if own is not None else queued
        if not calls:
            return
        packed = b"".join(self._connection.pack_commands([_evalsha(call) for call in calls]))
        self._connection.send_packed_command([packed], check_health=check_health)

    def _read_unread(self) -> list[Call]:
        """Read the replies of the calls sent earlier; those Redis did not know the script of."""
        missing = []
        unread, self._unread = self._unread, []
        for index, call in enumerate(unread):
            try:
                self._connection.read_response()
            except NoScriptError:
                missing.append(call)
            except redis.ResponseError as error:
                log.warning("a shared state's script failed (Redis: %s)", error)
            except (redis.ConnectionError, redis.TimeoutError):
                self._unread = unread[index:]  # lost with the connection (_lost)
                raise
        return missing

    def _lost(self, error: Exception) -> None:
        """The connection failed: what it had sent or held is lost (said), and the next call
        connects again."""
        lost = len(self._queued) + len(self._unread)
        self._queued, self._unread = [], []
        self._connection.disconnect()
        if lost:
            log.warning("%d answers' journal entries were not recorded (Redis: %s)", lost, error)

    def _call(self, *command: Any) -> Any:
        self._connection.send_command(*command, check_health=False)
        return self._connection.read_response()


def _evalsha(call: Call) -> tuple[Any, ...]:
    script, keys, args = call
    return ("EVALSHA", script.sha, len(keys), *keys, *args)
