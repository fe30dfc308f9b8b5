"""The coverage counters of a shared state, in Redis: counted by the script that records each
journal entry (journal.py's `RECORD`), in the same round trip, as one process counts them where
it records the journal (control/recorder.py)."""

from __future__ import annotations

import json

import redis

from mockserver.control.coverage import Coverage, matrix_document
from mockserver.shared.replaying import Replaying
from mockserver.shared.tickets import Tickets
from mockserver.shared.wire import reaching
from mockserver.spec import Spec


def coverage_cell(operation: str, status: int) -> str:
    """The counter of an operation's status (operationIds and statuses hold no space)."""
    return f"{operation} {status}"


class SharedCoverage(Coverage):
    def __init__(
        self, spec: Spec, client: redis.Redis, prefix: str, replaying: Replaying, tickets: Tickets
    ):
        super().__init__(spec)
        self._tickets = tickets
        self._client = client
        self._replaying = replaying
        self._counts_key = f"{prefix}:coverage"
        self._examples_key = f"{prefix}:coverage:examples"
        self._first_key = f"{prefix}:coverage:first_seq"
        self.keys: list[str] = [self._counts_key, self._examples_key]

    def record(self, operation: str | None, method: str, path: str, status: int) -> None:
        """Counted already, with the journal entry (see the module's docstring)."""

    def clear(self, first_seq: int) -> None:
        if self._replaying.active:  # cleared once, where the request was answered
            return
        with reaching("clear the coverage"), self._client.pipeline() as pipe:
            pipe.delete(self._counts_key, self._examples_key)
            pipe.set(self._first_key, first_seq)
            pipe.execute()

    def matrix(self) -> dict[str, object]:
        self._tickets.wait("read the coverage")  # every answer before this one counted
        with reaching("read the coverage"), self._client.pipeline(transaction=True) as pipe:
            pipe.hgetall(self._counts_key)
            pipe.lrange(self._examples_key, 0, -1)
            pipe.get(self._first_key)
            counts, examples, first = pipe.execute()
        answers: dict[tuple[str, int], int] = {}
        unmatched = 0
        for cell, count in counts.items():
            name, _, status = cell.decode().partition(" ")
            if name:
                answers[name, int(status)] = int(count)
            else:
                unmatched = int(count)
        shown = [json.loads(example) for example in reversed(examples)]  # oldest first
        return matrix_document(self._operations, answers, unmatched, shown, int(first or 0))
