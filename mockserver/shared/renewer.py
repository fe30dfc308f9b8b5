"""The write locks a process holds, kept alive from a thread of its own.

A lock lives `lock_ms` (2 s) so that a process killed while writing holds up the others for no
longer. A write that runs longer is renewed every third of that; from a thread, not the event
loop, because the writes that run longest are the ones that hold the loop: a large state
replaced, or a long log replayed under the lock by a process that fell behind. A process that
is stopped or killed stops renewing with it, and its lock expires.
"""

from __future__ import annotations

import logging
import threading

import redis

from mockserver.shared.log import CommandLog

log = logging.getLogger("mockserver")


class Renewer:
    def __init__(self, commands: CommandLog) -> None:
        self._commands = commands
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()  # never set: waited on for its timeout

    def hold(self, token: str) -> None:
        """Renew the lock `token` names until `release`; the thread starts with the first."""
        with self._lock:
            self._held.add(token)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="lock-renewer", daemon=True)
                self._thread.start()

    def release(self, token: str) -> None:
        with self._lock:
            self._held.discard(token)

    def _run(self) -> None:
        every = self._commands.lock_ms / 1000 / 3
        while True:
            self._stop.wait(every)
            with self._lock:
                held = list(self._held)
                if not held:  # the next hold starts another
                    self._thread = None
                    return
            for token in held:
                try:
                    self._commands.renew(token)  # a lost one is fenced out when it logs
                except redis.RedisError as error:
                    log.warning("a write lock could not be renewed: %s", error)
