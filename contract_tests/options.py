"""The suite's options: each `--option` of the pytest plugin, also read from its
CONTRACT_TESTS_ variable, and the run's `Settings` built from them and checked, kept with the
`Run` on the config (`RUN`).

Hooks of the plugin (`plugin.py`), which registers them as its own.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contract_tests.contract import Contract
from contract_tests.regions import Region, parse_allow_copy
from contract_tests.run import Run
from contract_tests.settings import (
    DEFAULT_CLEANUP_TIMEOUT,
    DEFAULT_MAX_EXAMPLES,
    DEFAULT_TIMEOUT,
    ENV_PREFIX,
    Settings,
)
from contract_tests.target import Target

RUN = pytest.StashKey[Run]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("contract-tests", "contract tests of the backups API")

    def option(name: str, help: str, kind: Callable[[str], object] = str) -> None:
        variable = ENV_PREFIX + name.upper().replace("-", "_")
        group.addoption(
            f"--{name}", type=kind, default=os.environ.get(variable), help=f"{help} [{variable}]"
        )

    def flag(name: str, help: str) -> None:
        variable = ENV_PREFIX + name.upper().replace("-", "_")
        group.addoption(
            f"--{name}",
            action="store_true",
            default=os.environ.get(variable, "") not in ("", "0", "false", "no"),
            help=f"{help} [{variable}]",
        )

    option("base-url", "the service: http(s)://<host>/v1.0/<account> (default: the mock)")
    option("token", "the X-Auth-Token to send")
    option("instance-id", "an ACTIVE instance of the account, to back up")
    option("ha-id", "an ACTIVE HA instance of the account, to back up")
    option(
        "max-examples", f"examples per operation and phase (default {DEFAULT_MAX_EXAMPLES})", int
    )
    option("seed", "the seed of every random choice (default: a new one, reported)", int)
    option("workers", "schemathesis workers (default 1)", int)
    option(
        "timeout",
        f"seconds a backup may take to end, an instance to be built (default {DEFAULT_TIMEOUT:g})",
        float,
    )
    option(
        "cleanup-timeout",
        "seconds cleanup may wait for running backups and building instances"
        f" (default {DEFAULT_CLEANUP_TIMEOUT:g})",
        float,
    )
    option("quota", "the account's backup quota: fill it and expect 413", int)
    option("other-account", "another account's base URL, for the isolation check")
    option("other-token", "the X-Auth-Token of --other-account (default: --token)")
    flag("read-only", "create and delete nothing (for production)")
    flag("allow-restore", "restore into new instances on a target without the control API")
    option(
        "allow-copy",
        "copy backups to this region on a target without the control API: [REGION=]URL, the"
        " root URL of the region's endpoint (IAD=https://iad.databases.api.rackspacecloud.com)",
    )
    option(
        "html",
        "write the report page to this path: the coverage matrix, the checks, each failure"
        " with its curl lines (also when the run fails)",
    )
    flag("discover", "back up the first ACTIVE instance and HA instance the target lists")
    flag("require-all", "fail when a check could not run")


def pytest_configure(config: pytest.Config) -> None:
    def given(name: str, default: Any) -> Any:
        found = config.getoption(name)
        return default if found in (None, "") else found

    settings = Settings(
        base_url=given("base_url", None),
        token=given("token", None),
        instance_id=given("instance_id", None),
        ha_id=given("ha_id", None),
        max_examples=given("max_examples", DEFAULT_MAX_EXAMPLES),
        seed=given("seed", random.getrandbits(32)),
        workers=given("workers", 1),
        read_only=bool(config.getoption("read_only")),
        timeout=given("timeout", DEFAULT_TIMEOUT),
        cleanup_timeout=given("cleanup_timeout", DEFAULT_CLEANUP_TIMEOUT),
        discover=bool(config.getoption("discover")),
        require_all=bool(config.getoption("require_all")),
        quota=given("quota", None),
        other_account_url=given("other_account", None),
        other_token=given("other_token", None),
        allow_restore=bool(config.getoption("allow_restore")),
        allow_copy=_allow_copy(given("allow_copy", None)),
        html=given("html", None),
    )
    if settings.html and not Path(settings.html).resolve().parent.is_dir():
        raise pytest.UsageError(f"--html {settings.html}: its directory does not exist")
    if settings.base_url and not settings.token:
        raise pytest.UsageError("--base-url needs --token (or CONTRACT_TESTS_TOKEN)")
    if settings.other_account_url:
        try:
            Target(
                settings.other_account_url,
                settings.other_token or settings.token or "-",
                None,
                None,
            )
        except ValueError as error:
            raise pytest.UsageError(f"--other-account: {error}") from error
    config.stash[RUN] = Run(settings)


def _allow_copy(value: str | None) -> Region | None:
    if value is None:
        return None
    try:
        return parse_allow_copy(value, Contract.load().spec.regions)
    except ValueError as error:
        raise pytest.UsageError(f"--allow-copy: {error}") from error
