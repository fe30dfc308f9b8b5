"""contract-tests says which documented statuses the target answered (the coverage matrix, in the
closing report and in the `--html` page) and which it never returned, apart from those that no
request can produce on it, each with its reason; the page carries each failure with its curl
lines, also when the run fails."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import broken_mocks
import pytest
from broken_wrapper import ACCOUNT, TOKEN, Answer, Broken, Request

from contract_tests import coverage, html_report
from contract_tests.contract import Contract
from contract_tests.ledger import Failure
from contract_tests.report import render
from contract_tests.run import Run
from contract_tests.settings import Settings
from mockserver.plugin.threaded import ThreadedServer

LIST = "GET /v1.0/{accountId}/backups"


class ForbiddenAsNotFound(Broken):
    """A target that hides other accounts: what it should refuse 403 (the token does not hold
    the account) it answers 404, as if there were nothing there. It never returns 403."""

    def after(self, request: Request, answer: Answer) -> None:
        if answer.status == 403:
            answer.status = 404
            answer.replace_json({"itemNotFound": {"code": 404, "message": "Not found."}})


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: str
    page: str  # the --html page, unescaped where it matters to the test: as written


@pytest.fixture(scope="module")
def forbidden_as_not_found(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Finished]:
    """One run of the account checks (`-k forbidden`: the 20 operations that take a token, a
    few seconds) against a target that never returns 403, with --html."""
    page = tmp_path_factory.mktemp("page") / "report.html"
    with ThreadedServer(ForbiddenAsNotFound(broken_mocks.true_mock())) as server:
        arguments = ["--base-url", f"{server.url}/v1.0/{ACCOUNT}", "--token", TOKEN]
        arguments += ["-k", "forbidden", "--seed", "1", "--html", str(page)]
        done = subprocess.run(
            [sys.executable, "-m", "contract_tests", *arguments],
            capture_output=True,
            text=True,
            timeout=300,
        )
    yield Finished(done.returncode, done.stdout + done.stderr, page.read_text(encoding="utf-8"))


def test_the_closing_report_shows_the_matrix_and_the_statuses_never_returned() -> None:
    run = Run(Settings(None, None, None, None, seed=42))
    run.checks_tokens = True
    for _ in range(3):
        run.ledger.saw(LIST, 200)
    run.ledger.saw("PATCH /v1.0/{accountId}/backups", 405)  # a method the path lacks
    run.ledger.saw("GET /v9.9/1234/backups (no such path in the spec)", 404)
    text = render(run)
    documented = sum(len(o.statuses) for o in Contract.load().operations)
    assert f"returned (1 of {documented}, 21 operations)" in text
    row = next(line for line in text.splitlines() if line.split()[:1] == ["getBackups"])
    assert LIST in row and "9.1%" in row and "200 x3" in row
    assert "answers to no operation (an undocumented method, an unknown path): 2" in text
    never = text[text.index("Documented statuses never returned") :]
    gaps = never[: never.index("No request can produce")]
    listed = next(line for line in gaps.splitlines() if line.split()[:1] == ["getBackups"])
    # Every documented status a request can produce, and none of those it cannot (405, 422,
    # 5xx): those are below, each with its reason.
    assert listed.split(maxsplit=1)[1] == "400, 401, 403, 404, 413"
    assert "405 on every operation" in never and "a 405 answers a method" in never
    assert "401 on getVersions" in never and "security: []" in never


def test_what_no_request_can_produce_follows_the_spec_and_the_target() -> None:
    contract = Contract.load()
    nothing = coverage.document(contract, Run(Settings(None, None, None, None)).ledger)

    def reasons(checks_tokens: bool) -> dict[tuple[str, int], str | None]:
        facts = coverage.Facts(contract.spec, checks_tokens)
        return {(n.operation, n.status): n.reason for n in coverage.never_returned(nothing, facts)}

    checked, lenient = reasons(checks_tokens=True), reasons(checks_tokens=False)
    # A target that knows what a token holds can answer 403 anywhere an account is named...
    assert checked["getBackups", 403] is None and lenient["getBackups", 403] is not None
    # ... and refuses an account id over 64 characters 403 before it could be 400: then an
    # operation with nothing else to get wrong can never be 400, while one with a query can.
    assert checked["getBackupById", 400] is not None and lenient["getBackupById", 400] is None
    assert checked["getBackups", 400] is None
    # 404 where a path names something, or the description says when; 422 where it says when.
    assert checked["getFlavors", 404] is not None and checked["getFlavorById", 404] is None
    assert checked["getBackups", 404] is None  # its description: an unknown datastore
    assert checked["deleteBackup", 422] is None
    assert checked["deleteAutomatedBackupById", 422] is not None
    assert checked["getVersions", 401] is not None and checked["getBackups", 401] is None
    assert all(checked[o.operation_id, 405] is not None for o in contract.operations)
    assert all(checked[o.operation_id, 413] is None for o in contract.operations)


def test_a_target_that_never_returns_a_status_shows_it_as_never_returned(
    forbidden_as_not_found: Finished,
) -> None:
    done = forbidden_as_not_found
    assert done.returncode == 1, done.output[-6000:]
    never = done.output[done.output.index("Documented statuses never returned (") :]
    gaps = never[: never.index("No request can produce")]
    for operation in ("getBackups", "createBackup", "deleteAutomatedBackupById"):
        line = next(line for line in gaps.splitlines() if line.split()[:1] == [operation])
        assert "403" in line.split(maxsplit=1)[1].split(", "), line
    assert "[foreign_account_is_forbidden] An account the token does not hold is not refused" in (
        done.output
    )


def test_the_html_page_shows_the_matrix_and_each_failure_with_its_curl_lines(
    forbidden_as_not_found: Finished,
) -> None:
    page = forbidden_as_not_found.page
    assert page.startswith("<!DOCTYPE html>") and "The run failed: " in page
    assert '<table id="matrix">' in page
    assert 'data-operation="getBackups" data-status="403" data-count="0"' in page
    assert '<li data-operation="getBackups" data-status="403">' in page  # never returned
    assert '<tr data-check="foreign_account_is_forbidden">' in page
    failures = re.findall(r'<li class="failure" id="failure-\d+".*?</li>', page, re.DOTALL)
    assert failures and "[foreign_account_is_forbidden]" in failures[0]
    curl = re.search(r'<pre class="curl">(.*?)</pre>', failures[0], re.DOTALL)
    assert curl is not None
    line = html.unescape(curl.group(1))
    assert line.startswith("curl -i -X ") and "/v1.0/contract-tests-not-this-tokens/" in line
    assert '-H "X-Auth-Token: $CONTRACT_TESTS_TOKEN"' in line and f": {TOKEN}" not in line


def test_the_html_page_escapes_what_the_target_and_the_run_said() -> None:
    run = Run(Settings(None, None, None, None))
    run.ledger.saw(LIST, 200)
    hostile = "<script>alert(1)</script>"
    curl = f"curl -i -X GET 'http://host/v1.0/1234/backups?q={hostile}'"
    run.ledger.failed(Failure("a_check", hostile, f"it said {hostile}", (curl,), hostile))
    page = html_report.render(run)
    assert "<script>" not in page
    assert html.escape(curl) in page and 'id="failure-1"' in page
    assert 'data-operation="getBackups" data-status="200" data-count="1"' in page
