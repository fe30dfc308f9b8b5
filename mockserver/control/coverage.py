"""Contract coverage: how many answers each operation gave with each documented status.

The journal keeps the last N requests; these counters keep every answer since the last reset or
clear, whatever the journal has dropped, at the cost of one dictionary increment a request. The
matrix is the spec's: every operation by every status it documents, read from `openapi.yaml`,
so a status added there is a new cell here with no code changed. Two things that should not
happen are counted apart: requests that matched no operation (an unknown path, or a method the
path does not have), and statuses an operation answered that the spec does not document.

The document (`matrix()`) is the shape of `GET /__mock/coverage` (control.yaml's `Coverage`);
`contract-tests` builds the same document from what its target answered, so one page
(coverage_page.py) shows both.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any

from mockserver.spec import Operation, Spec

EXAMPLES = 20  # of the requests that matched no operation, the last ones kept


class Coverage:
    def __init__(self, spec: Spec) -> None:
        self._operations = _ordered(spec.operations.values())
        self._lock = threading.Lock()
        self._answers: Counter[tuple[str, int]] = Counter()
        self._unmatched = 0
        self._examples: deque[dict[str, str]] = deque(maxlen=EXAMPLES)
        self._first_seq = 0  # the journal's first entry counted here (see clear)

    def record(self, operation: str | None, method: str, path: str, status: int) -> None:
        """One answer: to `operation` (an operationId), or to no operation when it is None."""
        with self._lock:
            if operation is None:
                self._unmatched += 1
                self._examples.append({"method": method, "path": path, "status": str(status)})
            else:
                self._answers[operation, status] += 1

    def clear(self, first_seq: int) -> None:
        """Count from zero; `first_seq` is the journal's next entry, the first counted now (the
        page's links ask the journal for entries from there on)."""
        with self._lock:
            self._answers.clear()
            self._unmatched = 0
            self._examples.clear()
            self._first_seq = first_seq

    def matrix(self) -> dict[str, Any]:
        with self._lock:
            answers = dict(self._answers)
            unmatched, examples = self._unmatched, list(self._examples)
            first_seq = self._first_seq
        return matrix_document(self._operations, answers, unmatched, examples, first_seq)


def matrix_document(
    operations: Iterable[Operation],
    answers: dict[tuple[str, int], int],
    unmatched: int = 0,
    examples: list[dict[str, str]] | None = None,
    first_seq: int | None = None,
) -> dict[str, Any]:
    """The coverage document of `answers` (count by operationId and status) over `operations`."""
    rows = []
    documented_total = covered_total = undocumented_total = 0
    for operation in _ordered(operations):
        statuses = sorted(operation.statuses)
        counts = {str(s): answers.get((operation.operation_id, s), 0) for s in statuses}
        undocumented = {
            str(status): count
            for (operation_id, status), count in sorted(answers.items())
            if operation_id == operation.operation_id and status not in operation.statuses
        }
        covered = sum(1 for count in counts.values() if count)
        documented_total += len(statuses)
        covered_total += covered
        undocumented_total += sum(undocumented.values())
        rows.append(
            {
                "operation": operation.operation_id,
                "method": operation.method,
                "path": operation.path,
                "statuses": counts,
                "undocumented": undocumented,
                "answers": sum(counts.values()) + sum(undocumented.values()),
                "covered": covered,
                "documented": len(statuses),
                "percent": percent(covered, len(statuses)),
                "never": [int(status) for status, count in counts.items() if not count],
            }
        )
    return {
        "operations": rows,
        "covered": covered_total,
        "documented": documented_total,
        "percent": percent(covered_total, documented_total),
        "undocumented": undocumented_total,
        "unmatched": {"count": unmatched, "examples": examples or []},
        "first_seq": first_seq,
    }


def percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 100.0


def _ordered(operations: Iterable[Operation]) -> list[Operation]:
    """By path, then method: the page reads as the spec's paths do."""
    return sorted(operations, key=lambda o: (o.path, _METHOD_ORDER.get(o.method, 9), o.method))


_METHOD_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
