"""Every operation, through schemathesis' examples, coverage and fuzzing phases, positive and
negative, with every built-in check; then the stateful sequences the spec's links describe."""

from __future__ import annotations

import pytest

from contract_tests.conformance import PHASES, WRITES
from contract_tests.contract import Contract
from contract_tests.copying import why_not
from contract_tests.guard import NO_RESTORES
from contract_tests.outcomes import STATEFUL, Conformance, Outcome
from contract_tests.plugin import EngineFailures
from contract_tests.run import Run

CONTRACT = Contract.load()
OPERATIONS = tuple((o.operation_id, f"{o.method} {o.path}") for o in CONTRACT.operations)


def takes_input(method: str, path: str) -> bool:
    """Whether the operation has parameters or a body: one with neither has no examples for
    the examples phase to send (GET /, say)."""
    item = CONTRACT.spec.document["paths"][path]
    operation = item[method.lower()]
    return bool(item.get("parameters") or operation.get("parameters") or "requestBody" in operation)


CASES = [
    (phase, operation_id, label)
    for phase in PHASES
    for operation_id, label in OPERATIONS
    if phase != "examples" or takes_input(*label.split(" ", 1))
]


def assert_clean(outcome: Outcome) -> None:
    if outcome.failures or outcome.errors:
        lines = [
            f"[{f.check}] {f.title}: {f.reason}\n    " + "\n    ".join(f.curls)
            for f in outcome.failures
        ]
        raise EngineFailures("\n".join(lines + [f"error: {e}" for e in outcome.errors]))


@pytest.mark.parametrize(
    ("phase", "operation_id", "label"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_operation_keeps_the_contract(
    conformance_run: Conformance, run: Run, phase: str, operation_id: str, label: str
) -> None:
    if run.settings.read_only and operation_id in WRITES:
        pytest.skip("read-only: no create or delete")
    if operation_id == "createInstance" and run.target is not None and not run.target.restores:
        pytest.skip(f"left out: {NO_RESTORES}")
    why = why_not(run.target) if run.target is not None else None
    if operation_id == "backupAction" and why is not None:
        pytest.skip(f"left out: {why}")
    outcome = conformance_run.outcomes.get((phase, label), Outcome())
    assert_clean(outcome)
    if not outcome.scenarios:
        why = outcome.skipped or conformance_run.outcomes.get((phase, ""), Outcome()).skipped
        pytest.skip(f"schemathesis ran nothing here ({why or 'no scenario'})")


def test_stateful_sequences_follow_the_links(conformance_run: Conformance, run: Run) -> None:
    if run.settings.read_only:
        pytest.skip("read-only: the links start from a created backup")
    outcome = conformance_run.outcomes.get((STATEFUL, ""), Outcome())
    if not outcome.scenarios and not (outcome.failures or outcome.errors):
        pytest.skip(f"schemathesis ran no stateful scenario: {outcome.skipped}")
    assert_clean(outcome)


def test_the_run_itself_met_no_errors(conformance_run: Conformance) -> None:
    assert_clean(conformance_run.general)
