"""Random interleavings of backups, time, deletes and page walks keep the contract."""

from __future__ import annotations

from typing import cast

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.errors import FlakyFailure
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test

from contract_tests.api import Api
from contract_tests.machine import BackupsMachine
from contract_tests.plugin import not_run
from contract_tests.run import Run

STEPS = 10


def test_random_sequences_of_backups_keep_the_contract(api: Api, run: Run) -> None:
    if api.target.read_only:
        not_run(api, "read-only: no create or delete")
    # With a control API a step costs milliseconds; against a real service, minutes.
    examples = max(1, run.settings.max_examples // 5) if api.timeline.control else 1
    # Hypothesis calls the factory with no arguments; its annotation asks for a class.
    factory = cast(
        type[RuleBasedStateMachine],
        lambda: BackupsMachine(api, run.cleanup, run.settings.cleanup_timeout),
    )
    test = get_state_machine_test(
        factory,
        settings=settings(
            max_examples=examples,
            stateful_step_count=STEPS,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the target keeps state
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        ),
    )
    try:
        seed(run.settings.seed)(test)()
    except FlakyFailure as flaky:
        # The target keeps its state, so Hypothesis' replay of a failing sequence may go
        # another way: the first failure is the one to report.
        raise flaky.exceptions[0] from flaky
