"""Every operation through schemathesis: examples, coverage, fuzzing and stateful phases.

This is schemathesis' own engine (what `st run` drives), configured for the contract: the
account pinned, the token sent, the statuses the contract documents for valid input accepted,
the guard between every generated request and the target (a schedule create's body included),
valid create bodies aimed at what the run backs up (instance creates at the backup it
restores: `fuzzed_instances.py`; copies at the region it copies to: `fuzzed_copies.py`), and
custom checks of its own. Where restores are not allowed createInstance is left out, where
copies are not backupAction, and the report says so. What it finds lands in the ledger and in an
`Outcome` per phase and operation (`outcomes.py`).
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from schemathesis.checks import CHECKS
from schemathesis.engine import events, from_schema
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER, HookContext

from contract_tests.api import Api
from contract_tests.checks import fault_problems
from contract_tests.copying import why_not
from contract_tests.creates import FuzzedCreates, FuzzedSchedules
from contract_tests.exchange import TOKEN_HEADER
from contract_tests.fuzzed_copies import FuzzedCopies
from contract_tests.fuzzed_instances import FuzzedInstances
from contract_tests.guard import COPY, CREATE, CREATE_INSTANCE, CREATE_SCHEDULE, NO_RESTORES
from contract_tests.ledger import Ledger
from contract_tests.outcomes import Conformance, Recorder
from contract_tests.settings import Settings
from contract_tests.shutdown import Shutdown, Stopped
from contract_tests.timeline import Control
from mockserver.resources import SPEC_PATH

PHASES = ("examples", "coverage", "fuzzing")  # and the stateful phase (`outcomes.STATEFUL`)
# The stateful phase follows the spec's links, and links learnt from Location headers, but no
# links schemathesis infers from the schemas: it inferred getFlavors' integer `id` into
# getFlavorById's string `flavorId`, then judged that valid request negative and its 200 an
# error (ST201), at random. The spec left that link out for this reason.
STATEFUL: dict[str, Any] = {"inference": {"algorithms": ["location-headers"]}}
# Statuses the contract documents for input the schema accepts (see each operation's notes).
ACCEPTED_FOR_VALID_INPUT = ["2xx", "401", "403", "404", "413"]  # 413: rate limits, everywhere
VALID_INPUT_EXTRAS = {
    "createBackup": ["400", "422"],  # 400: nothing (or two things) to back up; 422: busy target
    "deleteBackup": ["422"],  # the backup or a descendant still runs
    # 400: an incremental backup whose parent has no copy in the target region; 422: a backup
    # that has not COMPLETED (413, the quota there, is accepted already).
    "backupAction": ["400", "422"],
    "getBackups": ["400"],  # a marker that names no backup of the account
    "getBackupsByInstance": ["400"],
    "getBackupsForHaInstance": ["400"],
    "getInstance": ["400"],
    # 400: copy_to names LON or the target's own region, instance_id and source_id disagree (or
    # name nothing); 422: a datastore schedules do not support, a member of an HA instance, a
    # target that has its schedule already, the SYD and HKG regions.
    "createAutoBackup": ["400", "422"],
    # 400: copy_to as for create; run_now: 422 when the target is not ACTIVE, 413 at the quota
    # (413 is accepted everywhere already: the rate limits).
    "updateAutomatedBackupById": ["400", "413", "422"],
    "getAutomatedBackups": ["400"],  # a marker that names no schedule of the account
    # 400: a backup larger than the volume, or a datastore that is not the backup's; 422: a
    # backup that has not ended (404s, for a flavor, datastore or backup, are accepted already).
    "createInstance": ["400", "422"],
    "deleteInstance": ["422"],  # BUILD, BACKUP, or a member of an HA instance
}
REJECTED_INPUT = ["400", "401", "403", "404", "405", "413", "415", "422"]
WRITES = (
    "createBackup",
    "deleteBackup",
    "backupAction",
    "createAutoBackup",
    "updateAutomatedBackupById",
    "deleteAutomatedBackupById",
    "createInstance",
    "deleteInstance",
)
# Where a restore would make a real instance and --allow-restore was not given, this is left out
# (a lenient service may build an instance of an invalid body too); what it leaves unchecked:
RESTORE_PHASES = "createInstance (schemathesis' phases)"
COPY_PHASES = "backupAction (schemathesis' phases)"  # and this, where copies are not allowed
# The coverage phase also sends methods the spec does not document, expecting 405. Against a
# service whose undocumented routes may exist (Trove's PUT /instances/{id}, a resize), or in a
# read-only run, it sends only those that change nothing.
SAFE_UNEXPECTED_METHODS = ["options", "trace"]


# Seconds schemathesis gets to wind down after a stop. A worker waiting for an answer that does
# not come would keep it longer (its request timeout): the run goes on to cleanup without it.
ENGINE_GRACE = 3.0


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
    else:
        if not target.restores:
            operations.append({"include-operation-id": "createInstance", "enabled": False})
        if why_not(target) is not None:
            operations.append({"include-operation-id": "backupAction", "enabled": False})
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
        "phases": {"coverage": coverage, "stateful": STATEFUL | {"enabled": not target.read_only}},
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
    recorder = Recorder(api, found)
    creates = FuzzedCreates(api)
    schedules = FuzzedSchedules(api)
    instances = FuzzedInstances(api)
    copies = FuzzedCopies(api)
    if not api.target.read_only and not api.target.restores:
        api.ledger.not_run(RESTORE_PHASES, NO_RESTORES)
    why = why_not(api.target)
    if not api.target.read_only and why is not None:
        api.ledger.not_run(COPY_PHASES, why)

    def after_call(context: HookContext, case: Any, response: Any) -> None:
        if shutdown.requested:
            return  # what it made is cleanup's now
        created = recorder.track(case.method, case.operation.path, response)
        action = (case.method.upper(), case.operation.path)
        if action == CREATE_SCHEDULE:
            schedules.after(case, created)
            return
        if action == CREATE_INSTANCE:
            instances.after(case, created)
            return
        if action == COPY:
            copies.after(case, response.status_code)
            return
        # Let it end, so that the next create finds the source idle and links reach DELETE
        # and GET after it.
        creates.after(case, created)

    schema.hooks.register_hook_with_name(after_call, "after_call")
    with _installed(api, creates, schedules, instances, copies, shutdown):
        checks_config = loaded.projects.default.checks_config_for()
        found.enabled_checks = tuple(
            name for name in CHECKS.get_all_names() if checks_config.get_by_name(name=name).enabled
        )
        for event in _events(from_schema(schema).execute(), shutdown, found, api.ledger):
            recorder.record(event)
    found.creates = creates.summary()
    found.schedule_creates = schedules.summary()
    found.instance_creates = instances.summary()
    found.copy_requests = copies.summary()
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
def _installed(
    api: Api,
    creates: FuzzedCreates,
    schedules: FuzzedSchedules,
    instances: FuzzedInstances,
    copies: FuzzedCopies,
    shutdown: Shutdown,
) -> Iterator[None]:
    """The guard, the aiming of valid creates and the custom checks, for the engine's run only
    (schemathesis keeps hooks and checks in process-wide registries, which other runs in the
    same process must not inherit)."""

    def before_call(context: HookContext, case: Any, kwargs: dict[str, Any]) -> None:
        if shutdown.requested:
            raise Stopped(shutdown.reason)  # in a worker: schemathesis stops as for Ctrl-C
        defused = api.guard.defuse(case.method, case.operation.path, case.path_parameters)
        if defused is not None:
            case.path_parameters = defused
        action = (case.method.upper(), case.operation.path)
        if action == CREATE:
            creates.aim(case)
        elif action == CREATE_SCHEDULE:
            schedules.aim(case)  # and confined: it names no source but the run's
        elif action == CREATE_INSTANCE:
            instances.aim(case)  # or defused, where it would build a real instance
        elif action == COPY:
            copies.aim(case)  # or defused, where it would copy for real

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
            if state != "ACTIVE" or creates.ended_as_it_answered(source, response):
                return None  # busy with a backup the run did not make, or that just ended
            raise AssertionError(
                f"A valid create of {source}, which is ACTIVE, answered 422 Unprocessable"
            )
        raise AssertionError(f"A valid create of {source} answered {status}, not 202")

    def valid_schedule_create_of_a_runs_source_is_accepted(
        ctx: Any, response: Any, case: Any
    ) -> bool | None:
        problem = schedules.refusal_problem(case, response.status_code)
        if problem is not None:
            raise AssertionError(problem)
        return None

    def valid_instance_create_is_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
        problem = instances.problem(case, response.status_code)
        if problem is not None:
            raise AssertionError(problem)
        return None

    def valid_copy_is_accepted(ctx: Any, response: Any, case: Any) -> bool | None:
        problem = copies.problem(case, response.status_code)
        if problem is not None:
            raise AssertionError(problem)
        return None

    custom = (
        fault_body_is_documented,
        valid_create_of_an_idle_source_is_accepted,
        valid_schedule_create_of_a_runs_source_is_accepted,
        valid_instance_create_is_accepted,
        valid_copy_is_accepted,
    )
    GLOBAL_HOOK_DISPATCHER.register_hook_with_name(before_call, "before_call")
    for check in custom:
        schemathesis.check(check)
    try:
        yield
    finally:
        for check in custom:
            CHECKS.unregister(check.__name__)
        GLOBAL_HOOK_DISPATCHER.unregister(before_call)
