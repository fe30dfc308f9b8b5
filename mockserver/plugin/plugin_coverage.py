"""The contract coverage of a test session: what the consumer's tests made the backups mocks
answer, by operation and documented status, and the documented statuses they never did.

Each mock counts its answers (`GET /__mock/coverage`), but from zero after every reset, and the
plugin resets its mocks before every test. So the session keeps its own sum: the plugin watches
every mock it hands out (the session's, the factory's, one at --backups-mock-url) and reads a
mock's counters just before a handle wipes them (a reset, `clear_coverage`) and before the handle
closes at the end of the session. Mocks are wiped only when a test takes them (the fixtures
reset them then), so that costs one GET per test that used a mock, and one per mock at the end;
a mock no test took again is not read again. Answers a helper gets from the API itself
(`add_schedule`, `copy_backup`) count as the test's.

The session's document is the mock's own shape (`coverage.matrix_document`, control.yaml's
`Coverage`), rebuilt from the summed counts over this package's spec, so that the terminal
table, `--backups-coverage-json` and `--backups-coverage-html` show the same figures.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter, deque
from html import escape
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.control.coverage import EXAMPLES, matrix_document
from mockserver.control.coverage_page import matrix_html, page
from mockserver.plugin.plugin_mock import BackupsMock
from mockserver.resources import SPEC_PATH
from mockserver.spec import Spec

Json = dict[str, Any]
PLUGIN_NAME = "backups-mock-coverage"
TITLE = "Backups API: contract coverage of the test session"


class SessionCoverage:
    """The answers of every mock the session used, summed (a `MockObserver` of each)."""

    def __init__(self) -> None:
        self._answers: Counter[tuple[str, int]] = Counter()
        self._unmatched = 0
        self._examples: deque[dict[str, str]] = deque(maxlen=EXAMPLES)
        self.mocks: list[str] = []  # the URL of each mock watched, in the order handed out
        self.errors: list[str] = []  # mocks whose counters could not be read, and why

    @property
    def used(self) -> bool:
        return bool(self.mocks)

    def watch(self, mock: BackupsMock, *, clear: bool = False) -> None:
        """Count `mock`'s answers from now on; `clear` its counters first when they may hold
        answers from before the session (a mock started elsewhere). Watching twice is a no-op,
        so the pool can call it on every hand-out."""
        if mock.observer is self:
            return
        if clear:
            try:
                mock.clear_coverage()
            except (httpx.HTTPError, RuntimeError, ValueError) as error:
                self._unreadable(mock, error)
                return
        mock.observer = self
        self.mocks.append(mock.url)

    def before_clear(self, mock: BackupsMock) -> None:
        self._read(mock)

    def before_close(self, mock: BackupsMock) -> None:
        self._read(mock)

    def add(self, document: Json) -> None:
        """Add a mock's coverage document (`GET /__mock/coverage`) to the sum."""
        for row in document["operations"]:
            for counts in (row["statuses"], row["undocumented"]):
                for status, count in counts.items():
                    if count:
                        self._answers[row["operation"], int(status)] += count
        unmatched = document["unmatched"]
        self._unmatched += unmatched["count"]
        self._examples.extend(unmatched["examples"])

    def document(self) -> Json:
        """The coverage document of the session, with the mocks it measured and the errors."""
        operations = Spec.load(SPEC_PATH).operations.values()
        matrix = matrix_document(operations, dict(self._answers), self._unmatched, [])
        matrix["unmatched"]["examples"] = list(self._examples)
        return {**matrix, "mocks": list(self.mocks), "errors": list(self.errors)}

    def _read(self, mock: BackupsMock) -> None:
        try:
            document = mock.coverage()
        except (httpx.HTTPError, RuntimeError, ValueError) as error:
            self._unreadable(mock, error)
            return
        self.add(document)

    def _unreadable(self, mock: BackupsMock, error: Exception) -> None:
        # Said once, and the mock no longer watched: an older mockserver without the endpoint
        # would otherwise fail the read at every test. The consumer's tests go on either way.
        mock.observer = None
        self.errors.append(
            f"the coverage of the mock at {mock.url} is unavailable ({error}):"
            " its answers are not counted"
        )


class CoverageReport:
    """The pytest hooks: the files and the fail-under check at the end of the session, and the
    table in the terminal summary. Registered by pytest_plugin.py as PLUGIN_NAME."""

    def __init__(self, config: pytest.Config) -> None:
        self.coverage = SessionCoverage()
        self.html: str | None = config.getoption("--backups-coverage-html")
        self.json: str | None = config.getoption("--backups-coverage-json")
        self.fail_under: float | None = config.getoption("--backups-coverage-fail-under")
        self.collect_only: bool = config.getoption("collectonly")
        self.document: Json | None = None  # built at the end of the session
        self.lines: list[str] = []  # what the files and the check have to say
        self.failure: str | None = None

    @property
    def asked(self) -> bool:
        """An option asked for coverage: say so even when no mock was used."""
        return self.html is not None or self.json is not None or self.fail_under is not None

    # trylast: after the runner's own pytest_sessionfinish, which tears the session fixtures
    # down when the loop stopped early (-x), so that the last reads (handles closing) are in.
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.collect_only or not (self.coverage.used or self.asked):
            return
        self.document = document = self.coverage.document()
        self._write(document)
        if self.fail_under is not None:
            self._check(document, self.fail_under)
        if self.failure is not None and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.document is None:
            return
        terminalreporter.write_sep("=", "backups API coverage")
        width = terminalreporter._tw.fullwidth
        for line in terminal_lines(self.document, width) + self.lines:
            terminalreporter.write_line(line)
        if self.failure is not None:
            terminalreporter.write_line(f"FAILED: {self.failure}", red=True, bold=True)

    def _write(self, document: Json) -> None:
        try:
            if self.json is not None:
                path = _created(self.json)
                path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
                self.lines.append(f"coverage JSON written to {path}")
            if self.html is not None:
                path = _created(self.html)
                path.write_text(session_page(document), encoding="utf-8")
                self.lines.append(f"coverage page written to {path}")
        except OSError as error:
            self.failure = f"the coverage report could not be written: {error}"

    def _check(self, document: Json, threshold: float) -> None:
        option = f"--backups-coverage-fail-under {threshold:g}"
        if self.failure is not None:
            return
        if self.coverage.errors:
            self.failure = f"{option}: the coverage of some mocks is unavailable (see above)"
        elif not self.coverage.used:
            self.failure = f"{option}: no backups mock was used in this session, nothing measured"
        # The percent as shown (one decimal): a session is judged by the figure it prints.
        elif document["percent"] < threshold:
            self.failure = (
                f"{option}: {document['percent']:.1f}% of the documented statuses answered,"
                f" below {threshold:g}%"
            )
        else:
            self.lines.append(f"{document['percent']:.1f}% meets {option}")


def terminal_lines(document: Json, width: int = 80) -> list[str]:
    """The terminal table: one line per operation answered (its method and path, each status
    answered with its count, the documented statuses never answered), the overall figures, the
    operations never called by name, and what should not happen (undocumented, unmatched)."""
    warnings = [f"warning: {error}" for error in document["errors"]]
    if not document["mocks"]:
        return ["no backups mock was used in this session: nothing was measured", *warnings]
    rows = document["operations"]
    called = [row for row in rows if row["answers"]]
    lines = [
        f"{document['percent']:.1f}% of the documented statuses answered"
        f" ({document['covered']} of {document['documented']}), {len(called)} of {len(rows)}"
        f" operations called, by {len(document['mocks'])} mock(s) over the session"
    ]
    if called:
        names = max(len(row["operation"]) for row in called)
        routes = max(len(row["method"]) + 1 + len(row["path"]) for row in called)
        answered = [_answered(row) for row in called]
        widest = max(len(text) for text in answered)
        for row, text in zip(called, answered, strict=True):
            route = f"{row['method']} {row['path']}"
            never = " ".join(str(status) for status in row["never"]) or "-"
            lines.append(
                f"{row['operation']:<{names}}  {route:<{routes}}  {text:<{widest}}  never: {never}"
            )
    uncalled = [row["operation"] for row in rows if not row["answers"]]
    if uncalled:
        lines += textwrap.wrap(
            f"never called ({len(uncalled)}): " + ", ".join(uncalled),
            width=max(width, 40),
            subsequent_indent="    ",
            break_on_hyphens=False,
        )
    if document["undocumented"]:
        lines.append(
            f"{document['undocumented']} answer(s) with a status their operation does not"
            " document (marked !)"
        )
    unmatched = document["unmatched"]
    if unmatched["count"]:
        examples = unmatched["examples"]
        last = ", ".join(f"{e['method']} {e['path']} ({e['status']})" for e in examples)
        lines.append(f"{unmatched['count']} request(s) matched no operation (the last: {last})")
    return lines + warnings


def session_page(document: Json) -> str:
    """The offline page of the session: the mock's matrix, with no links (no mock is left
    running to link to) and a note on what the counts are."""
    mocks = escape(", ".join(document["mocks"]) or "none")
    notes = [
        f'<p class="note">The counts are every answer of the backups mocks this test session'
        f" used, summed over its tests (the mocks reset before each test). Mocks: {mocks}.</p>"
    ]
    if not document["mocks"]:
        notes.append('<p class="note">No backups mock was used: nothing was measured.</p>')
    notes += [f'<p class="note">Warning: {escape(error)}</p>' for error in document["errors"]]
    return page(TITLE, [matrix_html(document, link=None), *notes])


def _answered(row: Json) -> str:
    statuses = [f"{status}x{count}" for status, count in row["statuses"].items() if count]
    statuses += [f"!{status}x{count}" for status, count in row["undocumented"].items()]
    return " ".join(statuses)


def _created(name: str) -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
