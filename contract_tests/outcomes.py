"""What schemathesis' run found: an `Outcome` per phase and operation, and the `Recorder` that
turns the engine's events into them and into the ledger's lines (with the curl lines that
reproduce each failure, the token named by a variable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemathesis.engine import Status, events

from contract_tests.api import Api
from contract_tests.creates import created_id
from contract_tests.exchange import TOKEN_HEADER, TOKEN_VARIABLE
from contract_tests.guard import (
    CREATE,
    CREATE_INSTANCE,
    CREATE_SCHEDULE,
    DELETE,
    INSTANCE,
    SCHEDULE,
)
from contract_tests.ledger import Failure

STATEFUL = "stateful"


@dataclass
class Outcome:
    scenarios: int = 0  # scenarios run (not skipped)
    failures: list[Failure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None  # why schemathesis skipped it, when it did


@dataclass
class Conformance:
    outcomes: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    general: Outcome = field(default_factory=Outcome)  # what belongs to no one operation
    interrupted: bool = False
    enabled_checks: tuple[str, ...] = ()  # schemathesis' checks this run turned on
    creates: str = ""  # what became of the valid create bodies, for the report
    schedule_creates: str = ""  # and of the valid schedule bodies
    instance_creates: str = ""  # and of the valid instance bodies (restores)
    copy_requests: str = ""  # and of the valid copy actions

    def outcome(self, phase: str, label: str = "") -> Outcome:
        return self.outcomes.setdefault((phase, label), Outcome())


class Recorder:
    """Turns the engine's events into the ledger's lines and the outcomes."""

    def __init__(self, api: Api, found: Conformance) -> None:
        self.api = api
        self.found = found

    def track(self, method: str, template: str, response: Any) -> str | None:
        """Remember a backup, schedule or instance the target accepted; its id when one was
        created."""
        inventory = self.api.inventory
        action = (method.upper(), template)
        if action == CREATE:
            backup_id = created_id(response, "backup")
            if backup_id is not None:
                inventory.remember(backup_id)
            return backup_id
        if action == CREATE_SCHEDULE:
            schedule_id = created_id(response, "schedule")
            if schedule_id is not None:
                inventory.remember_schedule(schedule_id)
            return schedule_id
        if action == CREATE_INSTANCE:
            instance_id = created_id(response, "instance")
            if instance_id is not None:
                inventory.remember_instance(instance_id)
            return instance_id
        if method.upper() == "DELETE" and response.status_code == 404:
            last = str(response.request.url).split("?")[0].rsplit("/", 1)[-1]
            if template == DELETE[1]:
                inventory.forget(last)
            elif template == SCHEDULE:
                inventory.forget_schedule(last)
            elif template == INSTANCE:
                inventory.forget_instance(last)
        return None

    def record(self, event: events.EngineEvent) -> None:
        if isinstance(event, events.ScenarioFinished):
            self._scenario(event)
        elif isinstance(event, events.NonFatalError):
            phase = event.phase.value if event.phase is not None else "run"
            where = self.found.outcome(phase, event.label) if event.related_to_operation else None
            (where or self.found.general).errors.append(
                f"{event.label}: {event.info.title}: {event.info.message}"
            )
        elif isinstance(event, events.PhaseFinished) and event.status == Status.SKIP:
            reason = event.phase.skip_reason
            self.found.outcome(event.phase.name.value).skipped = str(reason.value if reason else "")
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                found = Failure(type(failure).__name__, failure.title, failure.message, (), "run")
                self.api.ledger.failed(found)
                self.found.general.failures.append(found)
        elif isinstance(event, events.Interrupted):
            self.found.interrupted = True
        elif isinstance(event, events.FatalError):
            self.found.general.errors.append(f"{type(event.exception).__name__}: {event.exception}")

    def _scenario(self, event: events.ScenarioFinished) -> None:
        phase = event.phase.value
        label = (event.label or "") if phase != STATEFUL else ""
        outcome = self.found.outcome(phase, label)
        if event.status == Status.SKIP:
            outcome.skipped = event.skip_reason or "skipped"
        else:
            outcome.scenarios += 1
        recorder = event.recorder
        for case_id, interaction in recorder.interactions.items():
            node = recorder.cases.get(case_id)
            if interaction.response is None or node is None:
                continue
            case = node.value
            method = interaction.request.method
            self.api.ledger.saw(f"{method} {case.operation.path}", interaction.response.status_code)
            self.track(method, case.operation.path, interaction.response)
        for checks in recorder.checks.values():
            for result in checks:
                if result.status == Status.SUCCESS:
                    self.api.ledger.checked(result.name, passed=True)
                elif result.failure_info is not None:
                    info = result.failure_info
                    failure = info.failure
                    steps = [step.curl for step in info.steps]
                    curls = tuple(_unfilter(c) for c in steps or [info.code_sample])
                    where = f"{phase} {failure.operation or event.label or ''}".strip()
                    found = Failure(result.name, failure.title, failure.message, curls, where)
                    self.api.ledger.failed(found)
                    if found not in outcome.failures:
                        outcome.failures.append(found)


def _unfilter(curl: str) -> str:
    """Schemathesis prints the token as [Filtered]; the repro line names it by a variable."""
    return curl.replace(
        f"-H '{TOKEN_HEADER}: [Filtered]'", f'-H "{TOKEN_HEADER}: ${TOKEN_VARIABLE}"'
    )
