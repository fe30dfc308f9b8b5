"""`make bench`: install the tools, run the phases, print the report and save it as JSON.

The phases, in this order: startup (seconds to the first answer, ours and Prism), throughput
(req/s and latency of each workload, ours beside Prism, and through a region's prefix), ceiling
(ours' show beside a bare uvicorn app replaying its answer: the stack's limit), scaling (pages
of the list, and memory, as the account grows, seeded through the state and made through the
API), proxy (the mock called directly and through `mockserver --upstream` in front of it:
the latency the proxy adds) and shared (ours with its state in memory, in Redis with --store, and
with --workers 2: the cost, and the Redis round trips a request takes).
`--only` runs some of them, e.g. `python -m bench --only proxy --rounds 3`; the report and the
targets then cover those only. Prism is installed only for the phases that drive it, and
redis-server (Debian's, `make redis`) only for the shared phase.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.ceiling import ceiling
from bench.phases import startup, throughput
from bench.proxy import proxy
from bench.render import render
from bench.report import save
from bench.scaling import scaling
from bench.shared import ensure_redis, shared
from bench.tools import ROOT, ensure_prism, ensure_wrk, prism_version, wrk_version
from bench.verdict import targets

PHASES = ("startup", "throughput", "ceiling", "scaling", "proxy", "shared")
WITH_PRISM = {"startup", "throughput"}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    began = time.perf_counter()
    wrk = ensure_wrk()
    prism = ensure_prism() if WITH_PRISM & set(args.only) else None
    redis = ensure_redis() if "shared" in args.only else None  # before the phases, not after
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": _machine(wrk, prism),
        "settings": {
            "phases": args.only,
            "rounds": args.rounds,
            "seconds": args.seconds,
            "connections": args.connections,
            "wrk_threads": 1,
            "sizes": args.sizes,
        },
    }
    # Other work on the machine: the medians absorb only some, so the report shows it.
    load = {"at start": os.getloadavg()[0]}
    took: dict[str, float] = {}  # seconds each phase took, what the Makefile's estimate sums
    if "startup" in args.only:
        assert prism is not None
        with _timed(took, "startup"):
            results["startup_s"] = startup(prism, args.startup_runs)
    if "throughput" in args.only:
        assert prism is not None
        with _timed(took, "throughput"):
            results["throughput"], results["peak_rss_mb"], results["throughput_cpus"] = throughput(
                wrk, prism, args
            )
        load["after throughput"] = os.getloadavg()[0]
    if "ceiling" in args.only:
        with _timed(took, "ceiling"):
            results["ceiling"] = ceiling(wrk, args)
        load["after ceiling"] = os.getloadavg()[0]
    if "scaling" in args.only:
        with _timed(took, "scaling"):
            results["scaling"] = scaling(wrk, args)
        load["after scaling"] = os.getloadavg()[0]
    if "proxy" in args.only:
        with _timed(took, "proxy"):
            results["proxy"] = proxy(wrk, args)
        load["after proxy"] = os.getloadavg()[0]
    if "shared" in args.only:
        assert redis is not None
        with _timed(took, "shared"):
            results["shared"] = shared(wrk, redis, args)
        load["after shared"] = os.getloadavg()[0]
    results["phase_s"] = took
    results["load_average_1min"] = load
    results["targets"] = targets(results)
    results["elapsed_s"] = round(time.perf_counter() - began, 1)
    print(render(results))
    print(f"\nresults: {save(results).relative_to(ROOT)} (and bench-results/latest.json)")
    return 0


@contextmanager
def _timed(took: dict[str, float], phase: str) -> Iterator[None]:
    began = time.perf_counter()
    yield
    took[phase] = round(time.perf_counter() - began, 1)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the docstring's lines as written
    )
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians are kept)")
    # 3 s, not 4: with the ceiling and the scaling of two seedings, the default run stays about
    # 15 min (5 rounds of 3 s: about 880 s, against about 1,140 s with 4 s).
    p.add_argument("--seconds", type=float, default=3.0, help="length of one wrk run (whole s)")
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--startup-runs", type=int, default=5)
    p.add_argument(
        "--sizes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[100, 10_000, 100_000],
        help="backups in the account for the list scaling (default 100,10000,100000); the"
        " scaling targets need one size <= 100 and one >= 100000",
    )
    p.add_argument(
        "--only",
        type=_phases,
        default=list(PHASES),
        metavar="PHASE[,PHASE...]",
        help=f"run only these phases, in the usual order: {', '.join(PHASES)} (default: all)",
    )
    return p


def _phases(text: str) -> list[str]:
    named = {name.strip() for name in text.split(",") if name.strip()}
    unknown = named - set(PHASES)
    if unknown or not named:
        raise argparse.ArgumentTypeError(
            f"unknown phase(s) {', '.join(sorted(unknown)) or '(none)'}; choose from"
            f" {', '.join(PHASES)}"
        )
    return [name for name in PHASES if name in named]


def _machine(wrk: Path, prism: Path | None) -> dict[str, Any]:
    node = None  # Node.js only matters to Prism, and need not be installed without it
    if prism is not None:
        done = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
        node = done.stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "wrk": wrk_version(wrk),
        "prism": prism_version(prism) if prism is not None else None,
        "node": node,
    }
