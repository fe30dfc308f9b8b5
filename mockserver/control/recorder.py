"""What the gateway keeps of each answered request: an entry in the journal (the last N) and a
count in the coverage (every answer), both keyed by the operation the request went to."""

from __future__ import annotations

from mockserver.asgi import Scope
from mockserver.control.coverage import Coverage
from mockserver.control.journal import Entry, Journal
from mockserver.http.regional import REGION
from mockserver.spec import Operation, Spec
from mockserver.state.clock import Clock


class Recorder:
    def __init__(self, spec: Spec, clock: Clock, journal: Journal, coverage: Coverage) -> None:
        self.spec = spec
        self.clock = clock
        self.journal = journal
        self.coverage = coverage

    def entry(
        self,
        scope: Scope,
        path: str,
        query: bytes,
        headers: dict[str, str],
        body: bytes,
        status: int,
        ignored_query: tuple[str, ...],
        operation: Operation | None = None,
    ) -> Entry:
        """The entry of a request: `scope` as routed (no region prefix: it names the operation),
        `path` and `query` as sent (what the journal shows); `operation`, when the caller has
        already matched it (else it is matched here)."""
        method: str = scope["method"]
        if operation is None:
            found = self.spec.match(scope["path"])
            operation = found[0].operations.get(method) if found else None
        return Entry(
            method,
            path,
            query.decode("latin-1"),
            headers,
            body,
            status,
            self.clock.now(),
            ignored_query,
            scope.get(REGION),
            operation=operation.operation_id if operation else None,
        )

    def record(self, entry: Entry) -> None:
        self.journal.record(entry)
        self.coverage.record(entry.operation, entry.method, entry.path, entry.status)
