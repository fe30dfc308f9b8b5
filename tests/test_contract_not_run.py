"""What a run checks, and what it says it did not: against a mock it finds what to back up and
runs every check (but those the mock cannot support), restores included; against a real service
it backs up only what it is given or told to discover, schedules only what schedules support,
restores (creates and deletes instances) only with --allow-restore and copies backups to another
region only with --allow-copy; "Not run" names each check left out, and --require-all makes that
a failure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import broken_mocks
import fixture_ids
import pytest
from support import MockProcess

from contract_tests import copies, restores, runs, schedules
from contract_tests.checks import TOKEN_CHECKS
from contract_tests.conformance import COPY_PHASES, RESTORE_PHASES
from mockserver import Settings, create_app
from mockserver.plugin.threaded import ThreadedServer

pytestmark = pytest.mark.slow
COMMAND = Path(sys.executable).with_name("contract-tests")
ACCOUNT = broken_mocks.ACCOUNT
FAST = {"new_seconds": 0.2, "building_seconds": 0.3}


def contract_tests(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), *args], capture_output=True, text=True, timeout=600, check=False
    )


def not_run(output: str) -> dict[str, str]:
    """The report's "Not run" section: check -> why."""
    found = re.search(r"^Not run[^\n]*\n((?:  .*\n)+)", output, re.MULTILINE)
    if found is None:
        return {}
    lines = [line.strip().split(": ", 1) for line in found.group(1).splitlines()]
    return {name: why for name, why in lines}


def test_a_mock_given_only_a_url_and_a_token_gets_every_check_but_the_token_ones() -> None:
    with MockProcess() as mock:  # as `make serve` starts it: any token serves any account
        done = contract_tests("--base-url", f"{mock.url}/v1.0/{ACCOUNT}", "--token", "anything")
        # Only the token checks (suite/test_auth.py): what --require-all does with a check in
        # "Not run" needs no second run of everything (20 s of `make test`).
        strict = contract_tests(
            "--base-url",
            f"{mock.url}/v1.0/{ACCOUNT}",
            "--token",
            "anything",
            "--require-all",
            "-k",
            "auth",
        )
    assert done.returncode == 0, done.stdout[-6000:]
    assert set(not_run(done.stdout)) == set(TOKEN_CHECKS), not_run(done.stdout)
    assert all("--tokens" in why for why in not_run(done.stdout).values())
    assert re.search(r"backs up +single instance \S+ \(discovered", done.stdout)
    assert re.search(r"backs up +HA instance \S+ \(discovered", done.stdout)
    # The schedules' too, on the clock included, the restores' (a mock is restored into) and
    # the copies' (to another of its regions).
    for check in (*schedules.CHECKS, *runs.CHECKS, *restores.CHECKS, *copies.CHECKS):
        assert re.search(rf"\n  {check} +[1-9]\d* / 0\n", done.stdout), check
    assert "restores    yes (a mock)" in done.stdout
    assert f"copies      yes (a mock): to IAD at {mock.url}/iad" in done.stdout
    assert strict.returncode == 1, strict.stdout[-6000:]
    assert "Not run (a failure: --require-all)" in strict.stdout
    assert all("--tokens" in not_run(strict.stdout)[check] for check in TOKEN_CHECKS)


def test_a_target_without_control_api_backs_up_only_what_it_is_given_or_may_discover() -> None:
    accounts = frozenset({ACCOUNT, broken_mocks.OTHER_ACCOUNT})
    settings = Settings(control=False, tokens={broken_mocks.TOKEN: accounts}, **FAST)
    told, left_alone = create_app(settings), create_app(settings)
    # The module of the quota and isolation checks (not every test whose name says "account":
    # the token checks of test_auth.py send refused creates to other accounts).
    selected = "lifecycle or test_account or schedules"
    base = ("--token", broken_mocks.TOKEN, "--max-examples", "5", "-k", selected)
    with ThreadedServer(left_alone) as server:
        alone = contract_tests("--base-url", f"{server.url}/v1.0/{ACCOUNT}", *base)
    with ThreadedServer(told) as server:
        other = f"{server.url}/v1.0/{broken_mocks.OTHER_ACCOUNT}"
        options = ("--discover", "--other-account", other)
        found = contract_tests("--base-url", f"{server.url}/v1.0/{ACCOUNT}", *base, *options)
    assert alone.returncode == 0, alone.stdout[-6000:]
    assert not left_alone.journal.entries("POST")  # it created nothing
    skipped = not_run(alone.stdout)
    assert "give --instance-id (or --discover)" in skipped["created_backup_is_visible"]
    assert "--quota" in skipped["quota_is_enforced"]
    assert "--other-account" in skipped["other_accounts_cannot_see_a_backup"]
    assert "give --instance-id (or --discover)" in skipped["run_now_backs_up_the_source"]
    assert found.returncode == 0, found.stdout[-6000:]
    assert "created_backup_is_visible" not in not_run(found.stdout)
    # The schedules' checks run with real waits; those of their runs need the mock's clock.
    assert not set(schedules.CHECKS) & set(not_run(found.stdout))
    for check in runs.CHECKS:
        assert "no control API" in not_run(found.stdout)[check], not_run(found.stdout)
    assert re.search(r"other_accounts_cannot_see_a_backup +1 / 0", found.stdout)
    assert any(
        e["path"].startswith(f"/v1.0/{broken_mocks.OTHER_ACCOUNT}/backups/")
        for e in told.journal.entries("DELETE")
    )
    assert re.search(r"backs up +single instance \S+ \(discovered", found.stdout)
    assert any(e["status"] == 202 for e in told.journal.entries("POST"))


def test_a_source_whose_datastore_schedules_do_not_support_is_not_scheduled() -> None:
    settings = Settings(control=False, tokens={broken_mocks.TOKEN: frozenset({ACCOUNT})}, **FAST)
    mock = create_app(settings)
    legacy = ("--instance-id", fixture_ids.LEGACY, "-k", "schedules")  # ACTIVE, mysql 5.5
    with ThreadedServer(mock) as server:
        done = contract_tests(
            "--base-url", f"{server.url}/v1.0/{ACCOUNT}", "--token", broken_mocks.TOKEN, *legacy
        )
    assert done.returncode == 0, done.stdout[-6000:]
    skipped = not_run(done.stdout)
    for check in schedules.CHECKS:
        assert "mysql 5.5" in skipped[check] and "MySQL 5.6" in skipped[check], skipped
    assert not [e for e in mock.journal.entries("POST") if e["path"].endswith("/schedules")]


def test_a_target_without_control_api_is_restored_into_only_with_allow_restore() -> None:
    accounts = frozenset({ACCOUNT, broken_mocks.OTHER_ACCOUNT})
    # A build longer than the checks made while it lasts take: none of them races its end.
    fast = {**FAST, "build_seconds": 1.5}
    settings = Settings(control=False, tokens={broken_mocks.TOKEN: accounts}, **fast)
    refused, allowed = create_app(settings), create_app(settings)
    base = ("--token", broken_mocks.TOKEN, "--instance-id", fixture_ids.SCHEDULABLE)
    # Every part of the run that sends an instance create or delete (the machine restores only
    # through the same guarded Api, where restores are allowed).
    everything = ("-k", "restores or spec_conformance or auth", "--max-examples", "5")
    with ThreadedServer(refused) as server:
        url = f"{server.url}/v1.0/{ACCOUNT}"
        strict = contract_tests("--base-url", url, *base, *everything, "--require-all")
    with ThreadedServer(allowed) as server:
        url = f"{server.url}/v1.0/{ACCOUNT}"
        done = contract_tests("--base-url", url, *base, "-k", "restores", "--allow-restore")
    # Without it: no create of an instance at all, no delete of one that is there.
    assert strict.returncode == 1, strict.stdout[-6000:]
    assert "Not run (a failure: --require-all)" in strict.stdout and "Failures: 0" in strict.stdout
    assert not [e for e in refused.journal.entries("POST") if e["path"].endswith("/instances")]
    deletes = [e for e in refused.journal.entries("DELETE") if "/instances/" in e["path"]]
    assert deletes and {e["status"] for e in deletes} <= {401, 404}  # each named nothing
    skipped = not_run(strict.stdout)
    for check in (*restores.CHECKS, RESTORE_PHASES):
        assert "--allow-restore" in skipped[check], skipped
    assert "restores    no: the target has no control API" in strict.stdout
    # With it: every restore check, with real waits for the build, and nothing left.
    assert done.returncode == 0, done.stdout[-6000:]
    for check in restores.CHECKS:
        assert re.search(rf"\n  {check} +[1-9]\d* / 0\n", done.stdout), check
    assert "restores    yes (--allow-restore)" in done.stdout
    fixture = create_app(settings).store.snapshot()["accounts"][ACCOUNT]
    state = allowed.store.snapshot()["accounts"][ACCOUNT]
    for kind in ("instances", "backups"):
        assert {i["id"] for i in state[kind]} == {i["id"] for i in fixture[kind]}, kind


def test_a_target_without_control_api_copies_backups_only_with_allow_copy() -> None:
    settings = Settings(control=False, tokens={broken_mocks.TOKEN: frozenset({ACCOUNT})}, **FAST)
    refused, allowed = create_app(settings), create_app(settings)
    base = ("--token", broken_mocks.TOKEN, "--instance-id", fixture_ids.SCHEDULABLE)
    # Every part of the run that may send a copy action (the machine copies only through the
    # same guarded Api, where copies are allowed).
    everything = ("-k", "copies or spec_conformance or auth or machine", "--max-examples", "5")
    with ThreadedServer(refused) as server:
        url = f"{server.url}/dfw/v1.0/{ACCOUNT}"  # DFW's endpoint: the run knows its region
        strict = contract_tests("--base-url", url, *base, *everything, "--require-all")
    with ThreadedServer(allowed) as server:
        url = f"{server.url}/dfw/v1.0/{ACCOUNT}"
        iad = f"IAD={server.url}/iad"
        done = contract_tests("--base-url", url, *base, "-k", "copies", "--allow-copy", iad)
    # Without it: no copy action at all.
    assert strict.returncode == 1, strict.stdout[-6000:]
    assert "Not run (a failure: --require-all)" in strict.stdout and "Failures: 0" in strict.stdout
    assert not [e for e in refused.journal.entries("POST") if e["path"].endswith("/action")]
    skipped = not_run(strict.stdout)
    for check in (*copies.CHECKS, COPY_PHASES):
        assert "--allow-copy" in skipped[check], skipped
    assert "copies      no: a copy makes a real backup" in strict.stdout
    # With it: every copy check, with real waits for the copies, and nothing left anywhere.
    assert done.returncode == 0, done.stdout[-6000:]
    for check in copies.CHECKS:
        assert re.search(rf"\n  {check} +[1-9]\d* / 0\n", done.stdout), check
    assert f"copies      yes (--allow-copy): to IAD at {server.url}/iad" in done.stdout
    fixture = create_app(settings).regions.snapshot()
    assert backups_by_region(allowed.regions.snapshot()) == backups_by_region(fixture)


def backups_by_region(state: dict[str, Any]) -> dict[str, set[str]]:
    """The ids of the backups of every region (the own region's at the top of the document)."""
    regions = {"": state, **state["regions"]}
    return {
        code: {b["id"] for held in region["accounts"].values() for b in held.get("backups", [])}
        for code, region in regions.items()
    }


def test_an_allow_copy_the_run_cannot_use_stops_it_before_it_sends_anything() -> None:
    mock = create_app(Settings(frozen_clock=True, region="IAD"))
    with ThreadedServer(mock) as server:
        base = ("--base-url", f"{server.url}/v1.0/{ACCOUNT}", "--token", "t")
        lon = contract_tests(*base, "--allow-copy", f"LON={server.url}/lon")
        own = contract_tests(*base, "--allow-copy", f"{server.url}/iad")  # the mock is IAD
    assert lon.returncode == 4 and "backups are not copied to LON" in lon.stderr
    assert own.returncode == 4, own.stdout[-3000:]
    assert "--allow-copy names IAD, the target's own region" in own.stdout + own.stderr
    assert not mock.journal.entries("POST")
