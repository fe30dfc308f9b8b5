"""The guard lets the suite change only what it created: generated requests that could touch
anything else are defused, hand-written ones refused, schedules are made only of what the run
backs up (generated ones aimed at it, or naming nothing), instances are created only where
restores are allowed and deleted only when the run made them, generated instance creates are
aimed (on a mock) or defused (beyond a few, on a real service), copies are asked for only where
they are allowed and only to where the run finds them (generated ones aimed, or copying
nothing), and a read-only run changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import broken_mocks
import fixture_ids
import httpx
import pytest
from schemathesis.generation import GenerationMode
from schemathesis.generation.meta import TestPhase

from contract_tests.api import Api
from contract_tests.contract import Contract
from contract_tests.creates import FuzzedSchedules
from contract_tests.fuzzed_copies import REAL_COPIES, FuzzedCopies
from contract_tests.fuzzed_instances import REAL_INSTANCES, FuzzedInstances
from contract_tests.guard import (
    COPY,
    CREATE,
    CREATE_INSTANCE,
    CREATE_SCHEDULE,
    DELETE,
    INSTANCE,
    SCHEDULE,
    Guard,
    Refused,
)
from contract_tests.inventory import Inventory
from contract_tests.ledger import Ledger
from contract_tests.regions import Region
from contract_tests.target import Target
from contract_tests.timeline import Control, Timeline
from mockserver.plugin.threaded import ThreadedServer

ITEM = INSTANCE


def guard(*owned: str, read_only: bool = False) -> Guard:
    inventory = Inventory()
    for backup_id in owned:
        inventory.remember(backup_id)
    return Guard(inventory, read_only)


def test_a_generated_delete_of_a_backup_the_run_did_not_create_is_defused() -> None:
    foreign = str(uuid.uuid4())
    defused = guard().defuse("DELETE", DELETE[1], {"accountId": "1234", "backupId": foreign})
    assert defused is not None
    assert defused["accountId"] == "1234"
    assert defused["backupId"] not in (foreign, None)


def test_the_run_may_delete_the_backups_it_created() -> None:
    ours = str(uuid.uuid4())
    assert guard(ours).defuse("DELETE", DELETE[1], {"accountId": "1", "backupId": ours}) is None
    guard(ours).vet("DELETE", DELETE[1], {"accountId": "1", "backupId": ours})


def test_an_undocumented_method_on_an_existing_instance_is_defused() -> None:
    instance = str(uuid.uuid4())
    defused = guard().defuse("PUT", ITEM, {"accountId": "1", "instanceId": instance})
    assert defused is not None and defused["instanceId"] != instance


def test_a_hand_written_change_to_a_foreign_backup_is_refused() -> None:
    with pytest.raises(Refused):
        guard().vet("DELETE", DELETE[1], {"accountId": "1", "backupId": str(uuid.uuid4())})


def test_reads_and_creates_pass_untouched() -> None:
    assert guard().defuse("GET", ITEM, {"instanceId": str(uuid.uuid4())}) is None
    assert guard().defuse(*CREATE, {"accountId": "1"}) is None


def test_a_read_only_run_sends_no_change_at_all() -> None:
    for method, template in (CREATE, DELETE, CREATE_INSTANCE, ("DELETE", INSTANCE)):
        with pytest.raises(Refused):
            guard(read_only=True).defuse(method, template, {"accountId": "1"})
        with pytest.raises(Refused):
            guard(read_only=True).vet(method, template, {"accountId": "1"})


# -- instances ---------------------------------------------------------------------------------


def instance_guard(*owned_instances: str, restores: bool = True) -> Guard:
    inventory = Inventory()
    for instance_id in owned_instances:
        inventory.remember_instance(instance_id)
    return Guard(inventory, False, (fixture_ids.SCHEDULABLE,), restores)


def test_a_delete_of_an_instance_the_run_did_not_create_is_defused_or_refused() -> None:
    # The fixture's, the one the run backs up, one that was there before: none is the run's.
    for foreign in (fixture_ids.MYSQL, fixture_ids.SCHEDULABLE, str(uuid.uuid4())):
        parameters = {"accountId": "1234", "instanceId": foreign}
        defused = instance_guard().defuse("DELETE", INSTANCE, parameters)
        assert defused is not None and defused["instanceId"] != foreign
        with pytest.raises(Refused):
            instance_guard().vet("DELETE", INSTANCE, parameters)


def test_the_run_may_delete_the_instances_it_created() -> None:
    ours = str(uuid.uuid4())
    parameters = {"accountId": "1234", "instanceId": ours}
    assert instance_guard(ours).defuse("DELETE", INSTANCE, parameters) is None
    instance_guard(ours).vet("DELETE", INSTANCE, parameters)
    # A backup the run owns under that id is no instance of its own.
    backups = Inventory()
    backups.remember(ours)
    assert Guard(backups, False, (), True).defuse("DELETE", INSTANCE, parameters) is not None


def test_an_instance_is_created_only_where_restores_are_allowed() -> None:
    body = {"instance": {"name": "x", "flavorRef": 1, "volume": {"size": 1}}}
    instance_guard().vet(*CREATE_INSTANCE, {"accountId": "1234"}, body)
    assert instance_guard().defuse(*CREATE_INSTANCE, {"accountId": "1234"}) is None
    with pytest.raises(Refused, match="--allow-restore"):
        instance_guard(restores=False).vet(*CREATE_INSTANCE, {"accountId": "1234"}, body)
    with pytest.raises(Refused, match="--allow-restore"):
        instance_guard(restores=False).defuse(*CREATE_INSTANCE, {"accountId": "1234"})
    read_only = Guard(Inventory(), True, (), True)  # read-only wins over restores
    with pytest.raises(Refused):
        read_only.vet(*CREATE_INSTANCE, {"accountId": "1234"}, body)


# -- schedules ---------------------------------------------------------------------------------

OURS = str(uuid.uuid4())  # the instance the run backs up
OUR_HA = str(uuid.uuid4())


def scheduling_guard(*owned_schedules: str, read_only: bool = False) -> Guard:
    inventory = Inventory()
    for schedule_id in owned_schedules:
        inventory.remember_schedule(schedule_id)
    return Guard(inventory, read_only, (OURS, OUR_HA))


def schedule_body(**members: object) -> dict[str, object]:
    return {"schedule": {"action": "backup", "day_of_week": 0, "hour": 1, "minute": 2, **members}}


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_generated_change_to_a_schedule_the_run_did_not_create_is_defused(method: str) -> None:
    foreign = str(uuid.uuid4())
    parameters = {"accountId": "1", "scheduleId": foreign}
    defused = scheduling_guard().defuse(method, SCHEDULE, parameters)
    assert defused is not None and defused["scheduleId"] != foreign
    with pytest.raises(Refused):
        scheduling_guard().vet(method, SCHEDULE, parameters)


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_the_run_may_change_the_schedules_it_created(method: str) -> None:
    ours = str(uuid.uuid4())
    parameters = {"accountId": "1", "scheduleId": ours}
    assert scheduling_guard(ours).defuse(method, SCHEDULE, parameters) is None
    scheduling_guard(ours).vet(method, SCHEDULE, parameters)
    # A backup id the run owns is no schedule of its own.
    backups = Inventory()
    backups.remember(ours)
    assert Guard(backups, False).defuse(method, SCHEDULE, parameters) is not None


def test_a_hand_written_schedule_may_only_be_of_a_source_the_run_backs_up() -> None:
    scheduling_guard().vet(*CREATE_SCHEDULE, {"accountId": "1"}, schedule_body(instance_id=OURS))
    ha = schedule_body(source_id=OUR_HA, source_type="ha")
    scheduling_guard().vet(*CREATE_SCHEDULE, {"accountId": "1"}, ha)
    for foreign in (
        schedule_body(instance_id=str(uuid.uuid4())),
        schedule_body(instance_id=OURS, source_id=str(uuid.uuid4())),
        schedule_body(instance=str(uuid.uuid4())),  # the WADL's name for the target
    ):
        with pytest.raises(Refused):
            scheduling_guard().vet(*CREATE_SCHEDULE, {"accountId": "1"}, foreign)


def test_a_generated_schedule_create_names_no_source_but_the_runs() -> None:
    foreign, elsewhere = str(uuid.uuid4()), str(uuid.uuid4())
    body = schedule_body(instance_id=OURS, source_id=foreign, extra={"deep": [elsewhere]})
    confined = scheduling_guard().confine(body)
    schedule = confined["schedule"]
    assert schedule["instance_id"] == OURS
    assert schedule["source_id"] not in (foreign, OURS, OUR_HA)
    assert schedule["extra"]["deep"][0] not in (elsewhere, OURS, OUR_HA)
    assert scheduling_guard().foreign_targets(confined) == sorted(
        [schedule["source_id"], schedule["extra"]["deep"][0]]
    )  # fresh ids: they name nothing on any target
    assert body["schedule"]["source_id"] == foreign  # the generated body itself is left as it was
    assert scheduling_guard().confine(schedule_body(instance_id=OURS)) == schedule_body(
        instance_id=OURS
    )


def test_a_read_only_run_sends_no_schedule_change() -> None:
    for method, template in (CREATE_SCHEDULE, ("PUT", SCHEDULE), ("DELETE", SCHEDULE)):
        with pytest.raises(Refused):
            scheduling_guard(read_only=True).vet(method, template, {"accountId": "1"})
        with pytest.raises(Refused):
            scheduling_guard(read_only=True).defuse(method, template, {"accountId": "1"})


@dataclass
class Phase:
    name: TestPhase


@dataclass
class Generation:
    mode: GenerationMode


@dataclass
class Meta:
    generation: Generation
    phase: Phase


@dataclass
class Case:
    """What `FuzzedSchedules` reads of a schemathesis case."""

    body: Any
    meta: Meta


def generated(body: Any, mode: GenerationMode = GenerationMode.POSITIVE) -> Case:
    return Case(body, Meta(Generation(mode), Phase(TestPhase.FUZZING)))


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:  # nothing is sent: aiming needs no answer
        yield client


def fuzzed_schedules(http: httpx.Client, control: Control | None) -> FuzzedSchedules:
    target = Target("http://127.0.0.1:1/v1.0/1234", "t", OURS, OUR_HA)
    api = Api(
        target,
        http,
        contract=Contract.load(),
        ledger=Ledger(),
        inventory=Inventory(),
        timeline=Timeline(control, timeout=1),
    )
    return FuzzedSchedules(api)


def test_valid_schedule_bodies_are_aimed_at_the_runs_sources_in_turn(http: httpx.Client) -> None:
    fuzzed = fuzzed_schedules(http, control=None)
    foreign = str(uuid.uuid4())
    cases = [
        generated(schedule_body(instance_id=foreign, copy_to=["IAD", "LON"], unknown=foreign)),
        generated(schedule_body(instance_id=foreign, source_type="instance")),
        generated(schedule_body(source_id=foreign, source_type="ha")),
    ]
    for case in cases:
        fuzzed.aim(case)
    first, second, third = (case.body["schedule"] for case in cases)
    assert first["instance_id"] == OURS and first["unknown"] not in (foreign, OURS, OUR_HA)
    assert first["copy_to"] == []  # a real service: no copies to regions cleanup never sees
    assert (second["instance_id"], second["source_id"], second["source_type"]) == (
        None,
        OUR_HA,
        "ha",
    )
    # A body that names its target by source_id keeps doing so.
    assert (third.get("instance_id"), third["source_id"], third["source_type"]) == (
        None,
        OURS,
        "instance",
    )
    assert [fuzzed.aimed_at(case) is not None for case in cases] == [True, True, True]


def test_a_mocks_valid_schedule_bodies_keep_their_copies_but_to_lon(http: httpx.Client) -> None:
    fuzzed = fuzzed_schedules(http, control=Control(http, "http://127.0.0.1:1"))
    case = generated(schedule_body(copy_to=["IAD", "LON", "ORD"]))
    fuzzed.aim(case)
    assert case.body["schedule"]["copy_to"] == ["IAD", "ORD"]


def test_invalid_schedule_bodies_are_confined_but_not_aimed(http: httpx.Client) -> None:
    fuzzed = fuzzed_schedules(http, control=None)
    foreign = str(uuid.uuid4())
    case = generated(schedule_body(instance_id=foreign, hour=99), GenerationMode.NEGATIVE)
    fuzzed.aim(case)
    assert case.body["schedule"]["instance_id"] not in (foreign, OURS, OUR_HA)
    assert case.body["schedule"]["hour"] == 99 and fuzzed.aimed_at(case) is None


# -- generated instance creates ------------------------------------------------------------------


def instance_body(**members: object) -> dict[str, object]:
    foreign = str(uuid.uuid4())
    instance = {"name": "x", "flavorRef": 99, "volume": {"size": 1}, **members}
    instance.setdefault("restorePoint", {"backupRef": foreign, "extra": 1})
    return {"instance": instance}


@pytest.fixture
def served_api(http: httpx.Client) -> Iterator[Callable[..., Api]]:
    """An Api on a true mock (it lists the backups and flavors aiming needs), with or without
    its control API in use, restores allowed or not."""
    with ThreadedServer(broken_mocks.true_mock()) as server:

        def make(control: bool, restores: bool = True) -> Api:
            target = Target(
                f"{server.url}/v1.0/1234", broken_mocks.TOKEN, OURS, None, restores=restores
            )
            found = Control(http, server.url) if control else None
            return Api(
                target,
                http,
                contract=Contract.load(),
                ledger=Ledger(),
                inventory=Inventory(),
                timeline=Timeline(found, timeout=1),
            )

        yield make


def test_a_mocks_valid_instance_bodies_restore_the_runs_backup_with_what_it_needs(
    served_api: Callable[..., Api],
) -> None:
    api = served_api(control=True)
    fuzzed = FuzzedInstances(api)
    assert fuzzed.backup is not None and fuzzed.backup["id"] == fixture_ids.PERCONA_BACKUP
    case = generated(instance_body(datastore={"type": "oracle", "version": "9"}, name="db"))
    plain = generated({"instance": {"name": "db", "flavorRef": "7000", "volume": {"size": 3}}})
    for one in (case, plain):
        fuzzed.aim(one)
    instance = case.body["instance"]
    assert instance["name"] == api.name_prefix + "db"
    assert instance["flavorRef"] == 1  # the smallest flavor listed, in the form generated
    assert instance["restorePoint"] == {"backupRef": fixture_ids.PERCONA_BACKUP, "extra": 1}
    assert instance["datastore"] == {"type": "percona", "version": "5.6"}
    assert instance["volume"] == {"size": 1}
    assert plain.body["instance"]["flavorRef"] == "1" and "restorePoint" not in plain.body
    assert fuzzed.problem(case, 200) is None and fuzzed.problem(plain, 422) is not None


def test_without_a_control_api_only_a_few_instance_bodies_may_build_the_rest_are_defused(
    served_api: Callable[..., Api],
) -> None:
    fuzzed = FuzzedInstances(served_api(control=False))
    cases = [generated(instance_body()) for _ in range(REAL_INSTANCES + 2)]
    negative = generated(instance_body(volume={"size": 999}), GenerationMode.NEGATIVE)
    for case in [*cases, negative]:
        fuzzed.aim(case)
    refs = [case.body["instance"]["restorePoint"]["backupRef"] for case in [*cases, negative]]
    assert refs[:REAL_INSTANCES] == [fixture_ids.PERCONA_BACKUP] * REAL_INSTANCES
    # A restore of a backup no one has: the target answers 404 and builds nothing.
    assert len(set(refs[REAL_INSTANCES:])) == 3 and fixture_ids.PERCONA_BACKUP not in refs[2:]
    assert negative.body["instance"]["volume"] == {"size": 999}
    assert fuzzed.counts == {"sent": REAL_INSTANCES, "defused": 3}


def test_instance_bodies_are_left_alone_where_restores_are_not_allowed(
    served_api: Callable[..., Api],
) -> None:
    fuzzed = FuzzedInstances(served_api(control=False, restores=False))
    body = instance_body()
    case = generated(body)
    fuzzed.aim(case)
    assert case.body == body and fuzzed.backup is None and "not allowed" in fuzzed.summary()


# -- copies ------------------------------------------------------------------------------------


def copy_body(region: object) -> dict[str, object]:
    return {"copy-backup": {"target_backup_region": region, "name": "x"}}


def test_a_copy_is_sent_only_where_copies_are_allowed_and_to_where_the_run_finds_it() -> None:
    parameters = {"accountId": "1234", "backupId": str(uuid.uuid4())}  # a copy only reads it
    allowed = Guard(Inventory(), False, copy_regions=("DFW", "IAD"))
    allowed.vet(*COPY, parameters, copy_body("IAD"))
    allowed.vet(*COPY, parameters, copy_body("DFW"))  # the target's own region: 400, if not...
    for elsewhere in ("SYD", None, "XYZ"):  # where the run could not find what it made
        with pytest.raises(Refused, match="could not find"):
            allowed.vet(*COPY, parameters, copy_body(elsewhere))
    with pytest.raises(Refused, match="could not find"):
        allowed.vet(*COPY, parameters, {"restore-backup": {}})  # not a copy: no region
    for refused in (Guard(Inventory(), False), Guard(Inventory(), True, copy_regions=("IAD",))):
        with pytest.raises(Refused):
            refused.vet(*COPY, parameters, copy_body("IAD"))
    with pytest.raises(Refused, match="--allow-copy"):
        Guard(Inventory(), False).defuse(*COPY, parameters)


def test_a_generated_copy_of_a_backup_the_run_did_not_make_names_one_that_does_not_exist() -> None:
    ours, foreign = str(uuid.uuid4()), str(uuid.uuid4())
    inventory = Inventory()
    inventory.remember(ours)
    copying = Guard(inventory, False, copy_regions=("IAD",))
    assert copying.defuse(*COPY, {"accountId": "1", "backupId": ours}) is None
    defused = copying.defuse(*COPY, {"accountId": "1", "backupId": foreign})
    assert defused is not None and defused["backupId"] not in (foreign, ours)


def copies_api(make: Callable[..., Api], control: bool, allowed: bool = True) -> Api:
    api = make(control)
    iad = Region("IAD", api.target.root + "/iad")
    return api.with_target(
        replace(api.target, region="DFW", copy_to=iad if allowed else None, elsewhere=(iad,))
    )


@dataclass
class CopyCase(Case):
    """What `FuzzedCopies` reads of a schemathesis case: its path parameters too."""

    path_parameters: dict[str, Any]


def generated_copy(backup_id: str, mode: GenerationMode = GenerationMode.POSITIVE) -> CopyCase:
    body = {"copy-backup": {"target_backup_region": "LON", "name": "dfw-to-iad", "extra": 1}}
    parameters = {"accountId": "1234", "backupId": backup_id}
    return CopyCase(body, Meta(Generation(mode), Phase(TestPhase.FUZZING)), parameters)


def test_a_mocks_valid_copies_copy_the_smallest_completed_backup_to_where_the_run_copies(
    served_api: Callable[..., Api],
) -> None:
    api = copies_api(served_api, control=True)
    fuzzed = FuzzedCopies(api)
    assert fuzzed.backup is not None and fuzzed.backup["parent_id"] is None
    ours = str(uuid.uuid4())
    api.inventory.remember(ours)  # a link's backup: the run's own, copied as it is
    foreign, linked = generated_copy(str(uuid.uuid4())), generated_copy(ours)
    negative = generated_copy(str(uuid.uuid4()), GenerationMode.NEGATIVE)
    for case in (foreign, linked, negative):
        fuzzed.aim(case)
    action = foreign.body["copy-backup"]
    assert foreign.path_parameters["backupId"] == fuzzed.backup["id"]
    assert action["target_backup_region"] == "IAD" and action["extra"] == 1
    assert action["name"].startswith(api.name_prefix) and action["name"].endswith("dfw-to-iad")
    assert linked.path_parameters["backupId"] == ours
    assert linked.body["copy-backup"]["name"] != action["name"]  # each is found by its name
    assert negative.body["copy-backup"]["target_backup_region"] == "LON"  # a mock: as it is
    assert fuzzed.problem(foreign, 202) is None and fuzzed.problem(linked, 400) is not None


def test_without_a_control_api_only_a_few_copies_may_be_made_the_rest_are_defused(
    served_api: Callable[..., Api],
) -> None:
    fuzzed = FuzzedCopies(copies_api(served_api, control=False))
    assert fuzzed.backup is not None
    cases = [generated_copy(str(uuid.uuid4())) for _ in range(REAL_COPIES + 2)]
    negative = generated_copy(fuzzed.backup["id"], GenerationMode.NEGATIVE)
    for case in [*cases, negative]:
        fuzzed.aim(case)
    ids = [case.path_parameters["backupId"] for case in [*cases, negative]]
    assert ids[:REAL_COPIES] == [fuzzed.backup["id"]] * REAL_COPIES
    # A copy of a backup no one has: the target answers 404 and copies nothing.
    assert len(set(ids[REAL_COPIES:])) == 3 and fuzzed.backup["id"] not in ids[REAL_COPIES:]
    assert fuzzed.counts == {"sent": REAL_COPIES, "defused": 3}


def test_copies_are_left_alone_where_they_are_not_allowed(served_api: Callable[..., Api]) -> None:
    fuzzed = FuzzedCopies(copies_api(served_api, control=False, allowed=False))
    case = generated_copy(str(uuid.uuid4()))
    body, parameters = case.body, dict(case.path_parameters)
    fuzzed.aim(case)
    assert (case.body, case.path_parameters) == (body, parameters)
    assert fuzzed.backup is None and "--allow-copy" in fuzzed.summary()
