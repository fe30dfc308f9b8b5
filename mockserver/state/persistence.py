"""The state file: loaded at start, saved atomically (write, fsync, rename)."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


class StateFileError(Exception):
    """The state file exists but cannot be used; the mock refuses to start over it."""


def load_state_file(path: Path) -> dict[str, Any] | None:
    """The state document in `path`, or None when there is no such file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise StateFileError(f"cannot read state file {path}: {error}") from error
    try:
        document = json.loads(text)
    except ValueError as error:
        raise StateFileError(
            f"state file {path} is not valid JSON ({error}); it was left as it is:"
            " fix it, move it away, or start without --state-file"
        ) from error
    if not isinstance(document, dict) or not isinstance(document.get("accounts"), dict):
        raise StateFileError(f"state file {path} is not a state document (no 'accounts' object)")
    return document


def save_state_file(path: Path, document: dict[str, Any]) -> None:
    """Write `document` to `path` so that a crash leaves either the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(document, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class StateFile:
    """Where one mock saves its state. Each save takes its snapshot and writes it under one lock:
    a periodic save (in a thread) and the last save on shutdown may overlap, and the save that
    finishes last must hold the newest state, never an older snapshot written late."""

    def __init__(self, path: Path, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.path = path
        self._snapshot = snapshot
        self._lock = threading.Lock()

    def save(self) -> None:
        with self._lock:
            save_state_file(self.path, self._snapshot())
