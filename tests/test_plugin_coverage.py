"""The pytest plugin's contract coverage: a consumer's session, run by `pytester`, sees what its
tests made the backups mocks answer, summed across the reset before each test and across mocks,
in the terminal table, `--backups-coverage-json` and `--backups-coverage-html`; and
`--backups-coverage-fail-under` fails a session that covers less, or that measured nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

# `pytester` drops, after each test, the modules first imported during it; httpx imports httpcore
# on its first request and keeps the exception classes of that copy, so a later request that
# fails would raise an exception httpx no longer recognises. Imported here, httpcore stays.
import httpcore  # noqa: F401
import httpx
import pytest
from fixture_ids import MYSQL, PERCONA_BACKUP

from mockserver import Settings, create_app
from mockserver.plugin.threaded import ThreadedServer

pytest_plugins = ("pytester",)

MISSING = "00000000-0000-4000-8000-000000000000"
CONSUMER_INI = "[pytest]\naddopts = --strict-markers -p no:cacheprovider\nfilterwarnings = error\n"

# Six operations across three tests, two mocks and a reset in the middle of a test: getBackups
# (on both mocks), getBackupById (200 and 404), createBackup, deleteBackup, getFlavors and
# getInstance. Every consumer check passes: what differs between runs is the plugin's options.
CONSUMER_TESTS = f"""
import httpx


def test_lists_reads_and_starts_backups(backups_mock):
    base, headers = backups_mock.base_url, backups_mock.headers
    assert httpx.get(base + "/backups", headers=headers).status_code == 200
    assert httpx.get(base + "/backups/{PERCONA_BACKUP}", headers=headers).status_code == 200
    assert httpx.get(base + "/backups/{MISSING}", headers=headers).status_code == 404
    body = {{"backup": {{"name": "nightly", "instance": "{MYSQL}"}}}}
    assert httpx.post(base + "/backups", headers=headers, json=body).status_code == 202


def test_deletes_a_backup_then_resets_and_reads_flavors(backups_mock):
    base, headers = backups_mock.base_url, backups_mock.headers
    assert httpx.delete(base + "/backups/{PERCONA_BACKUP}", headers=headers).status_code == 202
    backups_mock.reset()  # the answers before it still count for the session
    assert httpx.get(base + "/flavors", headers=headers).status_code == 200


def test_another_mock_lists_instances_and_backups(backups_mock_factory):
    mock = backups_mock_factory(quota=5)
    assert httpx.get(mock.base_url + "/instances", headers=mock.headers).status_code == 200
    assert httpx.get(mock.base_url + "/backups", headers=mock.headers).status_code == 200
"""
EXPECTED = {
    "getBackups": {"200": 2},
    "getBackupById": {"200": 1, "404": 1},
    "createBackup": {"202": 1},
    "deleteBackup": {"202": 1},
    "getFlavors": {"200": 1},
    "getInstance": {"200": 1},
}
COVERED = sum(len(statuses) for statuses in EXPECTED.values())


@pytest.fixture
def consumer(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(CONSUMER_INI)
    pytester.makepyfile(test_backups=CONSUMER_TESTS)
    return pytester


def answered(document: dict[str, Any]) -> dict[str, dict[str, int]]:
    """The statuses answered, with their counts, of each operation that answered."""
    return {
        row["operation"]: {status: count for status, count in row["statuses"].items() if count}
        for row in document["operations"]
        if row["answers"]
    }


def table(output: str) -> list[str]:
    """The lines of the coverage section of a session's terminal output."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if "backups API coverage" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("="))
    return lines[start + 1 : end]


def test_a_session_driving_six_operations_shows_exactly_those_covered_in_table_json_and_page(
    consumer: pytest.Pytester,
) -> None:
    result = consumer.runpytest(
        "--backups-coverage-json=out/coverage.json", "--backups-coverage-html=out/page/c.html"
    )

    result.assert_outcomes(passed=3)
    document = json.loads((consumer.path / "out" / "coverage.json").read_text())
    assert answered(document) == EXPECTED
    assert (document["covered"], document["documented"]) == (COVERED, 236)
    assert document["percent"] == 3.0
    assert len(document["mocks"]) == 2 and document["errors"] == []
    assert document["unmatched"]["count"] == 0 and document["undocumented"] == 0

    page = (consumer.path / "out" / "page" / "c.html").read_text()
    cells = re.findall(r'data-operation="(\w+)" data-status="(\d+)" data-count="(\d+)"', page)
    assert {(op, status): int(count) for op, status, count in cells if count != "0"} == {
        (op, status): count
        for op, statuses in EXPECTED.items()
        for status, count in statuses.items()
    }
    assert "3.0%</strong>" in page and "<a href" not in page  # no live mock to link to

    lines = table(result.stdout.str())
    assert lines[0].startswith(f"3.0% of the documented statuses answered ({COVERED} of 236)")
    assert "6 of 21 operations called, by 2 mock(s)" in lines[0]
    rows = {line.split()[0]: line for line in lines[1:7]}
    assert set(rows) == set(EXPECTED)
    assert "GET /v1.0/{accountId}/backups/{backupId}" in rows["getBackupById"]
    assert re.search(r"  200x1 404x1 +never: 400 401 403 405 413 ", rows["getBackupById"])
    assert re.search(r"  200x2 +never: 400 401 403 404 405 413 ", rows["getBackups"])
    uncalled = " ".join(lines[7:]).split("):", 1)
    assert uncalled[0] == "never called (15"
    assert not set(EXPECTED) & {name.strip(" ,") for name in uncalled[1].split()}
    assert "getVersions," in uncalled[1]


def test_fail_under_fails_the_session_above_the_achieved_percent_and_passes_at_it(
    consumer: pytest.Pytester,
) -> None:
    above = consumer.runpytest("--backups-coverage-fail-under=3.1")
    at = consumer.runpytest("--backups-coverage-fail-under", "3")

    above.assert_outcomes(passed=3)  # every test passed; the session fails on coverage alone
    assert above.ret == pytest.ExitCode.TESTS_FAILED
    above.stdout.fnmatch_lines(
        [
            "FAILED: --backups-coverage-fail-under 3.1: 3.0% of the documented statuses answered,"
            " below 3.1%"
        ]
    )
    assert at.ret == pytest.ExitCode.OK
    at.stdout.fnmatch_lines(["3.0% meets --backups-coverage-fail-under 3"])


def test_a_session_using_no_mock_prints_nothing_unless_asked_and_then_fails_fail_under(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(CONSUMER_INI)
    pytester.makepyfile("def test_nothing_of_the_backups_api():\n    pass\n")

    quiet = pytester.runpytest()
    asked = pytester.runpytest("--backups-coverage-fail-under=1", "--backups-coverage-json=c.json")

    assert quiet.ret == pytest.ExitCode.OK
    assert "backups API coverage" not in quiet.stdout.str()
    assert asked.ret == pytest.ExitCode.TESTS_FAILED
    asked.stdout.fnmatch_lines(
        [
            "no backups mock was used in this session: nothing was measured",
            "FAILED: --backups-coverage-fail-under 1: no backups mock was used in this session,"
            " nothing measured",
        ]
    )
    assert json.loads((pytester.path / "c.json").read_text())["mocks"] == []


@pytest.fixture
def running_mock() -> Iterator[str]:
    with ThreadedServer(create_app(Settings(frozen_clock=True))) as server:
        yield server.url


def test_a_mock_started_elsewhere_counts_only_the_answers_of_this_session(
    consumer: pytest.Pytester, running_mock: str
) -> None:
    before = httpx.get(f"{running_mock}/v1.0/1234/ha", headers={"X-Auth-Token": "t"})
    assert before.status_code == 200  # answered before the session: not the consumer's

    result = consumer.runpytest(
        f"--backups-mock-url={running_mock}", "--backups-coverage-json=c.json"
    )

    result.assert_outcomes(passed=3)
    document = json.loads((consumer.path / "c.json").read_text())
    assert answered(document) == EXPECTED  # getHa absent; the factory's own mock counted too
    assert document["mocks"][0] == running_mock


def test_the_last_tests_answers_count_when_x_stops_the_session_early(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(CONSUMER_INI)
    pytester.makepyfile(
        """
        import httpx

        def test_reads_flavors_then_fails(backups_mock):
            httpx.get(backups_mock.base_url + "/flavors", headers=backups_mock.headers)
            assert False

        def test_never_run(backups_mock):
            pass
        """
    )

    result = pytester.runpytest("-x", "--backups-coverage-json=c.json")

    result.assert_outcomes(failed=1)
    assert answered(json.loads((pytester.path / "c.json").read_text())) == {
        "getFlavors": {"200": 1}
    }


def test_a_mock_whose_coverage_is_unavailable_is_named_and_fails_fail_under_even_at_zero(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(CONSUMER_INI)
    pytester.makeconftest(
        """
        from mockserver.plugin.plugin_mock import BackupsMock
        from mockserver.plugin.pytest_plugin import session_coverage

        def pytest_sessionstart(session):
            # As for a mock at --backups-mock-url that went away: the discard port, no listener.
            session_coverage(session.config).watch(BackupsMock("http://127.0.0.1:9"), clear=True)
        """
    )
    pytester.makepyfile("def test_uses_the_mock(backups_mock):\n    pass\n")

    result = pytester.runpytest("--backups-coverage-fail-under=0")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "warning: the coverage of the mock at http://127.0.0.1:9 is unavailable (*):"
            " its answers are not counted",
            "FAILED: --backups-coverage-fail-under 0: the coverage of some mocks is unavailable*",
        ]
    )
