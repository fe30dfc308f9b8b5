"""The inventory: the backups this run created, the only ones it may ever delete."""

from __future__ import annotations

import threading


class Inventory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._created: list[str] = []
        self._gone: set[str] = set()

    def remember(self, backup_id: str) -> None:
        with self._lock:
            if backup_id not in self._created:
                self._created.append(backup_id)

    def owns(self, backup_id: str) -> bool:
        with self._lock:
            return backup_id in self._created

    def forget(self, backup_id: str) -> None:
        """Mark one of ours as gone: the target answered 404 for it."""
        with self._lock:
            if backup_id in self._created:
                self._gone.add(backup_id)

    def created(self) -> list[str]:
        with self._lock:
            return list(self._created)

    def remaining(self) -> list[str]:
        """Ours still on the target, newest first (so children go before their parents)."""
        with self._lock:
            return [i for i in reversed(self._created) if i not in self._gone]
