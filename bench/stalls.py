"""Stalls of the machine: times when a CPU ran none of this machine's processes for a while.

These machines are virtual, and shared. Every half a minute or so, the servers' CPU runs
nothing of ours for 20 to 60 ms, and every process pinned to it stops at once (measured: the
mock and a separate process that only sleeps 1 ms and looks at the clock stopped for the same
52 ms, at the same instant, with the mock serving one connection). At one connection, wrk
counts such a stall as the latency of the request in flight, and then corrects for the
requests that request kept from being sent (coordinated omission): one 50 ms stall in a round
of 3 s adds about 250 late requests to 14,000, and the round's p99 jumps from 0.4 ms to tens
of ms, whichever mock and size it falls on.

A probe tells those stalls from the mock's own: one process per servers' CPU, pinned to it,
that sleeps 1 ms at a time and writes down every wake-up later than `THRESHOLD_MS`. A
process that sleeps this way is let in by the scheduler as soon as it wakes, even beside a
busy server, so a pause of the mock's (a collection, a long step of its event loop) does not
delay it: only a CPU that ran none of ours does (measured: the rounds in which a mock of
100,000 backups paused 35 ms for a full collection had no late wake-up of the probe, while the
rounds it stalled in were as slow). `python -m bench.stalls --out FILE` is the probe.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.cpus import pinned

THRESHOLD_MS = 10.0  # far over a page's 0.2 to 0.5 ms at one connection, under any stall seen
TICK_S = 0.001


class StallProbe:
    """Probes on `cpus` (one each), from start to stop; `stalls` says what they saw."""

    def __init__(self, cpus: Sequence[int], directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._files = [directory / f"stalls-cpu{cpu}.txt" for cpu in cpus]
        self._processes = []
        for cpu, path in zip(cpus, self._files, strict=True):
            path.write_text("")
            command = [sys.executable, "-m", "bench.stalls", f"--out={path}"]
            self._processes.append(subprocess.Popen(pinned(command, (cpu,))))

    def stalls(self, start: float, end: float) -> list[float]:
        """The stalls (ms) that overlapped [start, end] (time.monotonic(), shared by processes)."""
        found = []
        for path in self._files:
            for line in path.read_text().splitlines():
                woke, lag_ms = (float(part) for part in line.split())
                if woke > start and woke - lag_ms / 1000 < end:
                    found.append(lag_ms)
        return found

    def stop(self) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            process.wait(timeout=10)


def probe(out: Path, threshold_ms: float = THRESHOLD_MS) -> None:
    with out.open("a", buffering=1) as log:
        last = time.monotonic()
        while True:
            time.sleep(TICK_S)
            now = time.monotonic()
            late_ms = (now - last - TICK_S) * 1000
            if late_ms > threshold_ms:
                log.write(f"{now:.6f} {late_ms:.1f}\n")
            last = now


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stalls", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="where the stalls are written")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):  # stopped by hand: the file is written
        probe(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
