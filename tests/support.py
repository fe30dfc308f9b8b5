"""Helpers shared by the tests: the spec, the fixtures, and OpenAPI 3.0 schema validation."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

ROOT = Path(__file__).resolve().parent.parent
SPEC_FILE = ROOT / "openapi.yaml"
FIXTURES = ROOT / "fixtures"
EXAMPLES = FIXTURES / "examples"
SHARED_REFERENCE = ROOT.parent / "shared" / "reference" / "rackspace-cdb"


def load_spec(path: Path = SPEC_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.safe_load(stream)
    return document


def schema_errors(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> list[str]:
    """Every violation of `schema` (which may hold local $refs into `document`) by `instance`."""
    rooted = {"allOf": [schema], "components": document.get("components", {})}
    validator = OAS30Validator(rooted, format_checker=oas30_format_checker)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for every operation of the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method, path, operation


def resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def dormant_schedule(schedule_id: str, instance_id: str) -> dict[str, Any]:
    """A state document's schedule of an instance that never runs while a test does (a frozen
    clock never reaches its next_run)."""
    return {
        "id": schedule_id,
        "action": "backup",
        "source": {"type": "instance", "id": instance_id},
        "day_of_week": 0,
        "hour": 14,
        "minute": 30,
        "full_backup_retention": 2,
        "copy_to": [],
        "last_scheduled": None,
        "next_run": "2099-01-04T14:30:00Z",
        "created": "2014-10-30T12:30:00Z",
        "updated": "2014-10-30T12:30:00Z",
    }


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class MockProcess:
    """A `mockserver` started as a process on a free port; stop() sends SIGTERM and waits."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 20.0,
        ready_line: str = r"Uvicorn running on (http://\S+)",
    ) -> None:
        """`ready_line`: the line that says it serves, its group the URL (workers on a socket their
        parent bound do not print uvicorn's line: their own announcement is waited for)."""
        command = [sys.executable, "-m", "mockserver", "--port", "0", *args]
        self.output: list[str] = []
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )
        ready = threading.Event()
        found: list[str] = []

        def pump() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                address = re.search(ready_line, line)
                if address:
                    found.append(address.group(1))
                    ready.set()
            ready.set()

        self._pump = threading.Thread(target=pump, daemon=True)
        self._pump.start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError("mockserver did not start:\n" + "".join(self.output))
        if not found:
            self.kill()
            raise RuntimeError("mockserver exited:\n" + "".join(self.output))
        self.url = found[0]

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self._close()
        return code

    def kill(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)
        finally:
            self._close()

    def _close(self) -> None:
        self._pump.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> MockProcess:
        return self

    def __exit__(self, *_: object) -> None:
        # Also when the process already exited (a test stopped it with a signal, then failed
        # before stop()): its pipe is closed here, not by the garbage collector in a later test.
        self.kill()
