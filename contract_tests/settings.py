"""The settings of one run: one frozen object, built from options or the environment.

(It imports nothing from the mock: the command reads it before pytest starts, and pytest must
be first to import the packages its plugins want rewritten.)
"""

from __future__ import annotations

from dataclasses import dataclass

ENV_PREFIX = "CONTRACT_TESTS_"
DEFAULT_MAX_EXAMPLES = 25
DEFAULT_TIMEOUT = 900.0  # seconds a real backup may take to end
MOCK_ACCOUNT = "1234"
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
