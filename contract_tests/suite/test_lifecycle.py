"""What a backup does once created: it shows, it busies its source until it ends, it refuses
company and deletion while it runs, and deleting it takes its incremental descendants along.

On a mock with a control API the suite moves the clock; on a real service it waits for the
real transitions, up to --timeout.
"""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests import lifecycle
from contract_tests.api import Api, Source
from contract_tests.lifecycle import ENDED


@pytest.fixture
def writable(api: Api) -> Api:
    if api.target.read_only:
        pytest.skip("read-only: no create or delete")
    return api


def source_of(api: Api, kind: str) -> Source:
    for source in api.sources():
        if source.kind == kind:
            return source
    option = "--instance-id" if kind == "instance" else "--ha-id"
    pytest.skip(f"no {kind} to back up: give {option}")


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
    source = source_of(api, kind)
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
    source = (api.sources() or [source_of(api, "instance")])[0]
    full = back_up(api, source)["id"]
    wait_until_ended(api, full)
    first = back_up(api, source, full)
    if api.show(first["id"]).document("backup").get("status") not in ENDED:
        lifecycle.running_backup_delete_is_refused(api, full, [full, first["id"]])
    wait_until_ended(api, first["id"])
    second = back_up(api, source, first["id"])["id"]
    wait_until_ended(api, second)
    lifecycle.deleted_backup_and_descendants_are_gone(api, full, [first["id"], second], source)
