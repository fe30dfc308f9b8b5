"""The verdicts of every exchange the proxy checked, kept apart from the bounded journal.

The journal holds the last N exchanges whole; this holds a count of every exchange since the
last clear, by operation and status, and of every violation by operation and rule, with the
first few examples of each. Its size is bounded by the spec (operations x statuses x rules),
not by the traffic, so nothing is lost on a long run. It answers `GET /__mock/violations` and
writes the JUnit file.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ElementTree
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mockserver.proxy.checker import Violation

EXAMPLES = 5  # examples kept of each operation and rule (every one is counted)
NO_OPERATION = "(no documented operation)"


@dataclass
class _Case:
    """One operation answered with one status: a JUnit test case."""

    method: str
    template: str
    exchanges: int = 0
    failed: int = 0
    violations: Counter[str] = field(default_factory=Counter)  # "rule: message"
    errors: Counter[str] = field(default_factory=Counter)  # the upstream could not answer


@dataclass
class _Group:
    """One operation and rule: a line of the summary."""

    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


class Verdicts:
    def __init__(self, upstream: str | None) -> None:
        self.upstream = upstream
        self._lock = threading.Lock()
        self._cases: dict[tuple[str, int], _Case] = {}
        self._groups: dict[tuple[str, str], _Group] = {}
        self._exchanges = 0
        self._violating = 0

    def record(
        self,
        operation: str | None,
        method: str,
        template: str,
        path: str,
        status: int,
        violations: list[Violation],
        at: float,
        error: str | None = None,
    ) -> None:
        name = operation or NO_OPERATION
        with self._lock:
            self._exchanges += 1
            case = self._cases.setdefault((name, status), _Case(method, template))
            case.exchanges += 1
            if error is not None:
                case.errors[error] += 1
            if not violations:
                return
            self._violating += 1
            case.failed += 1
            when = _timestamp(at)
            for violation in violations:
                case.violations[f"{violation.rule}: {violation.message}"] += 1
                group = self._groups.setdefault((name, violation.rule), _Group())
                group.count += 1
                if len(group.examples) < EXAMPLES:
                    example = {"method": method, "path": path, "status": status, "at": when}
                    group.examples.append({**example, "message": violation.message})

    def clear(self) -> None:
        with self._lock:
            self._cases.clear()
            self._groups.clear()
            self._exchanges = self._violating = 0

    def summary(self) -> dict[str, Any]:
        """What `GET /__mock/violations` answers."""
        with self._lock:
            groups = [
                {
                    "operation": operation,
                    "rule": rule,
                    "count": group.count,
                    "examples": list(group.examples),
                }
                for (operation, rule), group in sorted(self._groups.items())
            ]
            return {
                "upstream": self.upstream,
                "exchanges": self._exchanges,
                "violating_exchanges": self._violating,
                "violations": sum(group["count"] for group in groups),
                "groups": groups,
            }

    def junit(self) -> bytes:
        """The exchanges as JUnit XML: one test case per operation and status."""
        with self._lock:
            cases = sorted(self._cases.items())
            suite = ElementTree.Element(
                "testsuite",
                name=f"contract of the traffic to {self.upstream}",
                tests=str(len(cases)),
                failures=str(sum(1 for _, case in cases if case.failed)),
                errors=str(sum(1 for _, case in cases if case.errors and not case.failed)),
            )
            for (operation, status), case in cases:
                element = ElementTree.SubElement(
                    suite,
                    "testcase",
                    classname=operation,
                    name=f"{case.method} {case.template} -> {status}",
                )
                if case.failed:
                    failure = ElementTree.SubElement(
                        element,
                        "failure",
                        message=f"{case.failed} of {case.exchanges} exchanges break the contract",
                    )
                    failure.text = "\n".join(
                        f"{count} x {line}" for line, count in case.violations.most_common()
                    )
                elif case.errors:
                    error = ElementTree.SubElement(
                        element, "error", message="the upstream could not answer"
                    )
                    error.text = "\n".join(
                        f"{count} x {line}" for line, count in case.errors.most_common()
                    )
                out = ElementTree.SubElement(element, "system-out")
                out.text = f"{case.exchanges} exchanges"
        root = ElementTree.Element("testsuites")
        root.append(suite)
        text: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
        return text


def _timestamp(at: float) -> str:
    text = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")
