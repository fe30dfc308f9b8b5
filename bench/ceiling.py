"""The ceiling phase: ours' show beside a bare uvicorn app that only replays ours' answer.

Ours' req/s alone says little of what is left to gain: part of each request's time is the stack's
(uvicorn, httptools, asyncio, the sockets), which no change to the mock can remove. The ceiling is
that part measured: bench/bare.py answers every request with the bytes ours answered the show
workload's request with (captured once: status, headers as sent, body), and nothing else. Ours'
req/s as a share of the bare app's is how close the mock is to the stack's limit.

Both run as the throughput phase runs ours (pinned: wrk on its CPU, the servers on theirs; the
same wrk options and connections), one after the other in every round, which of the two goes
first alternating; the share is the median of the rounds' ratios (the two runs of a round see
the same machine).

Other work on the machine raises the share, which the medians do not undo: the bare app, which
needs the CPU for less time a request, loses more of its req/s to a neighbour than ours does
(measured here: 0.28 with the machine quiet, 0.47 to 0.61 with a load average of 2 to 4). The
report prints the load average beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench import loadgen, seed, workloads
from bench.bare import ADDED_BY_UVICORN, write_answer
from bench.cpus import layout, pinned
from bench.phases import LOGS, OURS, drive, log_path, ours_command
from bench.report import paired, summarize
from bench.servers import free_port, start

ANSWER = LOGS / "ceiling-answer.json"  # kept: which answer the bare app replayed
TARGETS = ("ours", "bare")


def bare_command(port: int, answer: Path) -> list[str]:
    return [sys.executable, "-m", "bench.bare", f"--port={port}", f"--answer={answer}"]


def ceiling(wrk: Path, args: argparse.Namespace) -> dict[str, Any]:
    cpus = layout()
    document = seed.state(backups=100, regions=(workloads.REGION_PREFIX[1:].upper(),))
    loads = workloads.proxied(seed.backup_ids(document)[0], seed.instance_ids(document))
    show = next(workload for workload in loads if workload.name == "show")
    ours_port, bare_port = free_port(), free_port()
    ours_command_line = pinned(ours_command(ours_port, *OURS), cpus.servers)
    ours = start("ours", "ours", ours_command_line, ours_port, log_path("ceiling ours"))
    servers = [ours]
    try:
        seed.put_state(ours.url, json.dumps(document).encode())  # a show changes nothing after
        method, path, _ = show.requests[0]
        status, headers, body = _fetch(ours.url, method, path)
        if status != show.expected_for("ours"):
            raise RuntimeError(f"ceiling: {method} {path} answered {status}: {body[:300]!r}")
        write_answer(ANSWER, status, headers, body)
        bare_command_line = pinned(bare_command(bare_port, ANSWER), cpus.servers)
        bare = start("bare uvicorn", "bare", bare_command_line, bare_port, log_path("bare uvicorn"))
        servers.append(bare)
        _same_answer(bare.url, method, path, (status, headers, body))
        # The same requests; the bare app's right answer is ours'.
        replayed = workloads.Workload(show.name, show.requests, {"ours": status, "bare": status})
        targets = dict(zip(TARGETS, servers, strict=True))
        runs: dict[str, list[loadgen.Run]] = {target: [] for target in TARGETS}
        print("bench: ceiling warm-up, 1 s each, ours and the bare app", flush=True)
        for server in servers:
            drive(wrk, server, replayed, b"", 1.0, args.connections, cpus)
        for number in range(args.rounds):
            print(f"bench: ceiling round {number + 1} of {args.rounds}", flush=True)
            for target in TARGETS if number % 2 == 0 else TARGETS[::-1]:
                runs[target].append(
                    drive(wrk, targets[target], replayed, b"", args.seconds, args.connections, cpus)
                )
        peak = {target: round(server.peak_rss_mb(), 1) for target, server in targets.items()}
    finally:
        for server in servers:
            server.stop()
    summaries = {target: summarize(found) for target, found in runs.items()}
    return {
        "workload": show.name,
        "request": f"{method} {path}",
        "answer": {
            "status": status,
            "headers": [list(header) for header in headers],
            "bytes": len(body),
            "file": str(ANSWER),
        },
        "connections": args.connections,
        "cpus": {**cpus.as_dict(), "described": cpus.describe()},
        "ours": summaries["ours"],
        "bare": summaries["bare"],
        "requests_per_s_ratio": paired(summaries["bare"], summaries["ours"], "requests_per_s"),
        "p50_ratio": paired(summaries["bare"], summaries["ours"], "p50_ms"),
        "peak_rss_mb": peak,
        "commands": {"ours": ours_command_line, "bare": bare_command_line},
    }


def _fetch(url: str, method: str, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request as wrk.lua sends it; the status, the headers as sent, and the body."""
    connection = seed.connect(url, 30)
    try:
        connection.request(method, path, headers={"X-Auth-Token": seed.TOKEN})
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def _same_answer(
    url: str, method: str, path: str, expected: tuple[int, list[tuple[str, str]], bytes]
) -> None:
    """The bare app's answer is ours' (date and server aside, which uvicorn writes for both):
    otherwise the two would not be doing the same work on the wire."""
    status, headers, body = _fetch(url, method, path)
    got = (status, [h for h in headers if h[0].lower() not in ADDED_BY_UVICORN], body)
    want = (
        expected[0],
        [h for h in expected[1] if h[0].lower() not in ADDED_BY_UVICORN],
        expected[2],
    )
    if got != want:
        raise RuntimeError(f"ceiling: the bare app answers {got!r:.500}, ours {want!r:.500}")
