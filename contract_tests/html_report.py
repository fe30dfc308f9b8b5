"""The report page (`--html PATH`): the closing report as one offline HTML document.

What the text report says (report.py), for a CI artefact people open: where the run went, the
contract coverage matrix of what the target answered (the mock's own page, coverage_page.py, of
the same document: coverage.py), the documented statuses never returned and those no request
can produce, the checks with their outcomes, what did not run, and each failure with the curl
lines that reproduce it. Written whatever the run's outcome, a failure or a stop included.
Everything the page shows comes from the target or the run, so all of it is escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from contract_tests import coverage, report
from contract_tests.exchange import TOKEN_VARIABLE
from contract_tests.ledger import Failure
from contract_tests.omissions import omissions
from contract_tests.run import Run
from mockserver.control.coverage_page import matrix_html, page

TITLE = "contract-tests report"


def write(run: Run, path: Path) -> None:
    path.write_text(render(run), encoding="utf-8")


def render(run: Run) -> str:
    document, never = coverage.of_run(run)
    failures = run.ledger.failures()
    sections = [
        _verdict(run, failures),
        f'<pre id="run">{escape(chr(10).join(report.target_lines(run)))}</pre>',
        "<h2>Contract coverage: what the target answered</h2>",
        f'<p class="summary" id="reachable">Documented statuses returned:'
        f" {escape(coverage.of_the_reachable(document, never))}.</p>",
        matrix_html(
            document,
            unreachable={(n.operation, n.status) for n in never if n.reason is not None},
        ),
        *_never(document, never),
        *_checks(run),
        *_not_run(run),
        f'<h2>Cleanup</h2>\n<p id="cleanup">{escape(report.cleanup_line(run))}</p>',
        *_failures(failures),
    ]
    return page(TITLE, sections)


def _verdict(run: Run, failures: list[Failure]) -> str:
    problems = [f"{len(failures)} failure(s)"] if failures else []
    if run.cleanup.leaves_anything():
        problems.append("cleanup left something behind")
    if run.settings.require_all and omissions(run):
        problems.append("checks did not run (--require-all)")
    if run.shutdown.requested:
        problems.append(f"stopped: {run.shutdown.reason}")
    verdict = "failed: " + "; ".join(problems) if problems else "passed"
    return f'<p class="summary" id="verdict">The run {escape(verdict)}.</p>'


def _never(document: dict[str, Any], never: list[coverage.Never]) -> list[str]:
    gaps = [item for item in never if item.reason is None]
    lines = ["<h2>Documented statuses never returned</h2>"]
    if gaps:
        lines.append('<ul id="never-returned">')
        lines += [
            f'<li data-operation="{escape(item.operation)}" data-status="{item.status}">'
            f"{escape(item.operation)}: {item.status}</li>"
            for item in gaps
        ]
        lines.append("</ul>")
    else:
        lines.append('<p id="never-returned">None but those no request can produce.</p>')
    found = coverage.unreachable(document, never)
    if not found:
        return lines
    lines += ["<h3>No request can produce these on this target</h3>", '<ul id="unreachable">']
    for status, which, reason in found:
        lines.append(
            f'<li data-status="{status}"><strong>{status} on {escape(which)}</strong>:'
            f" {escape(reason)}</li>"
        )
    lines.append("</ul>")
    return lines


def _checks(run: Run) -> list[str]:
    lines = [
        "<h2>Checks run</h2>",
        '<table id="checks">',
        '<thead><tr><th class="operation">check</th><th>passed</th><th>failed</th></tr></thead>',
        "<tbody>",
    ]
    for name, (passed, failed) in sorted(run.ledger.checks().items()):
        shade = "none" if failed else "mid"
        lines.append(
            f'<tr data-check="{escape(name)}"><td class="operation">{escape(name)}</td>'
            f'<td>{passed:,}</td><td class="{shade}">{failed:,}</td></tr>'
        )
    return [*lines, "</tbody>", "</table>"]


def _not_run(run: Run) -> list[str]:
    missing = omissions(run)
    if not missing and not run.skipped:
        return []
    lines = ["<h2>Not run</h2>", '<ul id="not-run">']
    lines += [
        f"<li><strong>{escape(name)}</strong>: {escape(why)}</li>" for name, why in missing.items()
    ]
    lines += [
        f"<li>test {escape(test)} skipped: {escape(why)}</li>" for test, why in run.skipped.items()
    ]
    return [*lines, "</ul>"]


def _failures(failures: list[Failure]) -> list[str]:
    lines = [f"<h2>Failures: {len(failures)}</h2>"]
    if not failures:
        return lines
    lines.append('<ol id="failures">')
    for number, failure in enumerate(failures, 1):
        lines.append(
            f'<li class="failure" id="failure-{number}" data-check="{escape(failure.check)}">'
            f"<strong>[{escape(failure.check)}] {escape(failure.title)}</strong>"
            f" ({escape(failure.where)})"
            f'<pre class="reason">{escape(failure.reason.strip())}</pre>'
        )
        if failure.curls:
            lines.append(f'<pre class="curl">{escape(chr(10).join(failure.curls))}</pre>')
        lines.append("</li>")
    lines.append("</ol>")
    if any(failure.curls for failure in failures):
        lines.append(f"<p>The curl lines read the token from ${escape(TOKEN_VARIABLE)}.</p>")
    return lines
