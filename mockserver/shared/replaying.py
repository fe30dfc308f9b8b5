"""Whether the running task replays a logged request (see `Replaying`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Replaying:
    """Whether this task replays a logged request: the parts kept in Redis (fault counts, rate
    counts, the journal) then change nothing there, since the request changed them once already
    where it was answered."""

    def __init__(self) -> None:
        self._active: ContextVar[bool] = ContextVar("replaying", default=False)

    @property
    def active(self) -> bool:
        return self._active.get()

    @contextmanager
    def running(self) -> Iterator[None]:
        token = self._active.set(True)
        try:
            yield
        finally:
            self._active.reset(token)
