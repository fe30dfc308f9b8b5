"""Fault injection: answer a status, or add latency, to the next N requests that match."""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass
from typing import Any

from mockserver.control.journal import path_matches


@dataclass
class Rule:
    id: int
    method: str  # upper case, or "*"
    path: str  # `*` wildcards, matched against the path as sent (with a region's prefix)
    region: str | None  # only requests to this region (None: any)
    status: int | None
    latency_ms: int
    remaining: int | None  # None: every matching request

    def matches(self, method: str, path: str, region: str) -> bool:
        return (
            self.method in ("*", method)
            and self.region in (None, region)
            and path_matches(self.path, path)
        )


class Injector:
    def __init__(self) -> None:
        self._rules: list[Rule] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(
        self,
        method: str,
        path: str,
        status: int | None = None,
        latency_ms: int = 0,
        count: int | None = 1,
        region: str | None = None,
    ) -> Rule:
        rule = Rule(next(self._ids), method.upper(), path, region, status, latency_ms, count)
        with self._lock:
            self._rules.append(rule)
        return rule

    @property
    def armed(self) -> bool:
        """Whether any rule is waiting (read without the lock: a rule added meanwhile applies
        from the next request)."""
        return bool(self._rules)

    def take(self, method: str, path: str, region: str) -> Rule | None:
        """The first rule that matches, counted as used (and dropped once used up)."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path, region):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining <= 0:
                            self._rules.remove(rule)
                    return rule
        return None

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(rule) for rule in self._rules]

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def restart(self) -> None:
        """No rules, and the next one numbered 1 again: as a new mock's."""
        with self._lock:
            self._rules.clear()
            self._ids = itertools.count(1)
