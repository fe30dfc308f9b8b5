"""The proxy phase: a mock called directly, and the same mock through `mockserver --upstream`.

Issue 15: "the proxy adds at most 1 ms to p50 at 50 connections over calling the upstream
directly". One upstream mock (run as the other phases run ours) and one proxy in front of it
live for the whole phase. In every round each workload is driven at the upstream and then
through the proxy, side by side, which of the two goes first alternating from round to round:
the two runs of a pair see the same machine, so the difference between them is the proxy's,
and "p50 added" is the median of the rounds' differences. The state is PUT to the upstream
before every run (creates pile up otherwise; the proxy keeps no backups of its own).

Both levels of load are measured: --connections (the requirement's 50, which the target judges)
and 1. At 50 a saturated server's p50 is mostly the wait in line (about connections / req/s),
so the p50 added there follows the proxy's throughput; at 1 nothing waits, and the p50 added is
the proxy's own time a request.

The proxy and its upstream both need CPU: both run on the servers' CPUs and wrk on its own
(see cpus), in the direct runs as in the proxied ones.
"""

from __future__ import annotations

import argparse
import http.client
import json
from pathlib import Path
from typing import Any

from bench import loadgen, seed, workloads
from bench.cpus import Layout, layout, pinned
from bench.phases import OURS, ours_command, start_all
from bench.report import paired, paired_difference, summarize
from bench.servers import Server, free_port

UNLOADED = 1  # connections: no request waits for another
TARGETS = ("direct", "proxy")


def proxy(wrk: Path, args: argparse.Namespace) -> dict[str, Any]:
    cpus = layout()
    document = seed.state(backups=100)
    body = json.dumps(document).encode()
    loads = workloads.proxied(seed.backup_ids(document)[0], seed.instance_ids(document))
    levels = sorted({args.connections, UNLOADED}, reverse=True)
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
        runs: dict[int, dict[str, dict[str, list[loadgen.Run]]]] = {
            level: {w.name: {t: [] for t in TARGETS} for w in loads} for level in levels
        }
        print("bench: proxy warm-up, 1 s per workload, direct and through the proxy", flush=True)
        for workload in loads:
            for server in targets.values():  # the proxy's pool fills up to --connections here
                _drive(wrk, server, upstream, workload, body, 1.0, args.connections, cpus)
        for level in levels:
            for number in range(args.rounds):
                print(
                    f"bench: proxy round {number + 1} of {args.rounds}, {level} connection(s)",
                    flush=True,
                )
                for workload in loads:
                    order = TARGETS if number % 2 == 0 else TARGETS[::-1]
                    for target in order:
                        runs[level][workload.name][target].append(
                            _drive(
                                wrk,
                                targets[target],
                                upstream,
                                workload,
                                body,
                                args.seconds,
                                level,
                                cpus,
                            )
                        )
        violations = _violations(through)
        peak = {name: round(server.peak_rss_mb(), 1) for name, server in targets.items()}
    finally:
        for server in (through, upstream):
            server.stop()
    return {
        "target_connections": args.connections,
        "cpus": {**cpus.as_dict(), "described": cpus.describe()},
        "levels": {
            str(level): {name: _compared(by_target) for name, by_target in by_load.items()}
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


def _drive(
    wrk: Path,
    server: Server,
    upstream: Server,
    workload: workloads.Workload,
    state: bytes,
    seconds: float,
    connections: int,
    cpus: Layout,
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
    )


def _violations(server: Server) -> dict[str, Any]:
    """The proxy's GET /__mock/violations: what it found in all the traffic the phase sent."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request("GET", "/__mock/violations")
        response = connection.getresponse()
        answer = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET /__mock/violations: {response.status} {answer[:500]!r}")
    found: dict[str, Any] = json.loads(answer)
    return found
