"""The inventory: the backups, schedules and instances this run created, the only ones it may
ever change or delete; and, by region, the copies it made in other regions (an inventory each).

No lock: each method is one atomic operation on a dict or a set in CPython, so the handler of a
second signal can read it whatever the main thread was doing (a lock could be held by the very
thread the handler interrupted, and the handler would wait for ever).
"""

from __future__ import annotations


class _Owned:
    """Ids of one kind the run created, oldest first, and those the target says are gone."""

    def __init__(self) -> None:
        self.created: dict[str, None] = {}  # insertion-ordered: oldest first
        self.gone: set[str] = set()

    def remember(self, item_id: str) -> None:
        self.created.setdefault(item_id, None)

    def forget(self, item_id: str) -> None:
        if item_id in self.created:
            self.gone.add(item_id)

    def remaining(self) -> list[str]:
        """Still on the target, newest first."""
        gone = set(self.gone)
        return [i for i in reversed(list(self.created)) if i not in gone]


class Inventory:
    def __init__(self) -> None:
        self._backups = _Owned()
        self._schedules = _Owned()
        self._instances = _Owned()  # restored (or created) through POST /instances
        # The account's schedules when the run began (None: the run could not list them). A
        # schedule of the run's sources that is not among them is the run's, even when the
        # answer to its create never came back (a stop cut it).
        self.schedules_before: frozenset[str] | None = None
        self._elsewhere: dict[str, Inventory] = {}  # region code -> what the run made there

    # -- backups -------------------------------------------------------------------------------

    def remember(self, backup_id: str) -> None:
        self._backups.remember(backup_id)

    def owns(self, backup_id: str) -> bool:
        return backup_id in self._backups.created

    def forget(self, backup_id: str) -> None:
        """Mark one of ours as gone: the target answered 404 for it."""
        self._backups.forget(backup_id)

    def created(self) -> list[str]:
        return list(self._backups.created)

    def remaining(self) -> list[str]:
        """Ours still on the target, newest first (so children go before their parents)."""
        return self._backups.remaining()

    # -- schedules -----------------------------------------------------------------------------

    def remember_schedule(self, schedule_id: str) -> None:
        self._schedules.remember(schedule_id)

    def owns_schedule(self, schedule_id: str) -> bool:
        return schedule_id in self._schedules.created

    def forget_schedule(self, schedule_id: str) -> None:
        """Mark one of our schedules as gone: the target answered 404 for it."""
        self._schedules.forget(schedule_id)

    def schedules_created(self) -> list[str]:
        return list(self._schedules.created)

    def schedules_remaining(self) -> list[str]:
        return self._schedules.remaining()

    # -- instances -----------------------------------------------------------------------------

    def remember_instance(self, instance_id: str) -> None:
        self._instances.remember(instance_id)

    def owns_instance(self, instance_id: str) -> bool:
        return instance_id in self._instances.created

    def forget_instance(self, instance_id: str) -> None:
        """Mark one of our instances as gone: the target answered 404 for it."""
        self._instances.forget(instance_id)

    def instances_created(self) -> list[str]:
        return list(self._instances.created)

    def instances_remaining(self) -> list[str]:
        return self._instances.remaining()

    # -- other regions (copies) -----------------------------------------------------------------

    def elsewhere(self, region: str) -> Inventory:
        """What the run made in another region: the copies of backups it made there."""
        return self._elsewhere.setdefault(region, Inventory())

    def regions(self) -> list[str]:
        """The other regions the run may have made something in."""
        return list(self._elsewhere)

    def holds_anything(self) -> bool:
        """Whether a backup, a schedule or an instance of the run may still be on the target, or
        a copy in another region."""
        here = self.remaining() or self.schedules_remaining() or self.instances_remaining()
        return bool(here) or any(
            inventory.holds_anything() for inventory in list(self._elsewhere.values())
        )
