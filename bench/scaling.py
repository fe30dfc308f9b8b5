"""The scaling phase: a page of the list, and memory, as the account grows, seeded two ways.

For each size (`--sizes`), two mocks run as the throughput phase runs ours (frozen clock,
lifecycles of 0 s, a quota out of reach), pinned to the servers' CPU(s) (see cpus):
- "state": the account PUT whole through the control API (PUT /__mock/state), as a test seeds it;
- "api": the account PUT with its instances and no backups, then its backups made one by one
  through POST /v1.0/bench/backups, as users make them (each completes at once). The two ways may
  leave the mock holding its backups differently (indexes built at once or grown), so both are
  measured.

Memory is read from the process: idle, after seeding (once it has settled), its peak, and after
the load. The list is then driven at one connection, as the issue's table measures p99 (at 50 a
page's p99 is mostly the wait in line): "first page" (the newest 20) and "deep pages" (after
markers all along the list). Every mock and workload runs once a round, the rounds interleaved;
the figures are medians of the rounds. A probe on the servers' CPU (bench/stalls.py) notes the
rounds in which the machine stalled every process on it; p99 is also given, and judged, over
the other rounds.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import loadgen, seed, workloads
from bench.cpus import Layout, layout, pinned
from bench.phases import LOGS, OURS, drive, log_path, ours_command
from bench.report import Summary, summarize
from bench.servers import Server, free_port, start
from bench.stalls import THRESHOLD_MS, StallProbe

SETTLE_S = 1.0  # after seeding, before reading what the process holds (answers are in flight)
CONNECTIONS = 1
# p99 is judged over the rounds in which the servers' CPU did not stall (bench/stalls.py), and
# only when at least this many of them remain; otherwise it cannot be judged, and says so.
CLEAN_ROUNDS = 3
# How the report names each way of seeding (in the targets too).
SEEDINGS = {"state": "seeded through the state", "api": "made through the API"}


@dataclass(frozen=True)
class Mock:
    size: int
    seeding: str  # a key of SEEDINGS
    server: Server
    loads: list[workloads.Workload]
    found: dict[str, Any]  # what was measured on it, as the report keeps it


def scaling(wrk: Path, args: argparse.Namespace) -> dict[str, Any]:
    cpus = layout()
    mocks: list[Mock] = []
    began = time.perf_counter()
    try:
        for size in args.sizes:
            for seeding in SEEDINGS:
                mocks.append(_seeded(size, seeding, cpus))
        seeded_s = time.perf_counter() - began
        # The sizes of one seeding and workload side by side: the runs compared (a size against
        # the smallest) are close in time, and so see about the same machine.
        cells = [
            (mock, workload)
            for seeding in SEEDINGS
            for name in ("first page", "deep pages")
            for mock in mocks
            if mock.seeding == seeding
            for workload in mock.loads
            if workload.name == name
        ]
        print("bench: list scaling warm-up, 1 s per mock and workload", flush=True)
        for mock, workload in cells:
            drive(wrk, mock.server, workload, b"", 1.0, CONNECTIONS, cpus)
        runs: dict[tuple[int, str, str], list[loadgen.Run]] = {
            (mock.size, mock.seeding, workload.name): [] for mock, workload in cells
        }
        stalls: dict[tuple[int, str, str], list[list[float]]] = {key: [] for key in runs}
        probe = StallProbe(cpus.servers or (0,), LOGS)
        try:
            for number in range(args.rounds):
                print(f"bench: list scaling round {number + 1} of {args.rounds}", flush=True)
                # Every other round backwards, so that no size always runs before another.
                for mock, workload in cells if number % 2 == 0 else cells[::-1]:
                    key = (mock.size, mock.seeding, workload.name)
                    start_s = time.monotonic()
                    runs[key].append(
                        drive(wrk, mock.server, workload, b"", args.seconds, CONNECTIONS, cpus)
                    )
                    stalls[key].append(probe.stalls(start_s, time.monotonic()))
        finally:
            probe.stop()
        sizes: dict[str, dict[str, Any]] = {}
        for mock in mocks:
            keys = {w.name: (mock.size, mock.seeding, w.name) for w in mock.loads}
            mock.found["workloads"] = {name: summarize(runs[key]) for name, key in keys.items()}
            mock.found["stalls_ms"] = {name: stalls[key] for name, key in keys.items()}
            mock.found["unstalled"] = {
                name: _unstalled(runs[key], stalls[key]) for name, key in keys.items()
            }
            mock.found["rss_after_load_mb"] = round(mock.server.rss_mb(), 1)
            mock.found["peak_rss_mb"] = round(mock.server.peak_rss_mb(), 1)
            sizes.setdefault(str(mock.size), {})[mock.seeding] = mock.found
    finally:
        for mock in mocks:
            mock.server.stop()
    return {
        "connections": CONNECTIONS,
        "seedings": SEEDINGS,
        "stall_threshold_ms": THRESHOLD_MS,
        "clean_rounds": CLEAN_ROUNDS,
        "settle_s": SETTLE_S,
        "cpus": {**cpus.as_dict(), "described": cpus.describe()},
        "seeding_s": round(seeded_s, 1),
        "sizes": sizes,
    }


def _unstalled(runs: list[loadgen.Run], stalls: list[list[float]]) -> Summary | None:
    """The rounds in which the probe saw no stall, summarized; None when too few are left."""
    clean = [run for run, seen in zip(runs, stalls, strict=True) if not seen]
    return summarize(clean) if len(clean) >= CLEAN_ROUNDS else None


def _seeded(size: int, seeding: str, cpus: Layout) -> Mock:
    """A mock of its own, its account grown to `size` backups the `seeding` way, measured."""
    port = free_port()
    name = f"ours, {size:,} backups, {seeding}"
    server = start(
        name, "ours", pinned(ours_command(port, *OURS), cpus.servers), port, log_path(name)
    )
    try:
        found: dict[str, Any] = {"idle_rss_mb": round(server.rss_mb(), 1)}
        if seeding == "state":
            document = seed.state(backups=size)
            body = json.dumps(document).encode()
            found["seed_mb"] = round(len(body) / 1e6, 1)
            print(
                f"bench: {size:,} backups through PUT /__mock/state ({found['seed_mb']} MB)",
                flush=True,
            )
            found["seed_s"] = round(seed.put_state(server.url, body), 2)
            ids = seed.backup_ids(document)
            del document, body
            time.sleep(SETTLE_S)
            found["rss_after_seed_mb"] = round(server.rss_mb(), 1)
        else:
            document = seed.state(backups=0)
            seed.put_state(server.url, json.dumps(document).encode())
            print(f"bench: {size:,} backups through POST /v1.0/{seed.ACCOUNT}/backups", flush=True)
            found["seed_s"] = round(
                seed.create_backups(server.url, size, seed.instance_ids(document)), 2
            )
            time.sleep(SETTLE_S)
            # Before the ids are read back: the figure is the backups', not the reading's.
            found["rss_after_seed_mb"] = round(server.rss_mb(), 1)
            listed = time.perf_counter()
            ids = seed.listed_ids(server.url)
            found["ids_read_s"] = round(time.perf_counter() - listed, 2)
        if len(ids) != size:
            raise RuntimeError(f"{name}: {len(ids):,} backups listed, {size:,} expected")
        deep = workloads.deep_pages(ids)
        found["deep_markers"] = len(deep.requests)
        return Mock(size, seeding, server, [workloads.first_page(), deep], found)
    except BaseException:
        server.stop()
        raise
