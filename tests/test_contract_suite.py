"""The contract suite keeps its own promises: it passes against the true mock (in process, and
through the `contract-tests` command against mocks started as processes), it fails against
every broken variant of the mock, and it leaves a target as it found it (every region of it),
even when it fails or is stopped."""

from __future__ import annotations

import json
import re
import select
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import broken_mocks
import httpx
import pytest
from support import FIXTURES, MockProcess

from contract_tests.contract import SAFE_METHODS
from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.plugin.threaded import ThreadedServer

pytestmark = pytest.mark.slow
COMMAND = Path(sys.executable).with_name("contract-tests")
ACCOUNT = broken_mocks.ACCOUNT
TOKEN = broken_mocks.TOKEN


def _fixture_account() -> dict[str, Any]:
    state: dict[str, Any] = json.loads((FIXTURES / "state.json").read_text(encoding="utf-8"))
    return dict(state["accounts"][ACCOUNT])


INSTANCE = next(
    i["id"] for i in _fixture_account()["instances"] if i["status"] == "ACTIVE" and "ha_id" not in i
)
HA = next(h["id"] for h in _fixture_account()["ha_instances"] if h["state"] == "ACTIVE")
FIXTURE_BACKUPS = frozenset(b["id"] for b in _fixture_account()["backups"])
FIXTURE_INSTANCES = frozenset(i["id"] for i in _fixture_account()["instances"])
_FAILED_CHECK = re.compile(r"^\s+\d+\. \[(?P<check>[\w()]+)\]", re.MULTILINE)


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: str

    @property
    def failed_checks(self) -> set[str]:
        """The checks the closing report lists as failed."""
        return set(_FAILED_CHECK.findall(self.output))


def contract_tests(*args: str) -> Finished:
    done = subprocess.run([str(COMMAND), *args], capture_output=True, text=True, timeout=600)
    return Finished(done.returncode, done.stdout + done.stderr)


def pointed_at(url: str, *args: str) -> list[str]:
    return [
        "--base-url",
        f"{url}/v1.0/{ACCOUNT}",
        "--token",
        TOKEN,
        "--instance-id",
        INSTANCE,
        "--ha-id",
        HA,
        *args,
    ]


def junit_totals(path: Path) -> dict[str, int]:
    suite = ElementTree.parse(path).getroot()
    if suite.tag == "testsuites":
        suite = suite[0]
    assert suite.get("name") == "contract-tests"
    return {key: int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped")}


def listed_backups(url: str) -> set[str]:
    answer = httpx.get(f"{url}/v1.0/{ACCOUNT}/backups", headers={"X-Auth-Token": TOKEN})
    assert answer.status_code == 200 and "links" not in answer.json()
    return {backup["id"] for backup in answer.json()["backups"]}


def listed_schedules(url: str) -> set[str]:
    answer = httpx.get(f"{url}/v1.0/{ACCOUNT}/schedules", headers={"X-Auth-Token": TOKEN})
    assert answer.status_code == 200 and "links" not in answer.json()
    return {schedule["id"] for schedule in answer.json()["schedules"]}


def listed_instances(url: str) -> set[str]:
    answer = httpx.get(f"{url}/v1.0/{ACCOUNT}/instances", headers={"X-Auth-Token": TOKEN})
    assert answer.status_code == 200 and "links" not in answer.json()
    return {instance["id"] for instance in answer.json()["instances"]}


# -- the true mock passes -------------------------------------------------------------------------


def test_suite_passes_against_the_mock_in_process(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    done = subprocess.run(
        # --require-all: against the mock in process, no check may be left out.
        [sys.executable, "-m", "contract_tests", "--junit", str(junit), "--require-all"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-8000:]
    totals = junit_totals(junit)
    assert totals["failures"] == totals["errors"] == 0 and totals["tests"] > 50
    assert "contract-tests report" in done.stdout and "Failures: 0" in done.stdout
    assert "\nNot run" not in done.stdout


def test_command_passes_against_a_mock_process_writes_junit_and_leaves_it_as_it_was(
    tmp_path: Path,
) -> None:
    junit = tmp_path / "junit.xml"
    with MockProcess() as mock:  # as `make serve` starts it: real clock, control API on
        done = contract_tests(*pointed_at(mock.url, "--junit", str(junit)))
        backups, schedules = listed_backups(mock.url), listed_schedules(mock.url)
        instances = listed_instances(mock.url)
        elsewhere = other_regions_backups(httpx.get(f"{mock.url}/__mock/state").json())
    assert done.returncode == 0, done.output[-8000:]
    assert junit_totals(junit)["failures"] == 0
    assert backups == FIXTURE_BACKUPS and schedules == set() and instances == FIXTURE_INSTANCES
    assert elsewhere == set()  # its copies, in IAD (and its schedules' in any region), are gone


def test_command_waits_for_real_transitions_on_a_target_without_control_api(
    tmp_path: Path,
) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({TOKEN: [ACCOUNT]}))
    options = ["--no-control", "--new-seconds", "0.2", "--building-seconds", "0.3"]
    with MockProcess(*options, "--tokens", str(tokens)) as mock:
        done = contract_tests(*pointed_at(mock.url, "--max-examples", "10"))
        backups, schedules = listed_backups(mock.url), listed_schedules(mock.url)
    assert done.returncode == 0, done.output[-8000:]
    assert "control API no: real waits" in done.output
    assert re.search(r"ignored_auth\s+[1-9]\d* / 0", done.output)  # run: the target has tokens
    assert re.search(r"run_now_backs_up_the_source\s+2 / 0", done.output)  # with real waits
    assert backups == FIXTURE_BACKUPS and schedules == set()


def test_a_read_only_run_passes_and_sends_nothing_that_changes_a_thing() -> None:
    mock = create_app(
        Settings(frozen_clock=True, tokens={TOKEN: frozenset({ACCOUNT})}, journal_size=100_000)
    )
    with ThreadedServer(mock) as server:
        done = contract_tests(*pointed_at(server.url, "--read-only", "--max-examples", "10"))
    sent = mock.journal.entries()
    changes = [f"{e['method']} {e['path']}" for e in sent if e["method"] not in SAFE_METHODS]
    assert done.returncode == 0, done.output[-8000:]
    assert len(sent) > 100 and changes == []


def backups_in(mock: Mock) -> set[str]:
    return {b["id"] for b in mock.store.snapshot()["accounts"][ACCOUNT]["backups"]}


# -- every broken variant fails -----------------------------------------------------------------

# The checks that may catch each variant first (the runs stop at their first failure).
CAUGHT_BY = {
    "wrong-success-status": {"status_is_documented", "status_code_conformance"},
    # A backup without its datastore: the restore's check has nothing to compare with.
    "missing-field": {
        "response_schema_conformance",
        "restored_instance_carries_the_backups_datastore",
    },
    "wrong-type": {"response_schema_conformance"},
    "no-cascade": {"deleted_backup_and_descendants_are_gone"},
    "deleted-backup-still-visible": {"deleted_backup_and_descendants_are_gone", "use_after_free"},
    "auth-ignored": {"request_without_token_is_unauthorized", "ignored_auth"},
    "wrong-fault-shape": {"fault_body_is_documented", "response_schema_conformance"},
    "undocumented-status": {"status_is_documented", "status_code_conformance"},
    "pagination-skips-an-item": {"pages_return_every_item_once"},
    "ha-state-unchanged-while-backing-up": {"target_is_busy_while_backup_runs"},
    "running-backup-delete-accepted": {"running_backup_delete_is_refused"},
    "new-backup-missing-from-its-instance-list": {"created_backup_is_visible"},
    "instance-stays-busy-after-its-backup": {"target_is_active_after_backup_ends"},
    "no-quota": {"quota_is_enforced"},
    "cross-account-read": {"other_accounts_cannot_see_a_backup"},
    "non-ascii-description-500": {"text_beyond_ascii_is_accepted_and_kept"},
    "incremental-flag-ignored": {"incremental_flag_chains_to_the_newest_completed_backup"},
    "prefer-ignored": {"prefer_forces_a_documented_status"},
    "first-violation-only": {"bad_request_lists_every_violation"},
    "no-body-limit": {"body_over_the_limit_is_too_large"},
    "schedules-refused": {
        "schedule_is_created_as_asked",
        "valid_schedule_create_of_a_runs_source_is_accepted",
    },
    "run-now-ignored": {"run_now_backs_up_the_source"},
    "second-schedule-accepted": {"second_schedule_for_a_target_is_refused"},
    "next-run-not-recomputed": {"update_recomputes_next_run"},
    "scheduled-backups-not-automated": {
        "run_now_backs_up_the_source",
        "every_due_run_happens_at_its_own_time",
    },
    "no-runs-on-the-clock": {"every_due_run_happens_at_its_own_time"},
    "scheduled-runs-all-full": {"runs_make_a_full_backup_on_day_of_week_and_incrementals_between"},
    "no-retention": {"retention_keeps_the_newest_full_backups"},
    "schedule-delete-takes-its-backups": {"deleted_schedule_is_gone_and_its_backups_stay"},
    "schedule-never-running": {"schedule_is_running_exactly_while_its_backup_runs"},
    "restore-never-active": {"restored_instance_becomes_active"},
    "restore-ignores-the-backups-datastore": {"restored_instance_carries_the_backups_datastore"},
    "instance-delete-takes-its-backups": {"deleted_instance_is_gone_and_its_backups_stay"},
    "deleted-instance-still-shown": {"deleted_instance_is_gone_and_its_backups_stay"},
    "restore-of-an-unfinished-backup-accepted": {"restore_of_an_unfinished_backup_is_refused"},
    "backup-of-a-building-instance-accepted": {"backup_of_a_building_instance_is_refused"},
    "copy-not-made": {"copy_is_listed_in_the_target_region"},
    "copy-made-in-the-source-region": {"copy_is_absent_from_the_source_region"},
    "copy-keeps-the-original-id": {"copy_is_listed_in_the_target_region"},
    "copy-parent-not-remapped": {"incremental_copy_names_the_copy_of_its_parent"},
    "incremental-with-uncopied-parent-copied": {
        "copy_of_an_incremental_whose_parent_has_no_copy_is_refused"
    },
    "copy-to-lon-accepted": {"copy_to_lon_is_refused"},
    "running-backup-copied": {"copy_of_an_unfinished_backup_is_refused"},
    # A 200 is not a status the action documents: every answer the suite gets is judged so.
    "copy-answered-200-with-a-body": {
        "status_is_documented",
        "copy_of_a_completed_backup_is_accepted",
    },
    "deleting-the-original-deletes-the-copy": {"copy_stays_when_its_original_is_deleted"},
    "copy-to-its-own-region-accepted": {"copy_to_its_own_region_is_refused"},
    "copy-completes-without-its-size": {"copy_completes_as_its_original"},
    "deleting-the-copy-deletes-the-original": {"original_stays_when_its_copy_is_deleted"},
}
# The tests that catch a variant, where running only them is enough (`-k`): the rest of the
# suite (schemathesis' phases above all) would only add minutes to `make test`.
SELECTED = {
    variant: subject
    for subject, variants in {
        "restores": (
            "restore-never-active",
            "restore-ignores-the-backups-datastore",
            "instance-delete-takes-its-backups",
            "deleted-instance-still-shown",
            "restore-of-an-unfinished-backup-accepted",
            "backup-of-a-building-instance-accepted",
        ),
        # Every check that catches these is in suite/test_schedules.py: without a selection each
        # run first passes every test before it (the fixture of 36 runs: 56 s before, 48 s after).
        "schedules": (
            "schedules-refused",
            "run-now-ignored",
            "second-schedule-accepted",
            "next-run-not-recomputed",
            "scheduled-backups-not-automated",
            "no-runs-on-the-clock",
            "scheduled-runs-all-full",
            "no-retention",
            "schedule-delete-takes-its-backups",
            "schedule-never-running",
        ),
        # Every check that catches these is in suite/test_copies.py.
        "copies": (
            "copy-not-made",
            "copy-made-in-the-source-region",
            "copy-keeps-the-original-id",
            "copy-parent-not-remapped",
            "incremental-with-uncopied-parent-copied",
            "copy-to-lon-accepted",
            "running-backup-copied",
            "copy-answered-200-with-a-body",
            "deleting-the-original-deletes-the-copy",
            "copy-to-its-own-region-accepted",
            "copy-completes-without-its-size",
            "deleting-the-copy-deletes-the-original",
        ),
    }.items()
    for variant in variants
}
# Breakages that fuzzing finds on some runs and misses on others: the hand-written checks must
# catch them on every run, whatever the seed.
EVERY_SEED = ("no-quota", "non-ascii-description-500")


@dataclass(frozen=True)
class VariantRun:
    finished: Finished
    backups_after: set[str]
    schedules_after: set[str]
    instances_after: set[str]
    elsewhere_after: set[str]  # the backups of every other region (copies)


def run_against(variant: str, seed: int = 7) -> VariantRun:
    """The suite against one variant served by a process of its own, stopping at the first
    failure (`-x`): catching the breakage is what is tested, and most are caught long before
    schemathesis' phases, which run last. A variant in SELECTED runs only the tests named."""
    server = subprocess.Popen(
        [sys.executable, broken_mocks.__file__, variant],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdin is not None
        # The URL, or nothing if the variant cannot start: never a wait without end.
        ready, _, _ = select.select([server.stdout], [], [], 60)
        url = server.stdout.readline().strip() if ready else ""
        assert url.startswith("http://"), f"the {variant} variant did not start"
        options: tuple[str, ...] = ("-x", "--max-examples", "5", "--seed", str(seed))
        if variant in SELECTED:
            options += ("-k", SELECTED[variant])
        finished = contract_tests(*pointed_at(url, *options))
        state = httpx.get(f"{url}/__mock/state").json()
        server.stdin.close()  # the variant's signal to stop
        server.wait(30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)
        for stream in (server.stdin, server.stdout):
            if stream is not None:
                stream.close()
    account = state["accounts"][ACCOUNT]
    return VariantRun(
        finished,
        {b["id"] for b in account["backups"]},
        {s["id"] for s in account.get("schedules", [])},
        {i["id"] for i in account["instances"]},
        other_regions_backups(state),
    )


def other_regions_backups(state: dict[str, Any]) -> set[str]:
    """The backups of every region but the mock's own (the fixture has none there)."""
    return {
        backup["id"]
        for region in state.get("regions", {}).values()
        for held in region["accounts"].values()
        for backup in held.get("backups", [])
    }


@pytest.fixture(scope="module")
def variant_runs() -> Iterator[dict[str, VariantRun]]:
    """Every variant's run, two at a time (this machine has two cores)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield dict(zip(CAUGHT_BY, pool.map(run_against, CAUGHT_BY), strict=True))


def test_every_broken_variant_is_tried() -> None:
    assert set(CAUGHT_BY) == set(broken_mocks.VARIANTS)


@pytest.mark.parametrize("variant", CAUGHT_BY)
def test_suite_fails_against_a_mock_with(variant_runs: dict[str, VariantRun], variant: str) -> None:
    run = variant_runs[variant]
    assert run.finished.returncode == 1, run.finished.output[-6000:]
    expected = CAUGHT_BY[variant]
    assert run.finished.failed_checks & expected, (run.finished.failed_checks, expected)
    assert run.backups_after == FIXTURE_BACKUPS, run.finished.output[-6000:]
    assert run.schedules_after == set(), run.finished.output[-6000:]
    assert run.instances_after == FIXTURE_INSTANCES, run.finished.output[-6000:]
    assert run.elsewhere_after == set(), run.finished.output[-6000:]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("variant", EVERY_SEED)
def test_a_hand_written_check_catches_it_whatever_the_seed(variant: str, seed: int) -> None:
    run = run_against(variant, seed)
    assert run.finished.returncode == 1, run.finished.output[-6000:]
    assert run.finished.failed_checks & CAUGHT_BY[variant], run.finished.failed_checks
