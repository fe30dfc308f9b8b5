"""The shared phase: ours with its state in memory, in Redis (`--store`), and in Redis behind
`--workers 2`, side by side; and the Redis round trips a request takes.

`--store` keeps the state where every process can have it: each request syncs with the command
log in Redis first, a write takes the log's lock and is appended to it, and every request is
written to the journal there. What that costs is measured against the state in memory, with the
throughput phase's workloads at /v1.0 (show, list, create, invalid create), its wrk settings and
its CPUs (see cpus; the Redis server is one of the servers, on their CPUs, since each request
waits for it), and its options for ours (OURS: lifecycles of 0 s and a quota out of reach, the
state PUT before every run, so that creates always complete and never fill the account):

- "in memory": one process, no --store (what the other phases measure);
- "--store": one process, its state in Redis;
- "--store, --workers 2": two processes on one port, one state in Redis (another database of
  the same Redis: one log each). Each process replays the other's writes, so a create is done
  twice; and on a machine whose servers have one CPU, the two share it.

Every round drives each workload at the three, which goes first rotating from round to round, as
the throughput phase does; the ratios to "in memory" are the medians of the rounds' ratios.

Round trips are read from Redis around each run of "--store" (one process, so every round trip
is the measured mock's): INFO's `total_writes_processed` counts the replies Redis wrote to a
socket, one a round trip (a pipeline's replies go in one), and none for the commands a script
runs inside Redis, which `commandstats` and `total_commands_processed` count as commands of
their own. They are divided by the requests the mock answered in the run, counted by its own
coverage (GET /__mock/coverage, outside the counted window): wrk counts only the answers it read
before it stopped, and the requests still in flight then are answered, and reach Redis, after.

Redis runs without persistence (`--save '' --appendonly no`, its data in a temporary directory):
the phase measures the mock and its round trips, not a disk's fsyncs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import loadgen, seed, workloads
from bench.cpus import Layout, layout, pinned
from bench.phases import OURS, drive, log_path, ours_command, start_all
from bench.report import paired, summarize
from bench.servers import Server, free_port, start
from bench.tools import ROOT, ToolError

BASE = "in memory"
STORE = "--store"  # the configuration whose round trips are counted
WORKERS = 2
# The configurations, in the order the report shows them: their name, and what ours is given
# beyond OURS (the Redis database of each configuration is added to --store).
CONFIGURATIONS: dict[str, tuple[str, ...]] = {
    BASE: (),
    STORE: (),
    f"--store, --workers {WORKERS}": (f"--workers={WORKERS}",),
}
READS = frozenset({"GET", "HEAD", "OPTIONS"})  # as the mock's replica tells reads from writes
SETTLE_S = 0.5  # after a run, for the requests still in flight to be answered before counting


@dataclass(frozen=True)
class Counted:
    """What Redis had done at one moment: replies written, and calls by command."""

    replies: int  # INFO stats' total_writes_processed
    calls: dict[str, int]  # INFO commandstats, scripts' inner commands included


def shared(wrk: Path, redis_server: Path, args: argparse.Namespace) -> dict[str, Any]:
    cpus = layout()
    document = seed.state(backups=100)
    body = json.dumps(document).encode()
    loads = [
        w
        for w in workloads.throughput(seed.backup_ids(document)[0], seed.instance_ids(document))
        if w.default is None  # the regional repeats cost the same: at /v1.0 only
    ]
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as data:
        redis_port = free_port()
        redis_command = pinned(_redis_command(redis_server, redis_port, data), cpus.servers)
        redis = start("redis", "redis", redis_command, redis_port, log_path("shared redis"), _pongs)
        try:
            found = _measured(wrk, args, cpus, redis, loads, body)
        finally:
            redis.stop()
    return {
        **found,
        "redis": _redis_version(redis_server),
        "configurations": list(CONFIGURATIONS),
        "base": BASE,
        "counted": STORE,
        "workers": WORKERS,
        "kinds": {w.name: _kind(w) for w in loads},
        "connections": args.connections,
        "settle_s": SETTLE_S,
        "cpus": {**cpus.as_dict(), "described": cpus.describe()},
        "commands": {**found["commands"], "redis": redis_command},
    }


def _measured(
    wrk: Path,
    args: argparse.Namespace,
    cpus: Layout,
    redis: Server,
    loads: list[workloads.Workload],
    body: bytes,
) -> dict[str, Any]:
    """The three configurations started (each --store one on a database of its own), driven
    round after round, and the round trips of STORE counted around each of its runs."""
    ports = {name: free_port() for name in CONFIGURATIONS}
    commands: dict[str, list[str]] = {}
    for database, (name, extra) in enumerate(CONFIGURATIONS.items()):
        store = () if name == BASE else (f"--store=redis://127.0.0.1:{redis.port}/{database}",)
        commands[name] = pinned(ours_command(ports[name], *OURS, *store, *extra), cpus.servers)
    servers = start_all(
        [
            (f"shared, {name.replace('--', '')}", "ours", ports[name], command)  # its log's name
            for name, command in commands.items()
        ]
    )
    by_name = dict(zip(CONFIGURATIONS, servers, strict=True))
    try:
        runs: dict[str, dict[str, list[loadgen.Run]]] = {
            w.name: {name: [] for name in CONFIGURATIONS} for w in loads
        }
        trips: dict[str, list[dict[str, Any]]] = {w.name: [] for w in loads}
        print("bench: shared warm-up, 1 s per configuration and workload", flush=True)
        for workload in loads:
            for server in servers:
                drive(wrk, server, workload, body, 1.0, args.connections, cpus)
        for number in range(args.rounds):
            print(f"bench: shared round {number + 1} of {args.rounds}", flush=True)
            order = list(CONFIGURATIONS)[number % len(CONFIGURATIONS) :]
            order += list(CONFIGURATIONS)[: number % len(CONFIGURATIONS)]
            for workload in loads:
                for name in order:
                    server = by_name[name]
                    if name != STORE:
                        found = drive(
                            wrk, server, workload, body, args.seconds, args.connections, cpus
                        )
                    else:
                        found, counted = _counted(wrk, server, redis, workload, body, args, cpus)
                        trips[workload.name].append(counted)
                    runs[workload.name][name].append(found)
    finally:
        for server in servers:
            server.stop()
    results: dict[str, Any] = {}
    for workload in loads:
        summaries = {name: summarize(found) for name, found in runs[workload.name].items()}
        base = summaries[BASE]
        results[workload.name] = {
            "servers": summaries,
            "to_base": {
                name: {
                    figure: paired(base, summary, figure)
                    for figure in ("requests_per_s", "p50_ms", "p99_ms")
                }
                for name, summary in summaries.items()
                if name != BASE
            },
            "round_trips": _per_request(trips[workload.name]),
        }
    return {"workloads": results, "commands": commands}


def _counted(
    wrk: Path,
    server: Server,
    redis: Server,
    workload: workloads.Workload,
    body: bytes,
    args: argparse.Namespace,
    cpus: Layout,
) -> tuple[loadgen.Run, dict[str, Any]]:
    """One run of STORE, Redis's counters and the mock's answers read around it (the state PUT
    and the reading of the answers fall outside the counted window)."""
    seed.put_state(server.url, body)
    answered = _answered(server.url)
    before = _counters(redis.port)
    found = drive(wrk, server, workload, b"", args.seconds, args.connections, cpus)
    time.sleep(SETTLE_S)
    after = _counters(redis.port)
    answered = _answered(server.url) - answered
    calls = {
        command: after.calls.get(command, 0) - before.calls.get(command, 0)
        for command in sorted(set(after.calls) | set(before.calls))
        if command != "info"  # the readings' own
    }
    # The reply to `before`'s INFO is written after it counted: one of the window's replies.
    replies = after.replies - before.replies - 1
    counted = {"replies": replies, "answered": answered, "wrk_requests": found.requests}
    return found, {**counted, "calls": {c: n for c, n in calls.items() if n}}


def _per_request(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds' round trips over their answered requests (sums, not a median of ratios: the
    runs differ in length, and a round trip is a round trip whichever run made it)."""
    answered = sum(r["answered"] for r in rounds)
    calls: dict[str, int] = {}
    for found in rounds:
        for command, count in found["calls"].items():
            calls[command] = calls.get(command, 0) + count
    scripts = calls.get("evalsha", 0) + calls.get("eval", 0)  # never run inside a script
    return {
        "per_request": sum(r["replies"] for r in rounds) / answered if answered else float("nan"),
        "scripts_per_request": scripts / answered if answered else float("nan"),
        "answered": answered,
        "wrk_requests": sum(r["wrk_requests"] for r in rounds),
        "calls": calls,
        "rounds": rounds,
    }


def _kind(workload: workloads.Workload) -> str:
    """A read when every request of it is one (the mock syncs, and takes no lock); else a write."""
    return "read" if all(method in READS for method, _, _ in workload.requests) else "write"


def _answered(url: str) -> int:
    """The requests to the API the mock at `url` has answered: its coverage's counts (every
    answer, matched to an operation or not; the control API's are not counted)."""
    coverage = json.loads(seed.control_call(url, "GET", "/__mock/coverage"))
    matched: int = sum(row["answers"] for row in coverage["operations"])
    return matched + int(coverage["unmatched"]["count"])


# -- Redis -----------------------------------------------------------------------------------


def ensure_redis() -> Path:
    """Debian's redis-server, installed by the Makefile's `redis` target when it is missing (as
    `make test` installs it): apt-get, through sudo unless root."""
    found = shutil.which("redis-server")
    if found is None:
        print("bench: installing redis-server (make redis)", flush=True)
        done = subprocess.run(["make", "-C", str(ROOT), "redis"], check=False)
        found = shutil.which("redis-server")
        if found is None:
            raise ToolError(
                f"redis-server is missing, and `make redis` did not install it (exit"
                f" {done.returncode}): install Debian's redis-server package"
            )
    return Path(found)


def _redis_command(executable: Path, port: int, data: str) -> list[str]:
    """A Redis of the phase's own on `port`, its files (none are written) in `data`."""
    return [
        str(executable),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", data,
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--protected-mode", "no",
    ]  # fmt: skip


def _redis_version(executable: Path) -> str:
    done = subprocess.run(
        [str(executable), "--version"], capture_output=True, text=True, check=False
    )
    # "Redis server v=7.0.15 sha=... malloc=... bits=64 build=..."
    found = next((part for part in done.stdout.split() if part.startswith("v=")), "v=?")
    return found.removeprefix("v=")


def _counters(port: int) -> Counted:
    text = _call(port, "INFO", "stats", "commandstats").decode()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    calls = {}
    for key, value in fields.items():
        if key.startswith("cmdstat_"):
            stats = dict(pair.split("=", 1) for pair in value.split(","))
            calls[key.removeprefix("cmdstat_")] = int(stats["calls"])
    return Counted(int(fields["total_writes_processed"]), calls)


def _pongs(port: int) -> bool:
    """Whether the Redis on `port` answers a PING (servers.start's wait)."""
    try:
        return _call(port, "PING") == b"PONG"
    except (OSError, RuntimeError):
        return False


def _call(port: int, *words: str) -> bytes:
    """One command to the Redis on `port`, on a connection of its own; the reply's text (a simple
    or a bulk string). A few lines of RESP, not redis-py: the bench keeps its imports to the
    standard library (see seed.control_call). RuntimeError on an error reply."""
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        encoded = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(encoded), encoded))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"".join(parts))
        with sock.makefile("rb") as reply:
            head = reply.readline()
            if head.startswith(b"+"):
                return head[1:].rstrip(b"\r\n")
            if head.startswith(b"$"):
                return reply.read(int(head[1:]))
    raise RuntimeError(f"Redis {' '.join(words)}: {head[:300]!r}")
