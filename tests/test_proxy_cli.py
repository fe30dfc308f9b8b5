"""The proxy as users start it: `mockserver --upstream` as a process (its log, its JUnit file on
exit), and the pytest plugin pointed at it with --backups-fail-on-violation."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from broken_mocks import build, true_mock
from broken_wrapper import ACCOUNT, TOKEN
from fixture_ids import PERCONA_BACKUP
from support import MockProcess

from mockserver.plugin.threaded import ThreadedServer

HEADERS = {"X-Auth-Token": TOKEN}
BACKUP = f"/v1.0/{ACCOUNT}/backups/{PERCONA_BACKUP}"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def missing_field() -> Iterator[str]:
    """An upstream whose backups lack `datastore` (a broken variant, in this process)."""
    with ThreadedServer(build("missing-field")) as server:
        yield server.url


@pytest.fixture(scope="module")
def true_upstream() -> Iterator[str]:
    with ThreadedServer(true_mock()) as server:
        yield server.url


def test_the_process_logs_each_violation_and_writes_junit_on_exit(
    missing_field: str, tmp_path: Path
) -> None:
    report = tmp_path / "contract.xml"
    with MockProcess("--upstream", missing_field, "--junit", str(report)) as proxy:
        for _ in range(2):
            assert httpx.get(proxy.url + BACKUP, headers=HEADERS).status_code == 200
        assert httpx.get(f"{proxy.url}/v1.0/{ACCOUNT}/flavors", headers=HEADERS).status_code == 200
        assert httpx.get(f"{proxy.url}/v1.0/{ACCOUNT}/nowhere", headers=HEADERS).status_code == 404
        assert proxy.stop() == 0
        output = "".join(proxy.output)

    warnings = [line for line in output.splitlines() if line.startswith("WARNING: contract")]
    assert len(warnings) == 3  # two answers without datastore, one unknown path
    assert f"GET {BACKUP} -> 200: answer-schema: body/backup: 'datastore'" in warnings[0]
    suite = ElementTree.parse(report).getroot().find("testsuite")
    assert suite is not None
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {
        "GET /v1.0/{accountId}/backups/{backupId} -> 200",
        "GET /v1.0/{accountId}/flavors -> 200",
        f"GET /v1.0/{ACCOUNT}/nowhere -> 404",
    }
    assert (suite.get("tests"), suite.get("failures")) == ("3", "2")
    failure = cases["GET /v1.0/{accountId}/backups/{backupId} -> 200"].find("failure")
    assert failure is not None and failure.get("message") == ("2 of 2 exchanges break the contract")
    assert "2 x answer-schema: body/backup: 'datastore' is a required property" in (
        failure.text or ""
    )
    assert cases["GET /v1.0/{accountId}/flavors -> 200"].find("failure") is None
    assert cases["GET /v1.0/{accountId}/flavors -> 200"].get("classname") == "getFlavors"


CONSUMER_TEST = f"""
import httpx


def test_reads_a_backup(backups_mock):
    answer = httpx.get(backups_mock.base_url + "/backups/{PERCONA_BACKUP}",
                       headers=backups_mock.headers)
    assert answer.status_code == 200  # the consumer's own check passes either way
"""


def run_consumer(project: Path, url: str, *options: str) -> subprocess.CompletedProcess[str]:
    (project / "pytest.ini").write_text(
        "[pytest]\naddopts = -p no:cacheprovider\nfilterwarnings = error\n"
    )
    (project / "test_consumer.py").write_text(CONSUMER_TEST)
    skipped = ("BACKUPS_MOCK_", "PYTEST_", "PYTHONPATH")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(skipped)}
    environment.update(BACKUPS_MOCK_URL=url, BACKUPS_MOCK_TOKEN=TOKEN)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *options],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_plugin_fails_a_consumer_test_whose_traffic_through_the_proxy_breaks_the_contract(
    missing_field: str, true_upstream: str, tmp_path: Path
) -> None:
    with MockProcess("--upstream", missing_field) as broken_proxy:
        flagged = run_consumer(tmp_path, broken_proxy.url, "--backups-fail-on-violation")
        unflagged = run_consumer(tmp_path, broken_proxy.url)
    with MockProcess("--upstream", true_upstream) as clean_proxy:
        clean = run_consumer(tmp_path, clean_proxy.url, "--backups-fail-on-violation")

    assert flagged.returncode == 1, flagged.stdout
    assert "1 passed, 1 error" in flagged.stdout
    assert "1 exchange(s) through the proxy at" in flagged.stdout
    assert f"GET /v1.0/{ACCOUNT}/backups/{PERCONA_BACKUP} -> 200: answer-schema:" in flagged.stdout
    assert unflagged.returncode == 0, unflagged.stdout  # off unless asked for
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "1 passed" in clean.stdout


def test_fail_on_violation_against_a_mock_that_is_no_proxy_says_it_checks_nothing(
    tmp_path: Path,
) -> None:
    with MockProcess("--frozen-clock") as mock:
        result = run_consumer(tmp_path, mock.url, "--backups-fail-on-violation")

    assert result.returncode == 1
    assert "is a mock, not a proxy (start it with --upstream URL)" in result.stdout
