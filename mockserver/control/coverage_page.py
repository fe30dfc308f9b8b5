"""The coverage matrix as an HTML page: operations by documented statuses, coloured by count.

One self-contained document (its style inline, no script, no font or stylesheet fetched), so
that it opens offline, from a file as from `GET /__mock/coverage.html`, and in a CI artefact.
It is rendered from the coverage document (coverage.py) and nothing else: the mock's page and
`contract-tests --html` share `matrix_html`, and differ only in where a cell links and what
other sections they carry. Written with `html.escape` rather than a template engine: one table
and a few lines do not pay for a dependency.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from html import escape
from typing import Any
from urllib.parse import urlencode

# A cell's link: to the entries behind (operation, status), or None for no link.
CellLink = Callable[[str, int], str | None]

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }
h1 { font-size: 1.4em; margin: 0 0 .3em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .4em; }
p.summary { font-size: 1.1em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #c8c8c8; padding: .25em .5em; text-align: center; }
th.operation, td.operation { text-align: left; white-space: nowrap; }
td.operation code { color: #555; }
td.cell a { color: inherit; display: block; text-decoration: none; }
td.cell a:hover { text-decoration: underline; }
.none { background: #f6c9c4; }
.low { background: #d7f0d3; }
.mid { background: #9fd998; }
.high { background: #4cae47; color: #fff; }
.absent { background: #f2f2f2; color: #aaa; }
.unreachable { background: repeating-linear-gradient(45deg, #f2f2f2 0 4px, #e2e2e2 4px 8px);
  color: #888; }
.undocumented { background: #ffd27a; }
td.percent { font-weight: 600; }
.legend span { display: inline-block; padding: 0 .5em; margin-right: .3em;
  border: 1px solid #c8c8c8; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
li.failure { margin-bottom: 1em; }
"""


def page(title: str, sections: Iterable[str]) -> str:
    """A whole HTML document of `sections` (HTML fragments), in order."""
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        # An empty icon: else a browser asks the mock for /favicon.ico, a request to no
        # operation that the page it is viewing would then count.
        '<link rel="icon" href="data:,">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<h1>{escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def matrix_html(
    document: dict[str, Any],
    link: CellLink | None = None,
    unreachable: Collection[tuple[str, int]] = (),
) -> str:
    """The summary line, the legend and the table of a coverage document; the cells of
    `unreachable` (operationId, status) are shaded as what no request can produce, not as
    gaps."""
    rows = document["operations"]
    columns = sorted({int(status) for row in rows for status in row["statuses"]})
    undocumented = document["undocumented"]
    head = ['<th class="operation">operation</th>']
    head += [f"<th>{status}</th>" for status in columns]
    head += ["<th>undocumented</th>", "<th>covered</th>"]
    body = [_row(row, columns, link, unreachable) for row in rows]
    unmatched = document["unmatched"]
    examples = ", ".join(_example(e) for e in unmatched["examples"])
    notes = [
        f"{unmatched['count']:,} request(s) matched no operation"
        + (f" (the last: {examples})" if examples else "")
        + ".",
        f"{undocumented:,} answer(s) with a status their operation does not document.",
    ]
    return "\n".join(
        [
            f'<p class="summary" id="overall">Covered: <strong>{document["percent"]:.1f}%</strong>'
            f" ({document['covered']} of {document['documented']} documented statuses of"
            f" {len(rows)} operations)</p>",
            '<p class="legend">Answers: <span class="none">0</span><span class="low">1</span>'
            '<span class="mid">2&ndash;9</span><span class="high">10 or more</span>'
            '<span class="absent">&middot; not documented</span>'
            '<span class="undocumented">answered, not documented</span>'
            + (_UNREACHABLE_LEGEND if unreachable else "")
            + "</p>",
            '<table id="matrix">',
            "<thead><tr>" + "".join(head) + "</tr></thead>",
            "<tbody>",
            *body,
            "</tbody>",
            "</table>",
            *(f'<p class="note">{escape(note)}</p>' for note in notes),
        ]
    )


_UNREACHABLE_LEGEND = '<span class="unreachable">0: no request can produce it</span>'


def journal_link(first_seq: int | None) -> CellLink:
    """Links to the mock's journal (relative to /__mock/coverage.html): the entries of one
    operation and status, counted since the last clear."""

    def link(operation: str, status: int) -> str:
        query: dict[str, Any] = {"operation": operation, "status": status}
        if first_seq:
            query["from_seq"] = first_seq
        return "requests?" + urlencode(query)

    return link


def _row(
    row: dict[str, Any],
    columns: list[int],
    link: CellLink | None,
    unreachable: Collection[tuple[str, int]],
) -> str:
    operation = row["operation"]
    cells = [
        f'<td class="operation">{escape(operation)}<br>'
        f"<code>{escape(row['method'])} {escape(row['path'])}</code></td>"
    ]
    for status in columns:
        count = row["statuses"].get(str(status))
        if count is None:
            cells.append('<td class="absent">&middot;</td>')
            continue
        text = f"{count:,}"
        target = link(operation, status) if link and count else None
        if target is not None:
            text = f'<a href="{escape(target)}">{text}</a>'
        shade = _shade(count, (operation, status) in unreachable)
        cells.append(
            f'<td class="cell {shade}" data-operation="{escape(operation)}"'
            f' data-status="{status}" data-count="{count}">{text}</td>'
        )
    extra = ", ".join(f"{status}&times;{count:,}" for status, count in row["undocumented"].items())
    cells.append(f'<td class="{"undocumented" if extra else "absent"}">{extra or "&middot;"}</td>')
    cells.append(
        f'<td class="percent" data-operation="{escape(operation)}">{row["percent"]:.1f}%'
        f"<br><small>{row['covered']} of {row['documented']}</small></td>"
    )
    return f'<tr data-operation="{escape(operation)}">' + "".join(cells) + "</tr>"


def _shade(count: int, unreachable: bool = False) -> str:
    if count == 0:
        return "unreachable" if unreachable else "none"
    if count == 1:
        return "low"
    return "mid" if count < 10 else "high"


def _example(example: dict[str, str]) -> str:
    return f"{example['method']} {example['path']} ({example['status']})"
