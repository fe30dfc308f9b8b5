"""Which CPUs the load generator and the servers run on, in the phases that pin them.

On a machine of a few cores, wrk and the servers otherwise take turns on the same cores as the
scheduler pleases, and a comparison of two servers also compares where each happened to run.
Pinning gives wrk the first CPU and the servers the others, the same for every server of a
phase, so that what differs between two runs is the server, not the layout. With one CPU
there is nothing to separate, and nothing is pinned.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    wrk: tuple[int, ...]  # empty: not pinned
    servers: tuple[int, ...]

    @property
    def pinned(self) -> bool:
        return bool(self.wrk)

    def describe(self) -> str:
        if not self.pinned:
            return "not pinned (one CPU, or no taskset)"
        return f"wrk on CPU {_listed(self.wrk)}, every server on CPU {_listed(self.servers)}"

    def as_dict(self) -> dict[str, list[int]]:
        return {"wrk": list(self.wrk), "servers": list(self.servers)}


def layout() -> Layout:
    """wrk on the first CPU this process may use, the servers on the rest."""
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2 or shutil.which("taskset") is None:
        return Layout((), ())
    return Layout((usable[0],), tuple(usable[1:]))


def pinned(command: Sequence[str], cpus: Sequence[int]) -> list[str]:
    """`command` run on `cpus` only. taskset execs the command, so the process keeps its pid
    (which the phases read memory from); no CPUs: the command as it is."""
    if not cpus:
        return list(command)
    return ["taskset", "--cpu-list", _listed(cpus), *command]


def _listed(cpus: Sequence[int]) -> str:
    return ",".join(str(cpu) for cpu in cpus)
