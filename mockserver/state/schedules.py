"""Scheduled backups (contract section 10): the schedules' operations and their runs on the clock.

Runs are carried out lazily, as the lifecycle is: whenever an account is settled, every run that
fell due since is made in the order of time, each at its own time and interleaved with the
lifecycle of the backups before it (a run sees the previous day's backup COMPLETED, and the
instance ACTIVE again). Moving the clock a year makes 365 runs of a few microseconds each.
"""

from __future__ import annotations

from typing import Literal

from mockserver.state.core import NO_COPIES, StoreCore, copy, page_size
from mockserver.state.errors import BadRequest, Unprocessable, not_found
from mockserver.state.ids import derived
from mockserver.state.models import (
    RUNNING,
    Account,
    Backup,
    Page,
    Schedule,
    ScheduleChange,
    ScheduleRequest,
    id_of,
)
from mockserver.state.timetable import EVERY_DAY, is_full_day, next_time, run_name

FULL = "InnoBackupEx"
# Datastores a schedule can back up: MySQL 5.6, Percona 5.6, MariaDB 10.x.
_SUPPORTED = {"mysql": ("5.6",), "percona": ("5.6",), "mariadb": ("10",)}
_NO_SCHEDULES = frozenset({"SYD", "HKG"})  # scheduled backups are not offered there


class ScheduleRules(StoreCore):
    def create_schedule(self, account_id: str, request: ScheduleRequest) -> Schedule:
        kind, target_id = _target(request)
        self._check_copy_to(request.copy_to)
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            target = self._target_of(account, kind, target_id)
            if getattr(target, "ha_id", None) is not None:
                raise Unprocessable(
                    f"Instance {target_id} is a member of an HA instance: schedule the HA"
                    " instance instead (source_type 'ha')."
                )
            datastore = target.datastore
            if not _supported(datastore):
                raise Unprocessable(
                    f"Scheduled backups are not supported for datastore {datastore.get('type')}"
                    f" {datastore.get('version')}: only MySQL 5.6, Percona 5.6 and MariaDB 10.x."
                )
            if target_id in account.schedule_of:
                raise Unprocessable(
                    f"{kind.capitalize()} {target_id} already has a backup schedule"
                    f" ({account.schedule_of[target_id]}): one schedule per target."
                )
            if self.region in _NO_SCHEDULES:
                raise Unprocessable(
                    f"Scheduled backups are not available in the {self.region} region."
                )
            now = int(self.clock.now())
            schedule = Schedule(
                id=self.ids.new(),
                action="backup",
                source={"type": kind, "id": target_id},
                day_of_week=request.day_of_week,
                hour=request.hour,
                minute=request.minute,
                full_backup_retention=request.full_backup_retention,
                copy_to=list(request.copy_to),
                created=now,
                updated=now,
                next_run=next_time(now, request.hour, request.minute, request.day_of_week),
            )
            self._keep(account)
            account.add_schedule(schedule)
            self.revision += 1
            return self._schedule_view(account, schedule)

    def get_schedule(self, account_id: str, schedule_id: str) -> Schedule:
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            return self._schedule_view(account, self._schedule(account, schedule_id))

    def list_schedules(self, account_id: str, limit: int | None, marker: str | None) -> Page:
        """A page of schedules, newest first: O(log n + page size) as backups are."""
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            after = None
            if marker is not None:
                if marker not in account.schedules:
                    raise BadRequest(f"Invalid marker: {marker} is not a schedule of this account.")
                after = account.schedules[marker].key
            keys, more = account.schedule_index.page(after, page_size(limit))
            views = [self._schedule_view(account, account.schedules[id_of(k)]) for k in keys]
            return Page(views, more)

    def update_schedule(
        self, account_id: str, schedule_id: str, change: ScheduleChange
    ) -> Schedule:
        if change.is_empty():
            raise BadRequest(
                "Nothing to update: give at least one of day_of_week, hour, minute,"
                " full_backup_retention, copy_to, run_now."
            )
        if change.copy_to is not None:
            self._check_copy_to(change.copy_to)
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            schedule = self._schedule(account, schedule_id)
            now = self.clock.now()
            if change.run_now:  # checked before anything changes: a refused update changes nothing
                self._check_quota(account)
                self._check_ready(account, self._target_of(account, *_source(schedule)))
            for name in ("day_of_week", "hour", "minute", "full_backup_retention", "copy_to"):
                value = getattr(change, name)
                if value is not None:
                    setattr(schedule, name, list(value) if name == "copy_to" else value)
            schedule.updated = int(now)
            if change.run_now:
                self._run(account, schedule, now)
            # The first full backup falls on day_of_week; once made, the schedule runs daily.
            first = schedule.last_scheduled is None
            day = schedule.day_of_week if first else EVERY_DAY
            account.reschedule(schedule, next_time(now, schedule.hour, schedule.minute, day))
            self.revision += 1
            return self._schedule_view(account, schedule)

    def delete_schedule(self, account_id: str, schedule_id: str) -> None:
        """Remove a schedule; the backups it made stay, and retention no longer applies to them."""
        with self._lock:
            account = self._account(account_id)
            self._settle(account)
            account.remove_schedule(self._schedule(account, schedule_id))
            self.revision += 1

    # -- runs --------------------------------------------------------------------------------

    def _settle(self, account: Account) -> None:
        now = self.clock.now()
        while (due := account.next_due()) is not None and due.next_run <= now:
            at = due.next_run
            self._advance(account, at)
            kind, target_id = _source(due)
            target = (account.instances if kind == "instance" else account.ha_instances).get(
                target_id
            )
            if target is None:
                # Not reached today: deleteInstance removes the instance's schedule, and a state
                # document cannot name a target it lacks. Kept so a run never backs up nothing.
                account.remove_schedule(due)
                continue
            if len(account.backups) < self.quota and self._unready(account, target) is None:
                # A run belongs to no request: its id follows from what it is, so that every
                # process sharing the state (mockserver/shared/) makes the same run.
                made = derived("run", self.region, account.id, due.id, str(at))
                self._run(account, due, at, made)
            # A run made or skipped: the schedule runs next on the next day at hour:minute (a
            # first full backup not made is made then).
            account.reschedule(due, next_time(at, due.hour, due.minute))
            self.revision += 1
        self._advance(account, now)

    def _run(
        self, account: Account, schedule: Schedule, at: float, backup_id: str | None = None
    ) -> Backup:
        """Make the backup of a run at `at`: its target is ready and the quota allows it."""
        target = self._target_of(account, *_source(schedule))
        parent = None
        if schedule.last_scheduled is not None and not is_full_day(at, schedule.day_of_week):
            parent = self._newest_completed(account, target.id, schedule.id)
        backup = self._new_backup(
            account,
            target,
            at,
            name=run_name(at),
            description=f"Made by schedule {schedule.id}.",
            parent_id=parent.id if parent is not None else None,
            schedule_id=schedule.id,
            backup_id=backup_id,
        )
        schedule.last_scheduled = int(at)
        return backup

    def _ended(self, account: Account, backup: Backup) -> None:
        """Copies, then retention: once a full backup of a schedule is COMPLETED, the schedule
        keeps only its newest `full_backup_retention` COMPLETED full backups, each with its
        descendants (their copies in other regions are independent, and stay)."""
        schedule = account.schedules.get(backup.schedule_id or "")
        if schedule is None or backup.status != "COMPLETED":
            return
        if schedule.copy_to and self.copy_elsewhere is not None:
            # Each backup a schedule makes is copied to its copy_to regions once it is
            # COMPLETED (contract sections 10 and 12), full and incremental alike.
            self.copy_elsewhere(account.id, backup, schedule.copy_to)
        if backup.type != FULL:
            return
        fulls = [
            account.backups[id_of(key)]
            for key in account.of_source(schedule.source["id"]).newest_first()
        ]
        fulls = [b for b in fulls if _retained_by(b, schedule.id)]
        for oldest in reversed(fulls[schedule.full_backup_retention :]):
            chain = account.descendants(oldest.id)
            # A backup made through the API is never deleted by retention, nor a chain that
            # runs (kept until a later completion).
            if all(b.schedule_id == schedule.id and b.status not in RUNNING for b in chain):
                self._remove_chain(account, oldest.id)

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _schedule(account: Account, schedule_id: str) -> Schedule:
        schedule = account.schedules.get(schedule_id)
        if schedule is None:
            raise not_found(schedule_id)
        return schedule

    @staticmethod
    def _schedule_view(account: Account, schedule: Schedule) -> Schedule:
        view = copy(schedule)
        view.copy_to = list(schedule.copy_to)
        view.running = any(b.schedule_id == schedule.id for b in account.running.values())
        return view

    def _check_copy_to(self, regions: list[str]) -> None:
        refused = [r for r in regions if r in (NO_COPIES, self.region)]
        if refused:
            raise BadRequest(
                f"copy_to cannot name {', '.join(refused)}: backups are not copied to LON, nor"
                f" to the region they are made in ({self.region})."
            )


def _target(request: ScheduleRequest) -> tuple[Literal["instance", "ha"], str]:
    """What the schedule backs up: `instance_id`, or `source_id` of `source_type` (400 else)."""
    kind: Literal["instance", "ha"] = "ha" if request.source_type == "ha" else "instance"
    if request.instance_id and request.source_id:
        if kind != "instance" or request.instance_id != request.source_id:
            raise BadRequest(
                "'instance_id' and 'source_id' name different targets: give one, or both"
                " naming the same instance."
            )
        return "instance", request.instance_id
    if request.instance_id:
        return "instance", request.instance_id
    if request.source_id:
        return kind, request.source_id
    raise BadRequest(
        "Nothing to schedule: give 'instance_id' (an instance id), or 'source_id' with"
        " 'source_type' 'instance' or 'ha'."
    )


def _source(schedule: Schedule) -> tuple[Literal["instance", "ha"], str]:
    return ("ha" if schedule.source["type"] == "ha" else "instance"), schedule.source["id"]


def _supported(datastore: dict[str, str]) -> bool:
    versions = _SUPPORTED.get(datastore.get("type", "").lower(), ())
    version = datastore.get("version", "")
    return any(version == v or version.startswith(f"{v}.") for v in versions)


def _retained_by(backup: Backup, schedule_id: str) -> bool:
    return (
        backup.schedule_id == schedule_id and backup.type == FULL and backup.status == "COMPLETED"
    )
