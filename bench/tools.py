"""The load generator (wrk, from Debian) and the peer (Prism 5, from npm), installed if missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
NODE_DIR = BENCH_DIR / ".node"  # git-ignored: bench/.gitignore
PRISM_PACKAGE = "@stoplight/prism-cli@5"


class ToolError(Exception):
    """A tool the benchmark needs could not be installed."""


def ensure_wrk() -> Path:
    found = shutil.which("wrk")
    if found is None:
        # apt-get needs root; without it, sudo may still work non-interactively.
        apt = ["apt-get"] if os.geteuid() == 0 else ["sudo", "-n", "apt-get"]
        print("bench: installing wrk with apt-get", flush=True)
        _run([*apt, "update", "-qq"])
        _run([*apt, "install", "-y", "-qq", "wrk"], env={"DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("wrk")
        if found is None:
            raise ToolError("wrk is still missing after apt-get install")
    return Path(found)


def wrk_version(wrk: Path) -> str:
    # wrk has no --version that exits 0: `-v` prints the version line before the usage.
    done = subprocess.run([str(wrk), "-v"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()[0]  # "wrk <version> [epoll] Copyright ..."
    return " ".join(first.split()[:2])


def ensure_prism() -> Path:
    binary = NODE_DIR / "node_modules" / ".bin" / "prism"
    if not binary.exists() or not prism_version(binary).startswith("5."):
        if shutil.which("npm") is None:
            raise ToolError("npm is missing: install Node.js 18+ and npm to compare with Prism")
        print(f"bench: installing {PRISM_PACKAGE} into {NODE_DIR}", flush=True)
        NODE_DIR.mkdir(exist_ok=True)
        _run(
            [
                "npm",
                "install",
                "--prefix",
                str(NODE_DIR),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                PRISM_PACKAGE,
            ]
        )
    return binary


def prism_version(binary: Path) -> str:
    done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    try:
        subprocess.run(command, check=True, env={**os.environ, **(env or {})})
    except (OSError, subprocess.CalledProcessError) as error:
        raise ToolError(f"{' '.join(command)}: {error}") from error
