"""One run of the suite: its settings, and what it learns on the way, for the report."""

from __future__ import annotations

from dataclasses import dataclass, field

from contract_tests.cleanup import CleanupReport
from contract_tests.inventory import Inventory
from contract_tests.ledger import Ledger
from contract_tests.settings import Settings
from contract_tests.shutdown import Shutdown
from contract_tests.target import Target


@dataclass
class Run:
    settings: Settings
    ledger: Ledger = field(default_factory=Ledger)
    inventory: Inventory = field(default_factory=Inventory)
    cleanup: CleanupReport = field(default_factory=CleanupReport)
    shutdown: Shutdown = field(default_factory=Shutdown)
    target: Target | None = None
    in_process: bool = False  # the target is the mock, served by this process
    has_control: bool | None = None  # None until the target was asked
    # Whether the target refuses what a token does not hold (None until the run asked).
    checks_tokens: bool | None = None
    sources: list[str] = field(default_factory=list)  # what it backs up, and how it was chosen
    engine_checks: tuple[str, ...] = ()  # schemathesis' checks the run turned on
    creates: str = ""  # what became of the fuzzed valid creates
    schedule_creates: str = ""  # and of the fuzzed valid schedule creates
    instance_creates: str = ""  # and of the fuzzed valid instance creates (restores)
    copy_requests: str = ""  # and of the fuzzed valid copy actions
    skipped: dict[str, str] = field(default_factory=dict)  # test id -> why it was skipped
