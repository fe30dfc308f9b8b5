"""fixtures/ holds the documented examples, identical to the spec's, and a sound default state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import EXAMPLES, FIXTURES, load_spec, operations, read_json, resolve, schema_errors

SPEC = load_spec()
OPERATIONS = {operation["operationId"]: (m, p, operation) for m, p, operation in operations(SPEC)}
FILES = sorted(EXAMPLES.glob("*/*.json"))


def _operation(file: Path) -> tuple[str, str, dict[str, Any]]:
    return OPERATIONS[file.parent.name]


def test_there_is_an_example_file_for_every_documented_spec_example() -> None:
    expected = set()
    for operation_id, (_, _, operation) in OPERATIONS.items():
        content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
        expected |= {f"{operation_id}/{name}.request.json" for name in content.get("examples", {})}
        for response in operation["responses"].values():
            content = resolve(SPEC, response).get("content", {}).get("application/json", {})
            if response is not resolve(SPEC, response):
                continue  # shared fault responses are components, not operation examples
            names = content.get("examples", {})
            expected |= {f"{operation_id}/{name}.response.json" for name in names}
    present = {f"{file.parent.name}/{file.name}" for file in FILES}
    assert expected <= present, sorted(expected - present)


@pytest.mark.parametrize("file", FILES, ids=lambda file: f"{file.parent.name}/{file.name}")
def test_example_file_matches_its_operation_and_the_spec(file: Path) -> None:
    method, path, operation = _operation(file)
    example = read_json(file)
    name, kind, _ = file.name.split(".")
    if kind == "request":
        assert example["method"] == method.upper()
        template = path.split("/")
        actual = example["path"].split("?")[0].split("/")
        assert len(template) == len(actual)
        assert all(t.startswith("{") or t == a for t, a in zip(template, actual, strict=True))
        content = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if content is None:
            assert "body" not in example
        else:
            assert example["body"] == content["examples"][name]["value"]
            assert schema_errors(SPEC, content["schema"], example["body"]) == []
    else:
        response = resolve(SPEC, operation["responses"][str(example["status"])])
        content = response.get("content", {}).get("application/json")
        if content is None:
            assert "body" not in example
        else:
            assert example["body"] == content["examples"][name]["value"]
            assert schema_errors(SPEC, content["schema"], example["body"]) == []


def test_every_request_example_has_its_response() -> None:
    for file in FILES:
        if file.name.endswith(".request.json"):
            response = file.with_name(file.name.replace(".request.", ".response."))
            assert response.exists() or file.parent.name == "createBackup", file


def test_default_state_holds_what_the_contract_promises() -> None:
    state = read_json(FIXTURES / "state.json")
    account = state["accounts"]["1234"]
    instances = {instance["id"]: instance for instance in account["instances"]}
    (ha,) = account["ha_instances"]
    assert ha["id"] == "130922a2-b9ab-4e95-86be-9c5d79171b5e" and ha["state"] == "ACTIVE"
    assert ha["datastore"] == {
        "type": "mysql",
        "version": "5.6",
        "version_id": "1379cc8b-4bc5-4c4a-9e9d-7a9ad27c0866",
    }
    assert (ha["flavor"]["ram"], ha["volume"]["size"], len(ha["replica_ids"])) == (1024, 1, 2)
    for member in [ha["source_id"], *ha["replica_ids"]]:
        assert instances[member]["ha_id"] == ha["id"]
    singles = [i for i in instances.values() if "ha_id" not in i]
    active_types = {i["datastore"]["type"] for i in singles if i["status"] == "ACTIVE"}
    assert {"mysql", "percona"} <= active_types
    assert any(i["status"] != "ACTIVE" for i in singles)
    backups = {backup["id"]: backup for backup in account["backups"]}
    ha_backup = backups["0c1b5616-fdc5-45ae-b2dc-6f1440d55d0e"]
    assert ha_backup["status"] == "COMPLETED" and ha_backup["source"]["id"] == ha["id"]
    assert any(
        b["instance_id"] in instances and b["status"] == "COMPLETED" for b in backups.values()
    )
    backup_schema = SPEC["components"]["schemas"]["Backup"]
    for backup in backups.values():
        assert schema_errors(SPEC, backup_schema, backup) == [], backup["id"]
