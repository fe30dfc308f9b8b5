"""Medians over rounds, ratios, the printed tables and the JSON file in bench-results/."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.loadgen import Run
from bench.tools import ROOT

RESULTS_DIR = ROOT / "bench-results"


@dataclass(frozen=True)
class Summary:
    """One server on one workload: medians over the rounds, error counts summed."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    bytes_per_response: float
    wrong_status: int
    socket_errors: int
    requests: int
    statuses: dict[str, int]
    rounds: list[dict[str, Any]]


def summarize(runs: Sequence[Run]) -> Summary:
    statuses: dict[str, int] = {}
    for run in runs:
        for status, count in run.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return Summary(
        requests_per_s=statistics.median(r.requests_per_s for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        bytes_per_response=statistics.median(r.bytes_per_response for r in runs),
        wrong_status=sum(r.wrong_status for r in runs),
        socket_errors=sum(r.socket_errors for r in runs),
        requests=sum(r.requests for r in runs),
        statuses=statuses,
        rounds=[asdict(r) for r in runs],
    )


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[_cell(v) for v in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for number, row in enumerate(cells):
        left = [row[0].ljust(widths[0]), row[1].ljust(widths[1])] if len(row) > 1 else [row[0]]
        rest = [v.rjust(w) for v, w in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join([*left, *rest]).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("inf")


def regional_ratios(
    throughput: dict[str, dict[str, Summary]],
) -> list[tuple[str, str, list[float]]]:
    """Each regional workload beside its default (regional / default): req/s, p50 and p99 of
    ours, then req/s and p50 of ours without response validation. Each figure is the median of
    the rounds' ratios: the two runs of a round are side by side, so a change in the machine's
    load between rounds cancels out."""
    rows = []
    for name, by_server in throughput.items():
        default = _default_of(name, throughput)
        if default is None:
            continue
        base = throughput[default]
        ours, bare = by_server["ours"], by_server["ours, no response validation"]
        ours_base, bare_base = base["ours"], base["ours, no response validation"]
        rows.append(
            (
                name,
                default,
                [
                    paired(ours_base, ours, "requests_per_s"),
                    paired(ours_base, ours, "p50_ms"),
                    paired(ours_base, ours, "p99_ms"),
                    paired(bare_base, bare, "requests_per_s"),
                    paired(bare_base, bare, "p50_ms"),
                ],
            )
        )
    return rows


def paired(base: Summary, other: Summary, figure: str) -> float:
    """The median over the rounds of other / base for one figure of a run."""
    rounds = zip(base.rounds, other.rounds, strict=True)
    return statistics.median(ratio(b[figure], a[figure]) for a, b in rounds)


def paired_difference(base: Summary, other: Summary, figure: str) -> float:
    """The median over the rounds of other - base for one figure of a run (as `paired`)."""
    rounds = zip(base.rounds, other.rounds, strict=True)
    return statistics.median(float(b[figure]) - float(a[figure]) for a, b in rounds)


def _default_of(name: str, throughput: dict[str, Any]) -> str | None:
    """The workload a regional one mirrors ("show at /iad": "show"); None for one at /v1.0."""
    default, separator, _ = name.partition(" at /")
    return default if separator and default in throughput else None


def save(results: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = RESULTS_DIR / f"bench-{stamp}.json"
    text = json.dumps(results, indent=2, default=_jsonable) + "\n"
    path.write_text(text)
    (RESULTS_DIR / "latest.json").write_text(text)
    return path


def _jsonable(value: object) -> object:
    if isinstance(value, Summary):
        return asdict(value)
    raise TypeError(f"cannot save {type(value).__name__}")


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value >= 1000:
            return f"{value:,.0f}"
        return f"{value:.2f}" if value < 100 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
