"""The ledger: what the run sent and saw, for the closing report.

Every request the suite makes (through schemathesis or by hand) adds its operation and status;
every check adds a pass or a failure; a failure keeps the curl lines that reproduce it.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    check: str  # the check's name, e.g. `response_schema_conformance`
    title: str
    reason: str
    curls: tuple[str, ...]  # the requests that reproduce it, in order
    where: str  # the phase and operation, or the test


class Ledger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statuses: dict[str, Counter[int]] = {}
        self._checks: dict[str, Counter[bool]] = {}
        self._failures: list[Failure] = []
        self._seen_failures: set[tuple[str, str, str, str]] = set()
        self._notes: list[str] = []
        self._not_run: dict[str, str] = {}  # check -> why it could not run

    def saw(self, operation: str, status: int) -> None:
        with self._lock:
            self._statuses.setdefault(operation, Counter())[status] += 1

    def checked(self, check: str, passed: bool) -> None:
        with self._lock:
            self._checks.setdefault(check, Counter())[passed] += 1

    def failed(self, failure: Failure) -> None:
        """Record a failure; the same check failing the same way at the same place counts once."""
        key = (failure.check, failure.title, failure.reason, failure.where)
        with self._lock:
            self._checks.setdefault(failure.check, Counter())[False] += 1
            if key not in self._seen_failures:
                self._seen_failures.add(key)
                self._failures.append(failure)

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self._notes:
                self._notes.append(text)

    def not_run(self, check: str, why: str) -> None:
        """Say why `check` could not run (the report lists it unless it ran elsewhere)."""
        with self._lock:
            self._not_run.setdefault(check, why)

    def not_run_reasons(self) -> dict[str, str]:
        with self._lock:
            return dict(self._not_run)

    def statuses(self) -> dict[str, dict[int, int]]:
        with self._lock:
            return {operation: dict(counts) for operation, counts in self._statuses.items()}

    def checks(self) -> dict[str, tuple[int, int]]:
        """(passed, failed) by check name."""
        with self._lock:
            return {name: (counts[True], counts[False]) for name, counts in self._checks.items()}

    def failures(self) -> list[Failure]:
        with self._lock:
            return list(self._failures)

    def notes(self) -> list[str]:
        with self._lock:
            return list(self._notes)
