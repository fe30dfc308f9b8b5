"""The measuring phases beside Prism: start-up, and throughput (the servers pinned, see cpus).

The commands and options of ours are here, shared by the other phases (scaling, ceiling, proxy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from bench import loadgen, seed, workloads
from bench.cpus import Layout, layout, pinned
from bench.report import Summary, summarize
from bench.servers import Server, free_port, start
from bench.tools import ROOT

SPEC = ROOT / "openapi.yaml"
LOGS = ROOT / "bench-results" / "logs"
CONTROL_BODY_LIMIT = 512 * 1024 * 1024  # room for a PUT of 100,000 backups (about 70 MB)
# Lifecycles of 0 s and a quota out of reach: every create completes at once (see workloads).
OURS = [
    "--log-level=warning",  # no access log line per request (Prism runs with -v warn likewise)
    "--frozen-clock",
    "--new-seconds=0",
    "--building-seconds=0",
    "--quota=1000000000",
    f"--control-max-body-bytes={CONTROL_BODY_LIMIT}",
]


def ours_command(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mockserver", f"--port={port}", *extra]


def prism_command(prism: Path, port: int) -> list[str]:
    return [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "warn", str(SPEC)]


def startup(prism: Path, runs: int) -> dict[str, Any]:
    """Seconds from spawn to the first answer, each server started `runs` times, alternately."""
    print(f"bench: start-up, {runs} starts each", flush=True)
    times: dict[str, list[float]] = {"ours": [], "prism": []}
    for _ in range(runs):
        for kind in times:
            port = free_port()
            command = (
                ours_command(port, "--log-level=warning")
                if kind == "ours"
                else prism_command(prism, port)
            )
            server = start(kind, kind, command, port, LOGS / f"startup-{kind}.log")
            times[kind].append(server.startup_s)
            server.stop()
    return {kind: {"median": statistics.median(t), "runs": t} for kind, t in times.items()}


def throughput(
    wrk: Path, prism: Path, args: argparse.Namespace
) -> tuple[dict[str, dict[str, Summary]], dict[str, float], dict[str, Any]]:
    """Each workload's req/s and latency, ours (with and without response validation) beside
    Prism; their peak RSS; and where they ran. As the issue measures it: wrk on one CPU, every
    server (Node as Python) on the others, so that wrk never takes a server's CPU from it."""
    cpus = layout()
    document = seed.state(backups=100, regions=(workloads.REGION_PREFIX[1:].upper(),))
    body = json.dumps(document).encode()
    loads = workloads.throughput(seed.backup_ids(document)[0], seed.instance_ids(document))
    ports = [free_port() for _ in range(3)]
    servers = start_all(
        [
            ("ours", "ours", ports[0], pinned(ours_command(ports[0], *OURS), cpus.servers)),
            (
                "ours, no response validation",
                "ours",
                ports[1],
                pinned(ours_command(ports[1], *OURS, "--no-response-validation"), cpus.servers),
            ),
            ("prism", "prism", ports[2], pinned(prism_command(prism, ports[2]), cpus.servers)),
        ]
    )
    try:
        runs: dict[str, dict[str, list[loadgen.Run]]] = {
            w.name: {s.name: [] for s in servers if w.drives(s.kind)} for w in loads
        }
        print("bench: warm-up, 1 s per server and workload", flush=True)
        for workload in loads:
            for server in servers:
                if workload.drives(server.kind):
                    drive(wrk, server, workload, body, 1.0, args.connections, cpus)
        for number in range(args.rounds):
            print(f"bench: throughput round {number + 1} of {args.rounds}", flush=True)
            for workload in _paired(loads, swapped=number % 2 == 1):
                # Each round starts with another server, so that no server always goes first.
                order = servers[number % len(servers) :] + servers[: number % len(servers)]
                for server in order:
                    if not workload.drives(server.kind):
                        continue
                    runs[workload.name][server.name].append(
                        drive(wrk, server, workload, body, args.seconds, args.connections, cpus)
                    )
        peak = {server.name: round(server.peak_rss_mb(), 1) for server in servers}
    finally:
        for server in servers:
            server.stop()
    summaries = {
        w: {s: summarize(r) for s, r in by_server.items()} for w, by_server in runs.items()
    }
    return summaries, peak, {**cpus.as_dict(), "described": cpus.describe()}


def _paired(loads: list[workloads.Workload], swapped: bool) -> list[workloads.Workload]:
    """The workloads in order; when `swapped`, each regional one before its default (every other
    round), so that neither of a pair always runs first."""
    ordered = list(loads)
    if swapped:
        for index, workload in enumerate(ordered):
            if workload.default is not None and index > 0:
                ordered[index - 1], ordered[index] = workload, ordered[index - 1]
    return ordered


def start_all(specs: list[tuple[str, str, int, list[str]]]) -> list[Server]:
    servers: list[Server] = []
    try:
        for name, kind, port, command in specs:
            servers.append(start(name, kind, command, port, log_path(name)))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def drive(
    wrk: Path,
    server: Server,
    workload: workloads.Workload,
    state: bytes,
    seconds: float,
    connections: int,
    cpus: Layout,
) -> loadgen.Run:
    """One run of `workload` at `server`, wrk on the layout's CPU(s) for it; with `state`, ours
    gets it PUT first."""
    server.check_alive()
    if server.kind == "ours" and state:
        seed.put_state(server.url, state)  # the same state before every run: creates pile up
    return loadgen.run(
        wrk,
        server.url,
        workload,
        workload.expected_for(server.kind),
        seconds=seconds,
        connections=connections,
        cpus=cpus.wrk,
    )


def log_path(name: str) -> Path:
    return LOGS / (name.replace(",", "").replace(" ", "-") + ".log")
