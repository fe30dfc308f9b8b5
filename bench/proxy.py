"""The proxy phase: a mock called directly, and the same mock through `mockserver --upstream`.

Issue 15: "the proxy adds at most 1 ms to p50 at 50 connections over calling the upstream
directly". One upstream mock (run as the other phases run ours) and one proxy in front of it
live for the whole phase. In every round each workload is driven at the upstream and then
through the proxy, side by side, which of the two goes first alternating from round to round:
the two runs of a pair see the same machine, so the difference between them is the proxy's,
and "p50 added" is the median of the rounds' differences. The state is PUT to the upstream
before every run (creates pile up otherwise; the proxy keeps no backups of its own).

Three levels of load are measured, in this order:
- --connections (the requirement's 50), as fast as they go: the server is saturated, and its p50
  is mostly the wait in line (about connections / req/s), so the p50 added there follows the
  proxy's throughput, which is a Python process doing twice the mock's work on a shared CPU;
- the same connections paced (wrk.lua's BENCH_PACE_MS) to offer PACED_SHARE of the requests a
  second the proxy took saturated, the same offer to both targets: 50 connections below
  saturation, as a consumer's suite or staging traffic loads a proxy. The target is judged here,
  where the p50 added is the proxy's time and not a queue's length;
- 1 connection: nothing waits, and the p50 added is the proxy's own time a request.

The proxy and its upstream both need CPU: both run on the servers' CPUs and wrk on its own
(see cpus), in the direct runs as in the proxied ones.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import loadgen, seed, workloads
from bench.cpus import Layout, layout, pinned
from bench.phases import OURS, ours_command, start_all
from bench.report import paired, paired_difference, summarize
from bench.servers import Server, free_port

UNLOADED = 1  # connections: no request waits for another
PACED_SHARE = 0.5  # of the proxy's saturated req/s, offered at the paced level
TARGETS = ("direct", "proxy")


@dataclass(frozen=True)
class Level:
    name: str  # as the report shows it: "50", "50 paced", "1"
    connections: int
    paced: bool = False


def levels(connections: int) -> list[Level]:
    """Saturated first: the paced level's pace is derived from its throughput."""
    found = [Level(str(connections), connections), Level(f"{connections} paced", connections, True)]
    if connections != UNLOADED:
        found.append(Level(str(UNLOADED), UNLOADED))
    return found


def proxy(wrk: Path, args: argparse.Namespace) -> dict[str, Any]:
    cpus = layout()
    document = seed.state(backups=100)
    body = json.dumps(document).encode()
    loads = workloads.proxied(seed.backup_ids(document)[0], seed.instance_ids(document))
    phase_levels = levels(args.connections)
    saturated, judged = phase_levels[0], phase_levels[1]
    upstream_port, proxy_port = free_port(), free_port()
    upstream_command = pinned(ours_command(upstream_port, *OURS), cpus.servers)
    proxy_command = pinned(
        ours_command(
            proxy_port, "--log-level=warning", f"--upstream=http://127.0.0.1:{upstream_port}"
        ),
        cpus.servers,
    )
    upstream, through = start_all(
        [
            ("upstream", "ours", upstream_port, upstream_command),
            ("proxy", "ours", proxy_port, proxy_command),
        ]
    )
    targets = {"direct": upstream, "proxy": through}
    try:
        runs: dict[str, dict[str, dict[str, list[loadgen.Run]]]] = {
            level.name: {w.name: {t: [] for t in TARGETS} for w in loads} for level in phase_levels
        }
        paces: dict[str, int] = {}
        print("bench: proxy warm-up, 1 s per workload, direct and through the proxy", flush=True)
        for workload in loads:
            for server in targets.values():  # the proxy's pool fills up to --connections here
                _drive(wrk, server, upstream, workload, body, 1.0, args.connections, cpus)
        for level in phase_levels:
            if level.paced:
                paces = {
                    name: _pace(by_target["proxy"], level.connections)
                    for name, by_target in runs[saturated.name].items()
                }
            for number in range(args.rounds):
                print(
                    f"bench: proxy round {number + 1} of {args.rounds}, {level.name} connection(s)",
                    flush=True,
                )
                for workload in loads:
                    order = TARGETS if number % 2 == 0 else TARGETS[::-1]
                    for target in order:
                        runs[level.name][workload.name][target].append(
                            _drive(
                                wrk,
                                targets[target],
                                upstream,
                                workload,
                                body,
                                args.seconds,
                                level.connections,
                                cpus,
                                paces.get(workload.name, 0) if level.paced else 0,
                            )
                        )
        violations = _violations(through)
        peak = {name: round(server.peak_rss_mb(), 1) for name, server in targets.items()}
    finally:
        for server in (through, upstream):
            server.stop()
    return {
        "target_connections": args.connections,
        "judged_level": judged.name,
        "paced": {
            "share": PACED_SHARE,
            "pace_ms": paces,
            "offered_per_s": {
                name: round(judged.connections * 1000 / pace) for name, pace in paces.items()
            },
        },
        "cpus": {**cpus.as_dict(), "described": cpus.describe()},
        "levels": {
            level: {name: _compared(by_target) for name, by_target in by_load.items()}
            for level, by_load in runs.items()
        },
        "violations": violations,
        "peak_rss_mb": peak,
        "commands": {"upstream": upstream_command, "proxy": proxy_command},
    }


def _compared(by_target: dict[str, list[loadgen.Run]]) -> dict[str, Any]:
    direct, proxied = summarize(by_target["direct"]), summarize(by_target["proxy"])
    return {
        "direct": direct,
        "proxy": proxied,
        "p50_added_ms": paired_difference(direct, proxied, "p50_ms"),
        "p99_added_ms": paired_difference(direct, proxied, "p99_ms"),
        "requests_per_s_ratio": paired(direct, proxied, "requests_per_s"),
    }


def _pace(saturated: list[loadgen.Run], connections: int) -> int:
    """The wait (ms) after each answer that makes `connections` offer PACED_SHARE of the
    proxy's saturated throughput; the time of the request itself makes the offer a little less."""
    rate = statistics.median(run.requests_per_s for run in saturated) * PACED_SHARE
    return max(1, round(connections * 1000 / rate))


def _drive(
    wrk: Path,
    server: Server,
    upstream: Server,
    workload: workloads.Workload,
    state: bytes,
    seconds: float,
    connections: int,
    cpus: Layout,
    pace_ms: int = 0,
) -> loadgen.Run:
    # Both processes are checked: a proxy whose upstream died answers 503s, quickly.
    upstream.check_alive()
    server.check_alive()
    seed.put_state(upstream.url, state)  # through the proxy too: its control API is its own
    return loadgen.run(
        wrk,
        server.url,
        workload,
        workload.expected_for("ours"),
        seconds=seconds,
        connections=connections,
        cpus=cpus.wrk,
        pace_ms=pace_ms,
    )


def _violations(server: Server) -> dict[str, Any]:
    """The proxy's GET /__mock/violations: what it found in all the traffic the phase sent."""
    found: dict[str, Any] = json.loads(seed.control_call(server.url, "GET", "/__mock/violations"))
    return found
