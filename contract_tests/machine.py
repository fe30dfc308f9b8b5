"""A Hypothesis state machine over the backups the suite creates: random interleavings of
full and incremental backups of an instance and an HA instance, time passing, deletes and page
walks, and (where restores are allowed) restores of its completed backups into instances and
deletes of those, each step judged by the named checks.

It reasons only about its own backups (and about the sources it backs up), so it runs
against an account that holds other backups too, and never resets the target.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from contract_tests import lifecycle, pages, restores, restoring
from contract_tests.api import Api, Source
from contract_tests.cleanup import CleanupReport, clean_up
from contract_tests.lifecycle import ENDED, RUNNING

# Instances the machine keeps at once: a real service builds each for minutes, and bills it.
MOST_INSTANCES = {True: 2, False: 1}  # with a control API, without


@dataclass
class Ours:
    """A backup the machine created, as last seen."""

    source: Source
    parent_id: str | None
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

    # -- what the machine knows ------------------------------------------------------------------

    def refresh(self) -> None:
        for backup_id, known in self.ours.items():
            known.status = str(self.api.show(backup_id).document("backup").get("status"))

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

    @precondition(lambda self: any(k.status in RUNNING for k in self.ours.values()))
    @rule()
    def wait_for_every_backup_to_end(self) -> None:
        def ended() -> bool:
            self.refresh()
            return all(known.status in ENDED for known in self.ours.values())

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

    @rule(data=st.data())
    def walk_the_pages(self, data: st.DataObject) -> None:
        lists = [
            (self.api.path("/backups"), None),
            *[(s.list_path(self.api), s) for s in self.sources],
        ]
        path, source = data.draw(st.sampled_from(lists), label="list")
        present = [i for i, k in self.ours.items() if source is None or k.source == source]
        pages.pages_return_every_item_once(self.api, path, present, self.deleted)

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
