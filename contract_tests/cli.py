"""The `contract-tests` command: the suite, against any target, for CI.

A thin shell around pytest: it translates its options into the suite's pytest options, picks
a seed when none is given (and reports it), and exits 0 only when nothing failed. The suite's
plugin handles SIGTERM and Ctrl-C (see `shutdown.py`): a stopped run exits 128 + the signal's
number once it has cleaned up.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from contract_tests.settings import DEFAULT_CLEANUP_TIMEOUT, DEFAULT_MAX_EXAMPLES, DEFAULT_TIMEOUT

SUITE = Path(__file__).resolve().parent / "suite"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="contract-tests",
        description="Check a Cloud Databases backups API v1.0 implementation against the contract"
        " (openapi.yaml and what it cannot say). Without --base-url: the mock, in this process.",
        epilog="Every option can also be set as CONTRACT_TESTS_<OPTION>, e.g."
        " CONTRACT_TESTS_TOKEN. Exit status: 0 when nothing failed, 1 when something did (or,"
        " with --require-all, did not run), 128 + N when stopped by signal N (after cleanup).",
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
        help="seconds a backup may take to end, or an instance to be built, on a real service"
        f" (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument(
        "--cleanup-timeout",
        type=float,
        metavar="S",
        help="seconds cleanup may wait for the run's running backups to end (and its instances"
        " to be built) so that it can delete them (default"
        f" {DEFAULT_CLEANUP_TIMEOUT:g}); then it names what it left",
    )
    p.add_argument("--junit", type=Path, metavar="PATH", help="write a JUnit XML report to PATH")
    p.add_argument(
        "--html",
        type=Path,
        metavar="PATH",
        help="write the report as an HTML page to PATH (offline, one file): the contract"
        " coverage matrix of what the target answered, the statuses it never returned, the"
        " checks, and each failure with its curl lines; written also when the run fails",
    )
    p.add_argument(
        "--read-only",
        action="store_true",
        help="create and delete nothing: skip every check that needs a backup of its own",
    )
    p.add_argument(
        "--allow-restore",
        action="store_true",
        help="restore backups into new instances and delete them on a target without the"
        " control API (a real service: each a real instance, built for minutes; cleanup deletes"
        " it once built, within --cleanup-timeout). Without it no instance is created there and"
        " the restore checks are in the report's 'Not run'. A mock is restored into by default:"
        " the suite knows it by its control API (GET <root>/__mock/clock answers the time)",
    )
    p.add_argument(
        "--allow-copy",
        metavar="[REGION=]URL",
        help="copy backups to the region REGION, whose endpoint's root URL is URL (REGION may be"
        " left out when URL names it: https://iad.databases.api.rackspacecloud.com, or a mock's"
        " http://127.0.0.1:8779/iad), on a target without the control API: each copy a real"
        " backup there, which cleanup deletes once it has ended. Without it no copy is asked for"
        " there and the copy checks are in the report's 'Not run'. A mock copies by default, to"
        " another of its regions (IAD, or ORD when it is IAD)",
    )
    p.add_argument(
        "--discover",
        action="store_true",
        help="without --instance-id/--ha-id, back up the first ACTIVE instance and HA instance"
        " the target lists (always done against a mock)",
    )
    p.add_argument(
        "--quota",
        type=int,
        metavar="N",
        help="the account's backup quota: fill the account to it and expect 413 (always done"
        " against a mock)",
    )
    p.add_argument(
        "--other-account",
        metavar="URL",
        help="the base URL of another account: a backup must be 404 there (on a mock: any other"
        " account)",
    )
    p.add_argument("--other-token", help="the X-Auth-Token for --other-account (default --token)")
    p.add_argument(
        "--require-all",
        action="store_true",
        help="fail when a check could not run (the report's 'Not run'), for CI jobs that must"
        " not pass by skipping",
    )
    p.add_argument("-k", metavar="EXPRESSION", help="run only the tests that match (pytest -k)")
    p.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    p.add_argument("-v", "--verbose", action="count", default=0, help="list every test")
    return p


def pytest_arguments(args: argparse.Namespace, seed: int) -> list[str]:
    arguments = [str(SUITE), "-c", str(SUITE / "pytest.ini"), "--rootdir", str(SUITE)]
    arguments += ["--seed", str(seed), f"--hypothesis-seed={seed}"]
    valued = (
        "base_url",
        "token",
        "instance_id",
        "ha_id",
        "max_examples",
        "workers",
        "timeout",
        "cleanup_timeout",
        "quota",
        "other_account",
        "other_token",
        "allow_copy",
        "html",
    )
    for name in valued:
        value = getattr(args, name)
        if value is not None:
            arguments += [f"--{name.replace('_', '-')}", str(value)]
    for name in ("read_only", "allow_restore", "discover", "require_all"):
        if getattr(args, name):
            arguments.append(f"--{name.replace('_', '-')}")
    if args.junit is not None:
        arguments.append(f"--junitxml={args.junit}")
    if args.k:
        arguments += ["-k", args.k]
    if args.exitfirst:
        arguments.append("-x")
    arguments.append("-v" * args.verbose if args.verbose else "-q")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    seed = args.seed if args.seed is not None else random.getrandbits(32)
    code = int(pytest.main(pytest_arguments(args, seed)))
    # A thread still waiting for an answer after a stop (schemathesis' stateful worker, whose
    # request timeout is long) would keep the interpreter from exiting: the run is over and its
    # report printed, so end the process now.
    if any(
        t.is_alive() and not t.daemon
        for t in threading.enumerate()
        if t is not threading.main_thread()
    ):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
