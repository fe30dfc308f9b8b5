"""The scripts of a request's round trips, sent on one connection of the process's own.

Each request of a shared state runs two scripts in Redis. Through redis-py's client, each call
also passes through its command layer (a connection taken from the pool and given back, every
argument encoded one by one, its instrumentation): measured in process, about half of what a
round trip cost the mock, beside the wait for Redis. Here a script call is packed by hiredis and
sent on one connection that the process keeps; a script Redis does not know yet (NOSCRIPT) is
loaded and the call sent again, which is safe since it did not run. Nothing else is retried: a
script run twice would count twice. Other commands (reading the journal, renewing the lock from
its thread) use the client and its pool.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis
from redis.exceptions import NoScriptError

from mockserver.state.errors import ServiceUnavailable


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


class Wire:
    def __init__(self, client: redis.Redis) -> None:
        # redis-py leaves the connection's methods unannotated.
        self._connection: Any = client.connection_pool.make_connection()
        # A mock serves one event loop, but a test may drive it from several threads.
        self._lock = threading.Lock()

    def script(self, source: str) -> Script:
        return Script(self, source)

    def run(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        with self._lock:
            try:
                try:
                    return self._call("EVALSHA", script.sha, len(keys), *keys, *args)
                except NoScriptError:
                    self._call("SCRIPT", "LOAD", script.source)
                    return self._call("EVALSHA", script.sha, len(keys), *keys, *args)
            except (redis.ConnectionError, redis.TimeoutError):
                self._connection.disconnect()  # connected again by the next call
                raise

    def _call(self, *command: Any) -> Any:
        self._connection.send_command(*command)
        return self._connection.read_response()
