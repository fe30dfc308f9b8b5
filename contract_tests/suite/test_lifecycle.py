"""What a backup does once created: it shows, it busies its source until it ends, it refuses
company and deletion while it runs, and deleting it takes its incremental descendants along;
`incremental: 1` chains to the newest completed backup, and text that is not ASCII is kept.

On a mock with a control API the suite moves the clock; on a real service it waits for the
real transitions, up to --timeout.
"""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests import lifecycle
from contract_tests.api import Api
from contract_tests.lifecycle import ENDED
from contract_tests.plugin import not_run
from contract_tests.source import Source

# Names and descriptions beyond ASCII: accents, a dash, CJK, an emoji, a no-break space.
NAME_TAIL = " ünïcödé ✓"
DESCRIPTION = "Sauvegarde de nuit — ünïcödé ✓ 日本語 🚀\u00a0fin"


@pytest.fixture
def writable(api: Api) -> Api:
    if api.target.read_only:
        not_run(api, "read-only: no create or delete", *lifecycle.CHECKS)
    return api


def source_of(api: Api, kind: str, *checks: str) -> Source:
    for source in api.sources():
        if source.kind == kind:
            return source
    option = "--instance-id" if kind == "instance" else "--ha-id"
    not_run(api, f"no {kind} to back up: give {option} (or --discover)", *checks)


def any_source(api: Api, *checks: str) -> Source:
    return (api.sources() or [source_of(api, "instance", *checks)])[0]


def back_up(api: Api, source: Source, parent_id: str | None = None) -> dict[str, Any]:
    answer = source.create(api, parent_id)
    lifecycle.backup_of_an_idle_source_is_accepted(api, answer, source)
    if parent_id is not None:
        lifecycle.incremental_backup_names_its_parent(api, answer, parent_id)
    return answer.document("backup")


def wait_until_ended(api: Api, backup_id: str) -> None:
    def ended() -> bool:
        return api.show(backup_id).document("backup").get("status") in ENDED

    api.timeline.wait_for(ended, f"backup {backup_id} to end")


@pytest.mark.parametrize("kind", ["instance", "ha"])
def test_backup_shows_and_busies_its_source_until_it_ends(writable: Api, kind: str) -> None:
    api = writable
    source = source_of(api, kind, *lifecycle.CHECKS)
    backup = back_up(api, source)
    backup_id = backup["id"]
    lifecycle.created_backup_is_visible(api, backup, source)
    lifecycle.target_is_busy_while_backup_runs(api, backup_id, source)
    lifecycle.second_backup_is_refused_while_one_runs(api, backup_id, source)
    if api.show(backup_id).document("backup").get("status") not in ENDED:
        lifecycle.running_backup_delete_is_refused(api, backup_id, [backup_id])
    wait_until_ended(api, backup_id)
    lifecycle.target_is_active_after_backup_ends(api, backup_id, source)
    lifecycle.completed_backup_has_size_and_location(api, backup_id)
    lifecycle.deleted_backup_and_descendants_are_gone(api, backup_id, [], source)


def test_delete_takes_the_incremental_chain_and_waits_while_it_runs(writable: Api) -> None:
    api = writable
    source = any_source(api, *lifecycle.CHECKS)
    full = back_up(api, source)["id"]
    wait_until_ended(api, full)
    first = back_up(api, source, full)
    if api.show(first["id"]).document("backup").get("status") not in ENDED:
        lifecycle.running_backup_delete_is_refused(api, full, [full, first["id"]])
    wait_until_ended(api, first["id"])
    second = back_up(api, source, first["id"])["id"]
    wait_until_ended(api, second)
    lifecycle.deleted_backup_and_descendants_are_gone(api, full, [first["id"], second], source)


def test_incremental_flag_takes_the_newest_completed_backup_as_parent(writable: Api) -> None:
    api = writable
    check = "incremental_flag_chains_to_the_newest_completed_backup"
    source = any_source(api, check)
    made = []
    for _ in range(2):  # two, so that the newest is not also the oldest of the run's
        made.append(back_up(api, source)["id"])
        wait_until_ended(api, made[-1])
    # Newest as lists order them: by `created` (whole seconds), then by id.
    shown = [api.show(backup_id).document("backup") for backup_id in made]
    newest = max(shown, key=lambda b: (str(b.get("created")), str(b.get("id"))))["id"]
    answer = source.create(api, incremental=1)
    lifecycle.incremental_flag_chains_to_the_newest_completed_backup(api, answer, newest)


def test_a_backup_whose_text_is_not_ascii_is_accepted_and_kept(writable: Api) -> None:
    api = writable
    source = any_source(api, "text_beyond_ascii_is_accepted_and_kept")
    name = api.new_name() + NAME_TAIL
    answer = source.create(api, name=name, description=DESCRIPTION)
    lifecycle.text_beyond_ascii_is_accepted_and_kept(api, answer, name, DESCRIPTION)
