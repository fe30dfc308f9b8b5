"""openapi.yaml is a sound OpenAPI 3.0 document, and every example in it obeys its schema."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from support import load_spec, operations, resolve, schema_errors

SPEC = load_spec()
HA = "130922a2-b9ab-4e95-86be-9c5d79171b5e"
INSTANCE = "d4603f69-ec7e-4e9b-803f-600b9205576f"


def _examples() -> list[Any]:
    """(id, schema, value) for every example in the spec: request bodies, responses, components."""
    found = []
    for method, path, operation in operations(SPEC):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        for name, example in body.get("examples", {}).items():
            found.append(
                pytest.param(body["schema"], example["value"], id=f"{method} {path} request {name}")
            )
        for status, response in operation["responses"].items():
            content = resolve(SPEC, response).get("content", {}).get("application/json", {})
            for name, example in content.get("examples", {}).items():
                label = f"{method} {path} {status} {name}"
                found.append(pytest.param(content["schema"], example["value"], id=label))
    for name, response in SPEC["components"]["responses"].items():
        content = response.get("content", {}).get("application/json", {})
        for example_name, example in content.get("examples", {}).items():
            label = f"components {name} {example_name}"
            found.append(pytest.param(content["schema"], example["value"], id=label))
    return found


def test_spec_passes_openapi_spec_validator() -> None:
    validate(SPEC)


def test_spec_is_openapi_3_0_because_connexion_3_rejects_3_1() -> None:
    assert SPEC["openapi"].startswith("3.0.")


@pytest.mark.parametrize(("schema", "value"), _examples())
def test_every_spec_example_validates_against_its_schema(schema: Any, value: Any) -> None:
    assert schema_errors(SPEC, schema, value) == []


def test_every_operation_has_a_unique_operation_id() -> None:
    ids = [operation["operationId"] for _, _, operation in operations(SPEC)]
    assert len(ids) == len(set(ids))


def test_every_error_status_has_a_fault_body_named_for_it() -> None:
    names = {
        400: "badRequest",
        401: "unauthorized",
        403: "forbidden",
        404: "itemNotFound",
        405: "badMethod",
        413: "overLimit",
        415: "badMediaType",
        422: "unprocessableEntity",
        500: "instanceFault",
        501: "notImplemented",
        503: "serviceUnavailable",
    }
    for method, path, operation in operations(SPEC):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = resolve(SPEC, resolve(SPEC, response)["content"]["application/json"]["schema"])
            assert schema["required"] == [names[int(status)]], (method, path, status)
            body = {names[int(status)]: {"code": int(status), "message": "m"}}
            assert schema_errors(SPEC, schema, body) == []
            wrong_code = {names[int(status)]: {"code": 599, "message": "m"}}
            assert schema_errors(SPEC, schema, wrong_code) != []


def test_every_backup_operation_documents_the_contract_statuses() -> None:
    common = {"400", "401", "403", "404", "405", "413", "422", "500", "501", "503"}
    for _, path, operation in operations(SPEC):
        assert common <= set(operation["responses"]), (path, operation["operationId"])
    create = SPEC["paths"]["/v1.0/{accountId}/backups"]["post"]["responses"]
    assert {"202", "415"} <= set(create)
    assert "Retry-After" in resolve(SPEC, create["413"])["headers"]


def test_every_v1_operation_needs_the_auth_token_and_versions_do_not() -> None:
    scheme = SPEC["components"]["securitySchemes"]["authToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-Auth-Token")
    for _, path, operation in operations(SPEC):
        security = operation.get("security", SPEC["security"])
        assert (security == [{"authToken": []}]) == path.startswith("/v1.0/"), path


def test_create_links_lead_to_show_delete_and_the_lists() -> None:
    links = SPEC["paths"]["/v1.0/{accountId}/backups"]["post"]["responses"]["202"]["links"]
    targets = {link["operationId"] for link in links.values()}
    assert {
        "getBackupById",
        "deleteBackup",
        "getBackups",
        "getBackupsByInstance",
        "getBackupsForHaInstance",
    } <= targets
    ids = {operation["operationId"] for _, _, operation in operations(SPEC)}
    assert targets <= ids


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"backup": {"name": "snapshot", "instance": INSTANCE}}, True),
        ({"backup": {"name": "x", "instance": None, "source": {"type": "ha", "id": HA}}}, True),
        ({"backup": {"name": "x", "instance": "", "unknown": [1]}, "other": 1}, True),
        ({"backup": {"name": "x", "incremental": 1}}, True),
        ({"backup": {"name": "x", "incremental": True, "is_automated": "yes"}}, True),
        ({"backup": {"name": "x", "description": None, "parent_id": None}}, True),
        ({"backup": {"name": ""}}, False),
        ({"backup": {"name": "-_-"}}, False),
        ({"backup": {"name": "x" * 65}}, False),
        ({"backup": {"name": "x", "description": "d" * 256}}, False),
        ({"backup": {"name": "x", "instance": "not-a-uuid"}}, False),
        ({"backup": {"name": "x", "source": {"type": "cluster", "id": HA}}}, False),
        ({"backup": {"name": "x", "parent_id": "nope"}}, False),
        ({"backup": {"name": "x", "incremental": 2}}, False),
        ({"backup": {}}, False),
        ({}, False),
    ],
)
def test_create_request_schema_expresses_the_contract_rules(body: Any, valid: bool) -> None:
    schema = SPEC["paths"]["/v1.0/{accountId}/backups"]["post"]["requestBody"]["content"]
    errors = schema_errors(SPEC, schema["application/json"]["schema"], body)
    assert (errors == []) is valid, errors


SCHEDULES = "/v1.0/{accountId}/schedules"
SCHEDULE = "/v1.0/{accountId}/schedules/{scheduleId}"


def test_schedule_operations_document_their_success_statuses_and_415() -> None:
    successes = {
        (SCHEDULES, "post"): "202",
        (SCHEDULES, "get"): "200",
        (SCHEDULE, "get"): "200",
        (SCHEDULE, "put"): "200",
        (SCHEDULE, "delete"): "202",
    }
    for (path, method), success in successes.items():
        responses = SPEC["paths"][path][method]["responses"]
        assert {status for status in responses if int(status) < 400} == {success}
        assert ("415" in responses) == (method in ("post", "put")), (method, path)
    assert "content" not in SPEC["paths"][SCHEDULE]["delete"]["responses"]["202"]


def test_a_schedule_id_that_is_not_a_uuid_reaches_the_service() -> None:
    # A malformed id is 404 itemNotFound from the service, never a 400 from validation.
    schema = SPEC["components"]["parameters"]["scheduleId"]["schema"]
    assert "pattern" not in schema and "format" not in schema


def test_schedule_links_lead_to_show_update_delete_and_the_list() -> None:
    paths = SPEC["paths"]
    create = paths[SCHEDULES]["post"]["responses"]["202"]["links"]
    show = paths[SCHEDULE]["get"]["responses"]["200"]["links"]
    delete = paths[SCHEDULE]["delete"]["responses"]["202"]["links"]
    assert {link["operationId"] for link in create.values()} == {
        "getAutomatedBackupById",
        "updateAutomatedBackupById",
        "deleteAutomatedBackupById",
        "getAutomatedBackups",
    }
    assert {link["operationId"] for link in show.values()} == {
        "updateAutomatedBackupById",
        "deleteAutomatedBackupById",
    }
    assert [link["operationId"] for link in delete.values()] == ["getAutomatedBackupById"]
    for link in [*create.values(), *show.values(), *delete.values()]:
        assert link["parameters"]["accountId"] == "$request.path.accountId"


SCHEDULED = {"action": "backup", "day_of_week": 0, "hour": 14, "minute": 30}


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"schedule": {**SCHEDULED, "instance_id": INSTANCE}}, True),
        ({"schedule": {**SCHEDULED, "source_id": HA, "source_type": "ha"}}, True),
        ({"schedule": {**SCHEDULED, "instance_id": None, "source_id": INSTANCE}}, True),
        ({"schedule": {**SCHEDULED, "day_of_week": 7, "hour": 23, "minute": 59}}, True),
        ({"schedule": {**SCHEDULED, "full_backup_retention": 1, "copy_to": ["IAD", "ORD"]}}, True),
        ({"schedule": {**SCHEDULED, "copy_to": [], "unknown": [1]}, "other": 1}, True),
        # The target rules (neither target, or two different ones) are the service's: 400 there.
        ({"schedule": SCHEDULED}, True),
        ({"schedule": {**SCHEDULED, "action": "restore"}}, False),
        ({"schedule": {**SCHEDULED, "day_of_week": 8}}, False),
        ({"schedule": {**SCHEDULED, "day_of_week": -1}}, False),
        ({"schedule": {**SCHEDULED, "hour": 24}}, False),
        ({"schedule": {**SCHEDULED, "minute": 60}}, False),
        ({"schedule": {**SCHEDULED, "hour": "14"}}, False),
        ({"schedule": {**SCHEDULED, "instance_id": "not-a-uuid"}}, False),
        ({"schedule": {**SCHEDULED, "source_id": HA, "source_type": "cluster"}}, False),
        ({"schedule": {**SCHEDULED, "full_backup_retention": 0}}, False),
        ({"schedule": {**SCHEDULED, "copy_to": ["IAD", "IAD"]}}, False),
        ({"schedule": {**SCHEDULED, "copy_to": ["MARS"]}}, False),
        ({"schedule": {"day_of_week": 0, "hour": 14, "minute": 30}}, False),
        ({"schedule": {}}, False),
        ({}, False),
    ],
)
def test_schedule_create_request_schema_expresses_the_contract_rules(
    body: Any, valid: bool
) -> None:
    schema = SPEC["paths"][SCHEDULES]["post"]["requestBody"]["content"]
    errors = schema_errors(SPEC, schema["application/json"]["schema"], body)
    assert (errors == []) is valid, errors


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"schedule": {"day_of_week": 2, "hour": 6, "minute": 19, "run_now": "true"}}, True),
        ({"schedule": {"hour": 0}}, True),
        ({"schedule": {"full_backup_retention": 3}}, True),
        ({"schedule": {"copy_to": []}}, True),
        ({"schedule": {"run_now": True}}, True),
        ({"schedule": {"run_now": 0}}, True),
        ({"schedule": {"run_now": "false", "unknown": 1}}, True),
        ({"schedule": {}}, False),
        ({"schedule": {"unknown": 1}}, False),
        ({"schedule": {"run_now": "yes"}}, False),
        ({"schedule": {"run_now": 2}}, False),
        ({"schedule": {"day_of_week": 8}}, False),
        ({"schedule": {"minute": -1}}, False),
        ({"schedule": {"full_backup_retention": 0}}, False),
        ({"schedule": {"copy_to": ["ORD", "ORD"]}}, False),
        ({}, False),
    ],
)
def test_schedule_update_request_schema_needs_one_member_within_bounds(
    body: Any, valid: bool
) -> None:
    schema = SPEC["paths"][SCHEDULE]["put"]["requestBody"]["content"]
    errors = schema_errors(SPEC, schema["application/json"]["schema"], body)
    assert (errors == []) is valid, errors
