"""The inventory: the backups this run created, the only ones it may ever delete.

No lock: each method is one atomic operation on a dict or a set in CPython, so the handler of a
second signal can read it whatever the main thread was doing (a lock could be held by the very
thread the handler interrupted, and the handler would wait for ever).
"""

from __future__ import annotations


class Inventory:
    def __init__(self) -> None:
        self._created: dict[str, None] = {}  # insertion-ordered: oldest first
        self._gone: set[str] = set()

    def remember(self, backup_id: str) -> None:
        self._created.setdefault(backup_id, None)

    def owns(self, backup_id: str) -> bool:
        return backup_id in self._created

    def forget(self, backup_id: str) -> None:
        """Mark one of ours as gone: the target answered 404 for it."""
        if backup_id in self._created:
            self._gone.add(backup_id)

    def created(self) -> list[str]:
        return list(self._created)

    def remaining(self) -> list[str]:
        """Ours still on the target, newest first (so children go before their parents)."""
        gone = set(self._gone)
        return [i for i in reversed(list(self._created)) if i not in gone]
