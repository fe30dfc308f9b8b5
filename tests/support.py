"""Helpers shared by the tests: the spec, the fixtures, and OpenAPI 3.0 schema validation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

ROOT = Path(__file__).resolve().parent.parent
SPEC_FILE = ROOT / "openapi.yaml"
FIXTURES = ROOT / "fixtures"
EXAMPLES = FIXTURES / "examples"
SHARED_REFERENCE = ROOT.parent / "shared" / "reference" / "rackspace-cdb"


def load_spec(path: Path = SPEC_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.safe_load(stream)
    return document


def schema_errors(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> list[str]:
    """Every violation of `schema` (which may hold local $refs into `document`) by `instance`."""
    rooted = {"allOf": [schema], "components": document.get("components", {})}
    validator = OAS30Validator(rooted, format_checker=oas30_format_checker)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for every operation of the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method, path, operation


def resolve(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
