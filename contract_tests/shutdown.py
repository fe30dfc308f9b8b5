"""Stopping a run: SIGTERM or Ctrl-C ends it within seconds, cleanup included; a second signal
ends the process at once.

A signal handler must not raise into whatever the main thread is doing: an exception that lands
inside an HTTP client, between taking a lock and the `try` that releases it, leaves that lock
taken, and the cleanup that follows waits on it for ever (seen: httpcore's pool lock). So the
first signal only asks: it sets a flag and runs the `on_request` callbacks, each of which may
only cut sockets (no lock, no I/O that can block: not even `threading.Event.set`, whose lock
the interrupted thread may hold while it waits on that event). The run notices at its next safe
point (`check`, `sleep`, a request refused by the API, the loop that reads schemathesis'
events) and unwinds with `Stopped`, which pytest treats as Ctrl-C: fixtures tear down and
cleanup runs.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType


class Stopped(KeyboardInterrupt):
    """The run was asked to stop; raised at a safe point, never from a signal handler."""


POLL = 0.05  # seconds between looks at the flag while sleeping


class Shutdown:
    def __init__(self) -> None:
        self._requested = False  # a plain flag: setting it takes no lock
        self.reason = ""
        self.signal: int | None = None  # the signal that stopped the run, if one did
        # Callbacks run by `request`, in the main thread, possibly inside a signal handler.
        self._callbacks: list[Callable[[], None]] = []

    @property
    def requested(self) -> bool:
        return self._requested

    def on_request(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run `callback` when a stop is asked (at once if it already was); returns a function
        that removes it. The callback must be safe in a signal handler: no locks, no blocking."""
        self._callbacks.append(callback)
        if self.requested:
            callback()
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    def request(self, reason: str, signum: int | None = None) -> None:
        if self.requested:
            return
        self.reason = reason
        self.signal = signum
        self._requested = True
        for callback in list(self._callbacks):
            callback()

    def check(self) -> None:
        """A safe point: raise Stopped if a stop was asked."""
        if self.requested:
            raise Stopped(self.reason)

    def sleep(self, seconds: float) -> None:
        """Sleep, unless a stop is asked first (then raise Stopped within POLL seconds)."""
        nap(seconds, lambda: self._requested)
        if self._requested:
            raise Stopped(self.reason)


def nap(seconds: float, until: Callable[[], bool] = lambda: False) -> None:
    """Sleep `seconds`, or less once `until()` is true, in slices of POLL seconds: a signal
    delivered to another thread is handled only when the main thread runs Python code again,
    so a long sleep would hold its handler (and a second signal's exit) back."""
    end = time.monotonic() + seconds
    while not until():
        left = end - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(left, POLL))


class SignalHandlers:
    """SIGTERM and SIGINT for the time of a run: the first asks `shutdown` to stop (and calls
    `first`); the second writes `last_words()` to stderr and ends the process at once."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(
        self,
        shutdown: Shutdown,
        first: Callable[[str], None],
        last_words: Callable[[], str],
    ) -> None:
        self.shutdown = shutdown
        self.first = first
        self.last_words = last_words
        self._previous: dict[int, object] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers (pytest run from a thread, say)
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if not self.shutdown.requested:
            reason = f"stopped by {name}"
            self.shutdown.request(reason, signum)
            self.first(reason)
            text = f"\ncontract-tests: {name}: stopping, then cleaning up"
            os.write(2, f"{text} (another signal ends it at once).\n".encode())
            return
        # os.write, not print: the main thread may be inside a write to sys.stderr, and a
        # buffered stream entered again from a handler raises instead of writing.
        text = f"\ncontract-tests: a second {name}: stopped at once, cleanup unfinished.\n"
        os.write(2, (text + self.last_words()).encode("utf-8", "replace"))
        os._exit(128 + signum)
