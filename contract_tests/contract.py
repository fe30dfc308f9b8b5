"""What openapi.yaml says that the hand-written checks need: operations, statuses, fault names.

The spec is the one source of truth: no route, status or fault name is written in Python here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from mockserver.resources import SPEC_PATH
from mockserver.spec import Operation, Spec

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


@dataclass(frozen=True)
class Contract:
    spec: Spec

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> Contract:
        return cls(Spec.load(path))

    @cached_property
    def operations(self) -> tuple[Operation, ...]:
        """Every operation, in the spec's order."""
        return tuple(self.spec.operations.values())

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation that answers `method` on `path` (a path below the service root)."""
        found = self.spec.match(path)
        if found is None:
            return None
        return found[0].operations.get(method.upper())

    def label(self, method: str, path: str) -> str:
        """`METHOD /path/{template}`, as schemathesis labels an operation."""
        found = self.spec.match(path)
        if found is None:
            return f"{method.upper()} {path} (no such path in the spec)"
        return f"{method.upper()} {found[0].template}"

    def fault_name(self, status: int) -> str | None:
        return self.spec.fault_names.get(status)
