"""What a run did not check, and why: every hand-written check and every schemathesis check it
turns on, that never ran. `--require-all` makes any of them a failure, for CI jobs that must
not pass by skipping."""

from __future__ import annotations

from contract_tests import (
    account,
    checks,
    copies,
    lifecycle,
    pages,
    promises,
    restores,
    runs,
    schedules,
)
from contract_tests.checks import checks_in
from contract_tests.run import Run

HAND_WRITTEN = (checks, lifecycle, pages, promises, account, schedules, runs, restores, copies)
UNREACHED = "no test that runs it ran (not selected, or the run ended before it)"
ENGINE_UNREACHED = "schemathesis' phases did not run (not selected, or the run ended before)"


def omissions(run: Run) -> dict[str, str]:
    """Each check that did not run, and why (in the order: hand-written, then schemathesis')."""
    ran = {name for name, (passed, failed) in run.ledger.checks().items() if passed or failed}
    reasons = run.ledger.not_run_reasons()
    found: dict[str, str] = {}
    for name in checks_in(*HAND_WRITTEN):
        if name not in ran:
            found[name] = reasons.get(name, UNREACHED)
    for name, why in reasons.items():  # schemathesis' checks the run turned off, with why
        if name not in ran:
            found.setdefault(name, why)
    engine = run.engine_checks
    for name in engine:
        if name not in ran:
            found[name] = reasons.get(name, "schemathesis ran it on no answer")
    if not engine:
        found["schemathesis' checks (every phase)"] = ENGINE_UNREACHED
    return found
