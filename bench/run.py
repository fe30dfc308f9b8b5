"""`make bench`: install the tools, run the phases, print the report and save it as JSON."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.phases import scaling, startup, throughput
from bench.render import render
from bench.report import save
from bench.tools import ROOT, ensure_prism, ensure_wrk, prism_version, wrk_version
from bench.verdict import targets


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    began = time.perf_counter()
    wrk = ensure_wrk()
    prism = ensure_prism()
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": _machine(wrk, prism),
        "settings": {
            "rounds": args.rounds,
            "seconds": args.seconds,
            "connections": args.connections,
            "wrk_threads": 1,
            "sizes": args.sizes,
        },
    }
    load = [os.getloadavg()[0]]  # other work on the machine: the medians absorb only some
    results["startup_s"] = startup(prism, args.startup_runs)
    results["throughput"], results["peak_rss_mb"] = throughput(wrk, prism, args)
    load.append(os.getloadavg()[0])
    results["scaling"] = scaling(wrk, args)
    load.append(os.getloadavg()[0])
    results["load_average_1min"] = load
    results["targets"] = targets(results)
    results["elapsed_s"] = round(time.perf_counter() - began, 1)
    print(render(results))
    print(f"\nresults: {save(results).relative_to(ROOT)} (and bench-results/latest.json)")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (medians are kept)")
    p.add_argument("--seconds", type=float, default=4.0, help="length of one wrk run (whole s)")
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--startup-runs", type=int, default=5)
    p.add_argument(
        "--sizes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[100, 10_000, 100_000],
        help="backups in the account for the list scaling (default 100,10000,100000)",
    )
    return p


def _machine(wrk: Path, prism: Path) -> dict[str, Any]:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "wrk": wrk_version(wrk),
        "prism": prism_version(prism),
        "node": node.stdout.strip(),
    }
