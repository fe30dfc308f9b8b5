"""Every operation through schemathesis: examples, coverage, fuzzing and stateful phases.

This is schemathesis' own engine (what `st run` drives), configured for the contract: the
account pinned, the token sent, the statuses the contract documents for valid input accepted,
the guard between every generated request and the target, and one custom check of its own.
What it finds lands in the ledger and in an `Outcome` per phase and operation.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.checks import CHECKS
from schemathesis.engine import Status, events, from_schema
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER, HookContext

from contract_tests.api import Api
from contract_tests.checks import fault_problems
from contract_tests.creates import FuzzedCreates, created_id
from contract_tests.exchange import TOKEN_HEADER, TOKEN_VARIABLE
from contract_tests.guard import CREATE, DELETE
from contract_tests.ledger import Failure, Ledger
from contract_tests.settings import Settings
from contract_tests.shutdown import Shutdown, Stopped
from contract_tests.timeline import Control
from mockserver.resources import SPEC_PATH

PHASES = ("examples", "coverage", "fuzzing")
STATEFUL = "stateful"
# Statuses the contract documents for input the schema accepts (see each operation's notes).
ACCEPTED_FOR_VALID_INPUT = ["2xx", "401", "403", "404", "413"]  # 413: rate limits, everywhere
VALID_INPUT_EXTRAS = {
    "createBackup": ["400", "422"],  # 400: nothing (or two things) to back up; 422: busy target
    "deleteBackup": ["422"],  # the backup or a descendant still runs
    "getBackups": ["400"],  # a marker that names no backup of the account
    "getBackupsByInstance": ["400"],
    "getBackupsForHaInstance": ["400"],
    "getInstance": ["400"],
}
REJECTED_INPUT = ["400", "401", "403", "404", "405", "413", "415", "422"]
WRITES = ("createBackup", "deleteBackup")
# The coverage phase also sends methods the spec does not document, expecting 405. Against a
# service whose undocumented routes may exist (Trove's DELETE /instances/{id}), or in a
# read-only run, it sends only those that change nothing.
SAFE_UNEXPECTED_METHODS = ["options", "trace"]


@dataclass
class Outcome:
    scenarios: int = 0  # scenarios run (not skipped)
    failures: list[Failure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None  # why schemathesis skipped it, when it did


# Seconds schemathesis gets to wind down after a stop. A worker waiting for an answer that does
# not come would keep it longer (its request timeout): the run goes on to cleanup without it.
ENGINE_GRACE = 3.0


@dataclass
class Conformance:
    outcomes: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    general: Outcome = field(default_factory=Outcome)  # what belongs to no one operation
    interrupted: bool = False
    enabled_checks: tuple[str, ...] = ()  # schemathesis' checks this run turned on
    creates: str = ""  # what became of the valid create bodies, for the report

    def outcome(self, phase: str, label: str = "") -> Outcome:
        return self.outcomes.setdefault((phase, label), Outcome())


def config(
    api: Api, settings: Settings, check_auth: bool, control: Control | None
) -> dict[str, Any]:
    """The schemathesis configuration; `check_auth`: run `ignored_auth` (the target refuses
    tokens it does not know)."""
    target = api.target
    checks: dict[str, Any] = {
        "positive_data_acceptance": {"expected-statuses": ACCEPTED_FOR_VALID_INPUT},
        "negative_data_rejection": {"expected-statuses": REJECTED_INPUT},
        "ignored_auth": {"enabled": check_auth},
    }
    operations: list[dict[str, Any]] = [
        {
            "include-operation-id": operation_id,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ACCEPTED_FOR_VALID_INPUT + extras}
            },
        }
        for operation_id, extras in VALID_INPUT_EXTRAS.items()
    ]
    if target.read_only:
        operations += [{"include-operation-id": o, "enabled": False} for o in WRITES]
    coverage: dict[str, Any] = {}
    if target.read_only or control is None:
        coverage["unexpected-methods"] = SAFE_UNEXPECTED_METHODS
    return {
        "seed": settings.seed,
        "base-url": target.root,
        "headers": {TOKEN_HEADER: target.token},
        "workers": settings.workers,
        "request-timeout": 30,
        "parameters": {"accountId": target.account},
        "generation": {"max-examples": settings.max_examples, "database": "none"},
        "phases": {"coverage": coverage, "stateful": {"enabled": not target.read_only}},
        "checks": checks,
        "operations": operations,
    }


def run(
    api: Api,
    settings: Settings,
    check_auth: bool,
    control: Control | None,
    shutdown: Shutdown,
) -> Conformance:
    loaded = schemathesis.Config.from_dict(config(api, settings, check_auth, control))
    schema = schemathesis.openapi.from_path(SPEC_PATH, config=loaded)
    found = Conformance()
    recorder = _Recorder(api, found)
    creates = FuzzedCreates(api)

    def after_call(context: HookContext, case: Any, response: Any) -> None:
        if shutdown.requested:
            return  # its backup is cleanup's now
        created = recorder.track(case.method, case.operation.path, response)
        # Let it end, so that the next create finds the source idle and links reach DELETE
        # and GET after it.
        creates.after(case, created)

    schema.hooks.register_hook_with_name(after_call, "after_call")
    with _installed(api, creates, shutdown):
        checks_config = loaded.projects.default.checks_config_for()
        found.enabled_checks = tuple(
            name for name in CHECKS.get_all_names() if checks_config.get_by_name(name=name).enabled
        )
        for event in _events(from_schema(schema).execute(), shutdown, found, api.ledger):
            recorder.record(event)
    found.creates = creates.summary()
    return found


def _events(
    stream: Any, shutdown: Shutdown, found: Conformance, ledger: Ledger
) -> Iterator[events.EngineEvent]:
    """The engine's events, read in a thread of their own, so that a stop is never stuck
    behind it: once asked, the engine is told to stop, and given ENGINE_GRACE seconds."""
    pending: queue.Queue[Any] = queue.Queue()
    done = object()

    def drive() -> None:
        try:
            for event in stream:
                pending.put(event)
        except BaseException as error:  # handed to the reading thread, which raises it
            pending.put(error)
        finally:
            pending.put(done)

    threading.Thread(target=drive, name="contract-tests-schemathesis", daemon=True).start()
    give_up_at: float | None = None
    while True:
        if shutdown.requested and give_up_at is None:
            stream.stop()  # here, not in the signal handler: it takes a lock
            give_up_at = time.monotonic() + ENGINE_GRACE
        try:
            item = pending.get(timeout=0.1)
        except queue.Empty:
            if give_up_at is not None and time.monotonic() > give_up_at:
                found.interrupted = True
                ledger.note(
                    "schemathesis was still waiting for an answer when the run stopped; it was"
                    f" left behind after {ENGINE_GRACE:g} s"
                )
                return
            continue
        if item is done:
            return
        if isinstance(item, BaseException):
            raise item
        yield item


@contextmanager
def _installed(api: Api, creates: FuzzedCreates, shutdown: Shutdown) -> Iterator[None]:
    """The guard, the aiming of valid creates and the custom checks, for the engine's run only
    (schemathesis keeps hooks and checks in process-wide registries, which other runs in the
    same process must not inherit)."""

    def before_call(context: HookContext, case: Any, kwargs: dict[str, Any]) -> None:
        if shutdown.requested:
            raise Stopped(shutdown.reason)  # in a worker: schemathesis stops as for Ctrl-C
        defused = api.guard.defuse(case.method, case.operation.path, case.path_parameters)
        if defused is not None:
            case.path_parameters = defused
        if (case.method.upper(), case.operation.path) == CREATE:
            creates.aim(case)

    def fault_body_is_documented(ctx: Any, response: Any, case: Any) -> bool | None:
        if response.status_code < 400:
            return None
        headers = {name.lower(): values for name, values in response.headers.items()}
        media_type = (headers.get("content-type") or [""])[0].split(";")[0].strip().lower()
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        problems = fault_problems(api.contract, response.status_code, media_type, body)
        if problems:
            raise AssertionError("Fault body is not the documented shape: " + "; ".join(problems))
        return None

    def valid_create_of_an_idle_source_is_accepted(
        ctx: Any, response: Any, case: Any
    ) -> bool | None:
        source = creates.aimed_at(case)
        if source is None:
            return None
        creates.forget(case)
        status = response.status_code
        if 200 <= status < 300 or status == 413:  # 413: the quota, or a rate limit
            return None
        if status == 404 and creates.parent_is_gone(case):
            return None
        if status == 422:
            state, _ = source.state(api)
            if state != "ACTIVE":
                return None  # busy with a backup the run did not make
            raise AssertionError(
                f"A valid create of {source}, which is ACTIVE, answered 422 Unprocessable"
            )
        raise AssertionError(f"A valid create of {source} answered {status}, not 202")

    custom = (fault_body_is_documented, valid_create_of_an_idle_source_is_accepted)
    GLOBAL_HOOK_DISPATCHER.register_hook_with_name(before_call, "before_call")
    for check in custom:
        schemathesis.check(check)
    try:
        yield
    finally:
        for check in custom:
            CHECKS.unregister(check.__name__)
        GLOBAL_HOOK_DISPATCHER.unregister(before_call)


class _Recorder:
    """Turns the engine's events into the ledger's lines and the outcomes."""

    def __init__(self, api: Api, found: Conformance) -> None:
        self.api = api
        self.found = found

    def track(self, method: str, template: str, response: Any) -> str | None:
        """Remember a backup the target accepted; its id when one was created."""
        if (method.upper(), template) == CREATE:
            backup_id = created_id(response)
            if backup_id is not None:
                self.api.inventory.remember(backup_id)
            return backup_id
        if template == DELETE[1] and response.status_code == 404:
            self.api.inventory.forget(str(response.request.url).split("?")[0].rsplit("/", 1)[-1])
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
