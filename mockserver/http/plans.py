"""The fast path's plans: what it needs to know of each operation, read once from the spec.

An operation gets a plan only when the fast path can judge its requests completely (see
`fastpath.py`); `plan` raises Unplannable, saying why, for every other.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connexion.decorators.parameter import sanitized
from connexion.utils import is_nullable

from mockserver.http.compiled import (
    BODY_NULLABLE_SKIPS,
    RESPONSE_NULLABLE_SKIPS,
    Compiled,
    CompiledList,
    compile_response,
)
from mockserver.http.validation import ParameterCheck, body_validator
from mockserver.http.wording import Wording

Handler = Callable[..., Any]

JSON = "application/json"
_PRIMITIVES = frozenset({"string", "integer", "number", "boolean"})
MISSING = object()


@dataclass(frozen=True)
class Parameter:
    name: str
    argument: str | None  # the handler's argument, None when it takes none
    definition: Mapping[str, Any]
    type: str
    required: bool
    default: Any
    check: ParameterCheck


@dataclass(frozen=True)
class BodyPlan:
    schema: Mapping[str, Any]
    compiled: Compiled
    validator: Wording  # body_validator(schema): words the violations
    argument: str | None


@dataclass(frozen=True)
class ResponsePlan:
    schema: Mapping[str, Any]
    nullable: bool
    compiled: Compiled | CompiledList


@dataclass(frozen=True)
class Plan:
    operation_id: str
    handler: Handler
    path: tuple[Parameter, ...]
    query: Mapping[str, Parameter]
    declared_query: Mapping[str, Mapping[str, Any]]
    body: BodyPlan | None
    responses: Mapping[int, ResponsePlan]


class Unplannable(Exception):
    """An operation whose requests the fast path leaves to connexion; the message says why."""


def plan(raw: Mapping[str, Any], shared: list[Mapping[str, Any]], handler: Handler) -> Plan:
    accepted, takes_anything = _signature(handler)
    if takes_anything:
        raise Unplannable("its handler takes **kwargs")
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for parameter in [*shared, *raw.get("parameters", [])]:  # the operation's own win
        merged[(parameter["in"], parameter["name"])] = parameter
    path: list[Parameter] = []
    query: dict[str, Parameter] = {}
    for (where, name), definition in merged.items():
        schema = definition.get("schema", {})
        kind = schema.get("type")
        if where not in ("path", "query"):
            raise Unplannable(f"it has a {where} parameter ({name})")
        if kind not in _PRIMITIVES or is_nullable(schema) or "format" in schema:
            raise Unplannable(f"parameter {name} is not a plain string, number or boolean")
        if where == "path" and kind != "string":
            raise Unplannable(f"path parameter {name} is not a string")
        argument = sanitized(name)
        parameter = Parameter(
            name=name,
            argument=argument if argument in accepted or where == "path" else None,
            definition=definition,
            type=kind,
            required=bool(definition.get("required")),
            default=schema.get("default", MISSING),
            check=ParameterCheck(definition),
        )
        if where == "path":
            path.append(parameter)
        else:
            query[name] = parameter
    return Plan(
        operation_id=raw["operationId"],
        handler=handler,
        path=tuple(path),
        query=query,
        declared_query={name: p.definition for name, p in query.items()},
        body=_body(raw, accepted),
        responses=_responses(raw),
    )


def _body(raw: Mapping[str, Any], accepted: frozenset[str]) -> BodyPlan | None:
    request_body = raw.get("requestBody")
    if request_body is None:
        return None
    content = request_body.get("content", {})
    if set(content) != {JSON} or not request_body.get("required"):
        raise Unplannable("its request body is not a required JSON body alone")
    schema = content[JSON].get("schema", {})
    if is_nullable(schema) or "default" in schema:
        raise Unplannable("its request body may be null or has a default")
    argument = sanitized(request_body.get("x-body-name", "body"))
    return BodyPlan(
        schema=schema,
        compiled=Compiled(schema, BODY_NULLABLE_SKIPS),
        validator=body_validator(schema),
        argument=argument if argument in accepted else None,
    )


def _responses(raw: Mapping[str, Any]) -> dict[int, ResponsePlan]:
    found: dict[int, ResponsePlan] = {}
    for code, response in raw.get("responses", {}).items():
        content = response.get("content", {})
        if set(content) - {JSON}:
            raise Unplannable(f"its {code} response is not JSON alone")
        headers = response.get("headers", {}).values()
        if int(code) < 400 and any(header.get("required") for header in headers):
            raise Unplannable(f"its {code} response has required headers")
        schema = content.get(JSON, {}).get("schema")
        if schema:
            found[int(code)] = ResponsePlan(
                schema=schema,
                nullable=is_nullable(response),
                compiled=compile_response(schema, RESPONSE_NULLABLE_SKIPS),
            )
    return found


def _signature(handler: Handler) -> tuple[frozenset[str], bool]:
    parameters = inspect.signature(handler).parameters.values()
    names = frozenset(p.name for p in parameters if p.kind is not p.VAR_KEYWORD)
    return names, any(p.kind is p.VAR_KEYWORD for p in parameters)
