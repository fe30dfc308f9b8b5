"""The `contract-tests` command: the suite, against any target, for CI.

A thin shell around pytest: it translates its options into the suite's pytest options, picks
a seed when none is given (and reports it), turns SIGTERM into the same orderly stop as
Ctrl-C (so cleanup runs), and exits 0 only when nothing failed.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import pytest

from contract_tests.settings import DEFAULT_MAX_EXAMPLES, DEFAULT_TIMEOUT

SUITE = Path(__file__).resolve().parent / "suite"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="contract-tests",
        description="Check a Cloud Databases backups API v1.0 implementation against the contract"
        " (openapi.yaml and what it cannot say). Without --base-url: the mock, in this process.",
        epilog="Every option can also be set as CONTRACT_TESTS_<OPTION>, e.g."
        " CONTRACT_TESTS_TOKEN. Exit status: 0 when nothing failed.",
    )
    p.add_argument("--base-url", help="http(s)://<host>[/<prefix>]/v1.0/<account>")
    p.add_argument("--token", help="the X-Auth-Token to send")
    p.add_argument("--instance-id", help="an ACTIVE single instance of the account, to back up")
    p.add_argument("--ha-id", help="an ACTIVE HA instance of the account, to back up")
    p.add_argument(
        "--max-examples",
        type=int,
        help=f"examples per operation and phase; more is deeper (default {DEFAULT_MAX_EXAMPLES})",
    )
    p.add_argument("--seed", type=int, help="repeat a run: the seed its report printed")
    p.add_argument("--workers", type=int, help="schemathesis workers (default 1)")
    p.add_argument(
        "--timeout",
        type=float,
        help=f"seconds a backup may take to end on a real service (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument("--junit", type=Path, metavar="PATH", help="write a JUnit XML report to PATH")
    p.add_argument(
        "--read-only",
        action="store_true",
        help="create and delete nothing: skip every check that needs a backup of its own",
    )
    p.add_argument("-k", metavar="EXPRESSION", help="run only the tests that match (pytest -k)")
    p.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    p.add_argument("-v", "--verbose", action="count", default=0, help="list every test")
    return p


def pytest_arguments(args: argparse.Namespace, seed: int) -> list[str]:
    arguments = [str(SUITE), "-c", str(SUITE / "pytest.ini"), "--rootdir", str(SUITE)]
    arguments += ["--seed", str(seed), f"--hypothesis-seed={seed}"]
    for name in ("base_url", "token", "instance_id", "ha_id", "max_examples", "workers", "timeout"):
        value = getattr(args, name)
        if value is not None:
            arguments += [f"--{name.replace('_', '-')}", str(value)]
    if args.read_only:
        arguments.append("--read-only")
    if args.junit is not None:
        arguments.append(f"--junitxml={args.junit}")
    if args.k:
        arguments += ["-k", args.k]
    if args.exitfirst:
        arguments.append("-x")
    arguments.append("-v" * args.verbose if args.verbose else "-q")
    return arguments


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # pytest stops as for Ctrl-C: fixtures tear down, cleanup runs


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    seed = args.seed if args.seed is not None else random.getrandbits(32)
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        return int(pytest.main(pytest_arguments(args, seed)))
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
