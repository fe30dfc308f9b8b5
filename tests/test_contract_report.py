"""The closing report says what was exercised and checked, whether (and where) the run restores
and copies, and each failure comes with curl lines that reproduce it: lines a shell runs as they
are, with the token from a variable; what a stop left, copies in other regions included, comes
with the command that deletes it."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace

import broken_mocks
import httpx
import pytest

from contract_tests.api import Api
from contract_tests.contract import Contract
from contract_tests.exchange import TOKEN_VARIABLE
from contract_tests.inventory import Inventory
from contract_tests.ledger import Failure, Ledger
from contract_tests.regions import Region
from contract_tests.report import last_words, render
from contract_tests.run import Run
from contract_tests.settings import Settings
from contract_tests.target import Target
from contract_tests.timeline import Timeline
from mockserver.plugin.threaded import ThreadedServer


def test_the_report_lists_statuses_checks_and_each_failure_with_its_repro_line() -> None:
    run = Run(Settings(None, None, None, None, seed=42))
    run.ledger.saw("GET /v1.0/{accountId}/backups", 200)
    run.ledger.checked("pages_return_every_item_once", passed=True)
    curl = "curl -i -X GET 'http://host/v1.0/1234/instances/x/backups'"
    title = "Created backup is missing from a list"
    run.ledger.failed(Failure("created_backup_is_visible", title, "x is not listed", (curl,), "t"))
    text = render(run)
    assert "GET /v1.0/{accountId}/backups" in text and "200 x1" in text
    assert "pages_return_every_item_once" in text and "--seed 42" in text
    assert f"1. [created_backup_is_visible] {title}" in text and curl in text


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_repro_line_runs_in_a_shell_and_gets_the_same_answer() -> None:
    with ThreadedServer(broken_mocks.true_mock()) as server, httpx.Client() as http:
        target = Target(f"{server.url}/v1.0/1234", broken_mocks.TOKEN, None, None)
        api = Api(
            target,
            http,
            contract=Contract.load(),
            ledger=Ledger(),
            inventory=Inventory(),
            timeline=Timeline(None, timeout=1),
        )
        answer = api.call("POST", api.path("/backups"), body={"backup": {"name": "it's"}})
        line = answer.curl()
        assert broken_mocks.TOKEN not in line
        environment = {**os.environ, TOKEN_VARIABLE: broken_mocks.TOKEN}
        done = subprocess.run(
            ["bash", "-c", line], capture_output=True, text=True, env=environment, timeout=30
        )
    assert answer.status == 400
    assert done.stdout.startswith("HTTP/1.1 400"), done.stdout + done.stderr


def test_last_words_name_each_schedule_instance_and_backup_left_with_its_delete_command() -> None:
    run = Run(Settings(None, None, None, None))
    run.target = Target("https://db.example.com/v1.0/1234", "t", None, None)
    run.inventory.remember("backup-1")
    run.inventory.remember_schedule("schedule-1")
    run.inventory.remember_instance("instance-1")
    text = last_words(run)
    url = "https://db.example.com/v1.0/1234"
    assert text.index("Schedules this run created") < text.index("Instances this run created")
    assert text.index("Instances this run created") < text.index("Backups this run created")
    header = f'-H "X-Auth-Token: ${TOKEN_VARIABLE}"'
    assert f"curl -X DELETE {header} {url}/schedules/schedule-1" in text
    assert f"curl -X DELETE {header} {url}/instances/instance-1" in text
    assert f"{url}/backups/backup-1" in text
    run.inventory.forget_schedule("schedule-1")
    run.inventory.forget("backup-1")
    run.inventory.forget_instance("instance-1")
    assert last_words(run) == "Nothing this run created is left.\n"


def test_the_report_says_whether_the_run_restores_and_why() -> None:
    settings = Settings("https://db.example.com/v1.0/1234", "t", None, None)
    run = Run(settings, has_control=False)
    run.target = Target(settings.base_url or "", "t", None, None)
    assert "restores    no: the target has no control API" in render(run)
    assert "--allow-restore" in render(run)
    run = Run(replace(settings, allow_restore=True), has_control=False)
    run.target = Target(settings.base_url or "", "t", None, None, restores=True)
    assert "restores    yes (--allow-restore)" in render(run)
    run = Run(Settings(None, None, None, None), has_control=True)
    run.target = Target("http://127.0.0.1:1/v1.0/1234", "t", None, None, restores=True)
    assert "restores    yes (a mock)" in render(run)


def test_the_report_says_whether_the_run_copies_where_and_why() -> None:
    iad = Region("IAD", "https://iad.databases.api.rackspacecloud.com")
    base_url = "https://dfw.databases.api.rackspacecloud.com/v1.0/1234"
    settings = Settings(base_url, "t", None, None)
    run = Run(settings, has_control=False)
    run.target = Target(base_url, "t", None, None, region="DFW")
    assert "copies      no: a copy makes a real backup in another region" in render(run)
    assert "--allow-copy REGION=URL" in render(run)
    run = Run(replace(settings, allow_copy=iad), has_control=False)
    run.target = Target(base_url, "t", None, None, region="DFW", copy_to=iad, elsewhere=(iad,))
    assert f"copies      yes (--allow-copy): to IAD at {iad.root}" in render(run)
    run.target = replace(run.target, region="LON", copy_to=None)
    assert "copies      no: the target is in LON" in render(run)
    run = Run(Settings(None, None, None, None), has_control=True)
    mock = Region("IAD", "http://127.0.0.1:1/iad")
    run.target = Target("http://127.0.0.1:1/v1.0/1234", "t", None, None, copy_to=mock)
    assert "copies      yes (a mock): to IAD at http://127.0.0.1:1/iad" in render(run)


def test_last_words_name_each_copy_left_with_the_command_that_deletes_it_in_its_region() -> None:
    iad = Region("IAD", "https://iad.databases.api.rackspacecloud.com")
    run = Run(Settings(None, None, None, None))
    run.target = Target(
        "https://dfw.databases.api.rackspacecloud.com/v1.0/1234",
        "t",
        None,
        None,
        copy_to=iad,
        elsewhere=(iad,),
    )
    run.inventory.elsewhere("IAD").remember("copy-1")
    text = last_words(run)
    assert "Copies this run made in IAD that may still be there (1):" in text
    header = f'-H "X-Auth-Token: ${TOKEN_VARIABLE}"'
    assert f"curl -X DELETE {header} {iad.root}/v1.0/1234/backups/copy-1" in text
    run.inventory.elsewhere("IAD").forget("copy-1")
    assert last_words(run) == "Nothing this run created is left.\n"
