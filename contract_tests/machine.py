"""A Hypothesis state machine over the backups the suite creates: random interleavings of
full and incremental backups of an instance and an HA instance, time passing, deletes and page
walks, (where restores are allowed) restores of its completed backups into instances and
deletes of those, and (where copies are allowed) copies of its completed backups to another
region and deletes of those, each step judged by the named checks.

It reasons only about its own backups (and about the sources it backs up), so it runs
against an account that holds other backups too, and never resets the target.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from contract_tests import copies, copying, lifecycle, pages, restores, restoring
from contract_tests.api import Api
from contract_tests.cleanup import CleanupReport, clean_up
from contract_tests.lifecycle import ENDED, RUNNING
from contract_tests.source import Source

# Instances the machine keeps at once: a real service builds each for minutes, and bills it.
MOST_INSTANCES = {True: 2, False: 1}  # with a control API, without
MOST_COPIES = {True: 3, False: 1}  # copies it keeps at once: on a real service, real backups


@dataclass
class Ours:
    """A backup the machine created, as last seen."""

    source: Source
    parent_id: str | None
    status: str


@dataclass
class Copy:
    """A copy the machine made in the region it copies to, as last seen."""

    original_id: str
    parent_id: str | None  # the copy of its original's parent there
    status: str


class BackupsMachine(RuleBasedStateMachine):
    def __init__(self, api: Api, cleanup: CleanupReport, cleanup_timeout: float) -> None:
        super().__init__()
        self.api = api
        self.cleanup = cleanup
        self.cleanup_timeout = cleanup_timeout
        self.sources = api.sources()
        self.ours: dict[str, Ours] = {}
        self.deleted: list[str] = []
        self.instances: dict[str, str] = {}  # restored instance -> the backup it came from
        self.most_instances = MOST_INSTANCES[api.timeline.control is not None]
        self.there = copying.destination(api) if copying.why_not(api.target) is None else None
        self.copies: dict[str, Copy] = {}  # oldest first, as the target region makes them
        self.deleted_copies: list[str] = []
        self.most_copies = MOST_COPIES[api.timeline.control is not None]

    # -- what the machine knows ------------------------------------------------------------------

    def refresh(self) -> None:
        for backup_id, known in self.ours.items():
            known.status = str(self.api.show(backup_id).document("backup").get("status"))
        for copy_id, copied in self.copies.items():
            assert self.there is not None  # copies are made only where there is one
            copied.status = str(self.there.show(copy_id).document("backup").get("status"))

    def running_on(self, source: Source) -> list[str]:
        return [
            i
            for i, known in self.ours.items()
            if known.source == source and known.status in RUNNING
        ]

    def chain(self, backup_id: str) -> list[str]:
        """The backup and its descendants among ours (children were created after parents)."""
        found = [backup_id]
        for other, known in self.ours.items():
            if known.parent_id in found:
                found.append(other)
        return found

    def copy_chain(self, copy_id: str) -> list[str]:
        """The copy and the copies made from it (their parent is a copy of the chain)."""
        found = [copy_id]
        for other, copied in self.copies.items():
            if copied.parent_id in found:
                found.append(other)
        return found

    # -- rules -------------------------------------------------------------------------------

    @precondition(lambda self: bool(self.sources))
    @rule(data=st.data())
    def back_up(self, data: st.DataObject) -> None:
        source = data.draw(st.sampled_from(self.sources), label="source")
        self._create(source, None)

    @precondition(lambda self: any(k.status == "COMPLETED" for k in self.ours.values()))
    @rule(data=st.data())
    def back_up_incrementally(self, data: st.DataObject) -> None:
        completed = sorted(i for i, k in self.ours.items() if k.status == "COMPLETED")
        parent_id = data.draw(st.sampled_from(completed), label="parent")
        self._create(self.ours[parent_id].source, parent_id)

    @rule(seconds=st.sampled_from([0.5, 1, 2, 5]))
    def let_time_pass(self, seconds: float) -> None:
        self.api.timeline.pass_time(seconds)
        self.refresh()
        for backup_id, known in self.ours.items():
            if known.status in RUNNING:
                lifecycle.target_is_busy_while_backup_runs(self.api, backup_id, known.source)

    @precondition(
        lambda self: any(k.status in RUNNING for k in [*self.ours.values(), *self.copies.values()])
    )
    @rule()
    def wait_for_every_backup_to_end(self) -> None:
        def ended() -> bool:
            self.refresh()
            statuses = [k.status for k in self.ours.values()]
            return all(s in ENDED for s in statuses + [c.status for c in self.copies.values()])

        self.api.timeline.wait_for(ended, "the machine's backups to end")
        for source in {known.source for known in self.ours.values()}:
            last = [i for i, known in self.ours.items() if known.source == source][-1]
            lifecycle.target_is_active_after_backup_ends(self.api, last, source)

    @precondition(lambda self: bool(self.ours))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        backup_id = data.draw(st.sampled_from(sorted(self.ours)), label="backup")
        self.refresh()
        chain = self.chain(backup_id)
        if any(self.ours[member].status in RUNNING for member in chain):
            lifecycle.running_backup_delete_is_refused(self.api, backup_id, chain)
            return
        source = self.ours[backup_id].source
        lifecycle.deleted_backup_and_descendants_are_gone(self.api, backup_id, chain[1:], source)
        for member in chain:
            del self.ours[member]
            self.deleted.append(member)
        for copy_id, copied in self.copies.items():
            if copied.original_id in chain:
                assert self.there is not None
                copies.copy_stays_when_its_original_is_deleted(
                    self.api, self.there, copy_id, copied.original_id
                )

    @precondition(
        lambda self: (
            self.api.target.restores
            and len(self.instances) < self.most_instances
            and any(k.status == "COMPLETED" for k in self.ours.values())
        )
    )
    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        completed = sorted(i for i, k in self.ours.items() if k.status == "COMPLETED")
        backup_id = data.draw(st.sampled_from(completed), label="restored")
        backup = self.api.show(backup_id).document("backup")
        answer = restoring.restore(self.api, backup)
        restores.restore_of_a_completed_backup_is_accepted(self.api, answer, backup)
        self.instances[answer.document("instance")["id"]] = backup_id
        restores.restored_instance_carries_the_backups_datastore(self.api, answer, backup)

    @precondition(lambda self: bool(self.instances))
    @rule(data=st.data())
    def delete_an_instance(self, data: st.DataObject) -> None:
        instance_id = data.draw(st.sampled_from(sorted(self.instances)), label="instance")
        status, _ = restoring.status_of(self.api, instance_id)
        if status == restoring.BUILD:
            restores.delete_of_a_building_instance_is_refused(self.api, instance_id)
            return
        # The machine backs up only its sources: the instance has no backups of its own here.
        restores.deleted_instance_is_gone_and_its_backups_stay(self.api, instance_id, [])
        del self.instances[instance_id]

    @precondition(
        lambda self: (
            self.there is not None
            and len(self.copies) < self.most_copies
            and any(k.status == "COMPLETED" for k in self.ours.values())
        )
    )
    @rule(data=st.data())
    def copy(self, data: st.DataObject) -> None:
        assert self.there is not None
        completed = sorted(i for i, k in self.ours.items() if k.status == "COMPLETED")
        backup_id = data.draw(st.sampled_from(completed), label="copied")
        parent_id = self.ours[backup_id].parent_id
        # The newest copy of its parent there, which the copy's parent must be.
        parents = [i for i, c in self.copies.items() if c.original_id == parent_id]
        original = self.api.show(backup_id).document("backup")
        made = copying.copy(self.api, self.there, {"id": backup_id, **original})
        if parent_id is not None and not parents:
            copies.copy_of_an_incremental_whose_parent_has_no_copy_is_refused(
                self.api, made, self.there
            )
            return
        copies.copy_of_a_completed_backup_is_accepted(self.api, made)
        copies.copy_is_listed_in_the_target_region(self.api, made, self.there)
        if parents:
            copies.incremental_copy_names_the_copy_of_its_parent(
                self.api, made, self.there, parents[-1]
            )
        status = str((made.copy or {}).get("status"))
        self.copies[made.copy_id] = Copy(backup_id, parents[-1] if parents else None, status)

    @precondition(lambda self: any(c.original_id in self.ours for c in self.copies.values()))
    @rule(data=st.data())
    def delete_a_copy(self, data: st.DataObject) -> None:
        assert self.there is not None
        ours = sorted(i for i, c in self.copies.items() if c.original_id in self.ours)
        copy_id = data.draw(st.sampled_from(ours), label="copy")
        self.refresh()
        chain = self.copy_chain(copy_id)
        if any(self.copies[member].status in RUNNING for member in chain):
            lifecycle.running_backup_delete_is_refused(self.there, copy_id, chain)
            return
        original_id = self.copies[copy_id].original_id
        copies.original_stays_when_its_copy_is_deleted(self.api, self.there, copy_id, original_id)
        for member in chain:  # a delete takes the copies made from it along
            del self.copies[member]
            self.deleted_copies.append(member)

    @rule(data=st.data())
    def walk_the_pages(self, data: st.DataObject) -> None:
        lists = [
            (self.api, self.api.path("/backups"), None),
            *[(self.api, s.list_path(self.api), s) for s in self.sources],
        ]
        if self.there is not None:
            lists.append((self.there, self.there.path("/backups"), None))
        api, path, source = data.draw(st.sampled_from(lists), label="list")
        if api is self.there:
            present, absent = list(self.copies), self.deleted_copies
        else:
            present = [i for i, k in self.ours.items() if source is None or k.source == source]
            absent = self.deleted
        pages.pages_return_every_item_once(api, path, present, absent)

    def teardown(self) -> None:
        if self.api.shutdown is not None and self.api.shutdown.requested:
            return  # the run stops: the session's cleanup, on its own time budget, does it all
        clean_up(self.api.for_cleanup(), self.cleanup, self.cleanup_timeout)

    # -- steps -----------------------------------------------------------------------------------

    def _create(self, source: Source, parent_id: str | None) -> None:
        self.refresh()
        busy = self.running_on(source)
        if busy:  # a 202 would make one more: the API remembers it, for cleanup
            lifecycle.second_backup_is_refused_while_one_runs(self.api, busy[0], source, parent_id)
            return
        state, _ = source.state(self.api)
        answer = source.create(self.api, parent_id)
        if answer.status == 413:
            self.api.ledger.note("the machine reached the account's backup quota (413)")
            return
        if answer.status == 422 and state != "ACTIVE":
            return  # busy with a backup the suite did not make
        lifecycle.backup_of_an_idle_source_is_accepted(self.api, answer, source)
        if parent_id is not None:
            lifecycle.incremental_backup_names_its_parent(self.api, answer, parent_id)
        backup = answer.document("backup")
        self.ours[backup["id"]] = Ours(source, parent_id, str(backup.get("status")))
        lifecycle.created_backup_is_visible(self.api, backup, source)
        lifecycle.target_is_busy_while_backup_runs(self.api, backup["id"], source)
