"""One run of the suite: its settings, and what it learns on the way, for the report."""

from __future__ import annotations

from dataclasses import dataclass, field

from contract_tests.cleanup import CleanupReport
from contract_tests.inventory import Inventory
from contract_tests.ledger import Ledger
from contract_tests.settings import Settings
from contract_tests.target import Target


@dataclass
class Run:
    settings: Settings
    ledger: Ledger = field(default_factory=Ledger)
    inventory: Inventory = field(default_factory=Inventory)
    cleanup: CleanupReport = field(default_factory=CleanupReport)
    target: Target | None = None
    in_process: bool = False  # the target is the mock, served by this process
    has_control: bool | None = None  # None until the target was asked
