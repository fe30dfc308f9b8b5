"""wrk, driven through bench/wrk.lua: one run of a workload against one server."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.cpus import pinned
from bench.tools import BENCH_DIR
from bench.workloads import Workload

SCRIPT = BENCH_DIR / "wrk.lua"


@dataclass(frozen=True)
class Run:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    bytes_per_response: float
    wrong_status: int  # answers whose status is not the workload's right one
    socket_errors: int  # connect, read, write errors and timeouts
    statuses: dict[str, int]


def run(
    wrk: Path,
    url: str,
    workload: Workload,
    expected: int,
    *,
    seconds: float,
    connections: int,
    threads: int = 1,
    cpus: Sequence[int] = (),
    pace_ms: int = 0,
) -> Run:
    """One wrk run; with `cpus`, wrk runs on those CPUs only (see cpus); with `pace_ms`, each
    connection waits about that long after an answer before its next request (see wrk.lua)."""
    with tempfile.NamedTemporaryFile("w", suffix=".requests", encoding="utf-8") as listing:
        for method, path, body in workload.requests:
            listing.write(f"{method}\t{path}\t{body}\n" if body else f"{method}\t{path}\n")
        listing.flush()
        command = [
            str(wrk),
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            "--timeout=10s",
            f"--script={SCRIPT}",
            url,
            "--",
            listing.name,
        ]
        done = subprocess.run(
            pinned(command, cpus),
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "BENCH_PACE_MS": str(pace_ms)},
        )
    line = done.stdout.strip().splitlines()[-1]
    raw = json.loads(line)
    statuses = {str(k): int(v) for k, v in raw["statuses"].items()}
    answered = sum(statuses.values())
    return Run(
        requests_per_s=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        requests=raw["requests"],
        bytes_per_response=raw["bytes"] / answered if answered else 0.0,
        wrong_status=answered - statuses.get(str(expected), 0),
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        statuses=statuses,
    )
