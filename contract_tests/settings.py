"""The settings of one run: one frozen object, built from options or the environment.

(It imports nothing from the mock: the command reads it before pytest starts, and pytest must
be first to import the packages its plugins want rewritten.)
"""

from __future__ import annotations

from dataclasses import dataclass

from contract_tests.regions import Region

ENV_PREFIX = "CONTRACT_TESTS_"
DEFAULT_MAX_EXAMPLES = 25
DEFAULT_TIMEOUT = 900.0  # seconds a real backup may take to end, or a real instance to be built
# Seconds cleanup may wait for the run's backups to end so that it can delete them (a running
# backup cannot be deleted). Below the grace most CI systems give a job between SIGTERM and
# SIGKILL is best; on a mock it is clock time the suite moves, not time it waits.
DEFAULT_CLEANUP_TIMEOUT = 300.0
MOCK_ACCOUNT = "1234"
MOCK_OTHER_ACCOUNT = "5678"  # the in-process mock's token holds it too: the isolation check
MOCK_TOKEN = "contract-tests"


@dataclass(frozen=True)
class Settings:
    base_url: str | None  # None: the mock, in this process
    token: str | None
    instance_id: str | None
    ha_id: str | None
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int = 0
    workers: int = 1
    read_only: bool = False
    timeout: float = DEFAULT_TIMEOUT
    cleanup_timeout: float = DEFAULT_CLEANUP_TIMEOUT
    discover: bool = False  # pick what to back up from GET /instances and GET /ha
    require_all: bool = False  # a check that did not run fails the run
    quota: int | None = None  # the account's backup quota, to check on a real service
    other_account_url: str | None = None  # another account's base URL, for the isolation check
    other_token: str | None = None  # its token (default: --token)
    allow_restore: bool = False  # restore into new instances on a target without the control API
    allow_copy: Region | None = None  # copy backups there, on a target without the control API
    html: str | None = None  # where to write the report page (html_report.py), if anywhere
