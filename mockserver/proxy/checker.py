"""The exchange checker: one request and its answer, judged against openapi.yaml.

It judges with the mock's own parts (`http/validation.py`: the parameter checks, the body
parser and the wording of every violation; `http/compiled.py`: the compiled schemas), so the
proxy and the mock never disagree on what the contract allows. Unlike the mock, it refuses
nothing: it lists what it finds, and the proxy decides what to do with it.

What it judges, for a documented operation:
- the request: the token header is present, each path and query parameter passes its schema
  (a query parameter the operation does not define is only a violation under `--strict-query`,
  as in the mock: contract section 9), and a body the operation takes is JSON of the documented
  media type that passes its schema;
- the answer: its status is documented, a documented body has a documented media type and
  passes its schema (for a fault: the fault body of its status, contract section 6), each
  documented header passes its schema, and nothing is answered where nothing is documented.
A request to no documented operation is one violation, and its answer, when it is an error, must
still carry a fault body.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connexion.json_schema import resolve_refs
from connexion.utils import coerce_type, is_nullable
from jsonschema import Draft4Validator

from mockserver.http.compiled import (
    BODY_NULLABLE_SKIPS,
    RESPONSE_NULLABLE_SKIPS,
    Compiled,
    CompiledList,
    compile_response,
)
from mockserver.http.regional import RegionalPaths
from mockserver.http.validation import (
    FORMATS,
    ParameterCheck,
    RequestInvalid,
    answer_violations,
    body_validator,
    body_violations,
    parse_body,
    parse_json,
    query_pairs,
    query_violations,
    too_deep,
)
from mockserver.http.wording import Wording
from mockserver.spec import HTTP_METHODS, Operation, Spec

JSON = "application/json"


@dataclass(frozen=True)
class Violation:
    rule: str  # a short, stable name (the summary groups by it)
    message: str

    def document(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class _Answer:
    media_types: frozenset[str]  # empty: documented without a body
    schema: Mapping[str, Any] | None
    nullable: bool
    compiled: Compiled | CompiledList | None
    headers: Mapping[str, tuple[bool, Draft4Validator]]  # lower-case name: (required, schema)


@dataclass(frozen=True)
class _Plan:
    operation: Operation
    path: tuple[ParameterCheck, ...]
    query: Mapping[str, tuple[Mapping[str, Any], ParameterCheck]]
    body_media_types: frozenset[str]  # empty: the operation takes no body
    body_required: bool
    body_schema: Mapping[str, Any] | None
    body_compiled: Compiled | None
    body_wording: Wording | None  # body_validator(body_schema), kept: it keeps what it builds
    answers: Mapping[int, _Answer]


class ExchangeChecker:
    def __init__(self, spec: Spec, regional: RegionalPaths, *, strict_query: bool) -> None:
        self._spec = spec
        self._regional = regional
        self._strict_query = strict_query
        self._plans: dict[str, _Plan] = {}
        resolved = resolve_refs(spec.document)
        for item in resolved.get("paths", {}).values():
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                raw = item.get(method)
                if raw is not None:
                    operation = spec.operations[raw["operationId"]]
                    self._plans[operation.operation_id] = _plan(operation, raw, shared)

    def operation(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        """The documented operation a request goes to (a region's prefix taken off)."""
        routed = self._regional.route({"path": path, "method": method})
        found = self._spec.match(routed["path"])
        if found is None or method not in found[0].operations:
            return None, {}
        return found[0].operations[method], found[1]

    def request(
        self,
        method: str,
        path: str,
        query: bytes,
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> tuple[Operation | None, list[Violation]]:
        """The operation the request goes to, and every way the request breaks the contract
        (`body` None: a body too long to hold, not judged)."""
        operation, parameters = self.operation(method, path)
        if operation is None:
            routed = self._regional.route({"path": path, "method": method})
            route = self._spec.match(routed["path"])
            if route is None:
                return None, [Violation("request-unknown-path", f"no operation serves {path}")]
            allowed = route[0].allow
            message = f"{method} is not documented for {route[0].template} (only {allowed})"
            return None, [Violation("request-undocumented-method", message)]
        plan = self._plans[operation.operation_id]
        found: list[Violation] = []
        header = operation.auth_header
        if header is not None and not headers.get(header.lower(), "").strip():
            message = f"the {header} header is missing or empty"
            found.append(Violation("request-token-missing", message))
        found += _parameters(plan, parameters, query, self._strict_query)
        if body is not None:
            found += _request_body(plan, headers, body)
        return operation, found

    def answer(
        self,
        operation: Operation | None,
        status: int,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        token_sent: bool = True,
    ) -> list[Violation]:
        """Every way an answer breaks the contract (`body` decoded of any content coding; None:
        a body too long to hold, of which only the media type is judged)."""
        if operation is None:
            return self._fault_body(status, headers, body) if status >= 400 else []
        answer = self._plans[operation.operation_id].answers.get(status)
        if answer is None:
            documented = ", ".join(str(code) for code in sorted(operation.statuses))
            message = f"{status} is not a documented status of {operation.operation_id}"
            found = [Violation("answer-undocumented-status", f"{message} ({documented})")]
            if status >= 400:
                found += self._fault_body(status, headers, body)
            return found
        return [
            *_served(operation, status, token_sent),
            *_answer_headers(answer, headers),
            *_answer_body(answer, headers, body),
        ]

    def _fault_body(
        self, status: int, headers: Mapping[str, str], body: bytes | None
    ) -> list[Violation]:
        """An error answer outside the documented ones still carries a fault body (section 6)."""
        name = self._spec.fault_names.get(status)
        schema = {**_FAULT, "required": [name]} if name else _FAULT
        answer = _Answer(frozenset({JSON}), schema, False, None, {})
        return _answer_body(answer, headers, body)


def _plan(operation: Operation, raw: Mapping[str, Any], shared: Sequence[Any]) -> _Plan:
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for parameter in [*shared, *raw.get("parameters", [])]:  # the operation's own win
        merged[(parameter["in"], parameter["name"])] = parameter
    path = tuple(ParameterCheck(p) for (where, _), p in merged.items() if where == "path")
    query = {
        name: (p, ParameterCheck(p)) for (where, name), p in merged.items() if where == "query"
    }
    content = raw.get("requestBody", {}).get("content", {})
    body_schema = content.get(JSON, {}).get("schema")
    answers: dict[int, _Answer] = {}
    for code, response in raw.get("responses", {}).items():
        answer_content = response.get("content", {})
        schema = answer_content.get(JSON, {}).get("schema")
        answers[int(code)] = _Answer(
            media_types=frozenset(media.lower() for media in answer_content),
            schema=schema,
            nullable=is_nullable(response),
            compiled=compile_response(schema, RESPONSE_NULLABLE_SKIPS) if schema else None,
            headers={
                name.lower(): (
                    bool(header.get("required")),
                    Draft4Validator(header.get("schema", {}), format_checker=FORMATS),
                )
                for name, header in response.get("headers", {}).items()
            },
        )
    return _Plan(
        operation=operation,
        path=path,
        query=query,
        body_media_types=frozenset(media.lower() for media in content),
        body_required=bool(raw.get("requestBody", {}).get("required")),
        body_schema=body_schema,
        body_compiled=Compiled(body_schema, BODY_NULLABLE_SKIPS) if body_schema else None,
        body_wording=body_validator(body_schema) if body_schema else None,
        answers=answers,
    )


def _parameters(
    plan: _Plan, parameters: Mapping[str, str], query: bytes, strict: bool
) -> list[Violation]:
    messages: list[str] = []
    for check in plan.path:
        messages += check.violations(parameters.get(check.name, ""))
    pairs = query_pairs(query) if query else []
    declared = {name: definition for name, (definition, _) in plan.query.items()}
    messages += query_violations(declared, pairs, strict)
    given = dict(pairs)
    for name, (definition, check) in plan.query.items():
        raw = given.get(name)
        if raw is None:
            if definition.get("required"):
                messages.append(f"query/{name}: missing required parameter")
            continue
        try:  # as connexion's URI parser reads it before validating
            value = coerce_type(definition, raw, "query", name)
        except Exception as error:  # connexion's own words for a value it cannot read
            messages.append(f"query/{name}: {error}")
            continue
        messages += check.violations(value)
    return [Violation("request-parameter", message) for message in messages]


def _request_body(plan: _Plan, headers: Mapping[str, str], body: bytes) -> list[Violation]:
    if not plan.body_media_types:
        return []  # the service ignores a body an operation does not take; so does the contract
    if not body:
        if plan.body_required:
            return [Violation("request-body", "body: a JSON request body is required")]
        return []
    media, _, parameters = headers.get("content-type", "").partition(";")
    media = media.strip().lower()
    if media not in plan.body_media_types:
        expected = ", ".join(sorted(plan.body_media_types))
        shown = media or "none"
        return [Violation("request-media-type", f"Content-Type {shown}, expected {expected}")]
    try:
        document = parse_body(body, _charset(parameters))
    except RequestInvalid as invalid:
        return [Violation("request-body", message) for message in invalid.violations]
    if plan.body_schema is None:
        return []
    messages = body_violations(plan.body_schema, plan.body_compiled, document, plan.body_wording)
    return [Violation("request-body", message) for message in messages]


def _served(operation: Operation, status: int, token_sent: bool) -> list[Violation]:
    """What an answer's status alone says, with the request beside it."""
    if status < 400 and not token_sent and operation.auth_header is not None:
        message = f"served without the {operation.auth_header} header (contract section 6: 401)"
        return [Violation("answer-served-without-token", message)]
    if status == 500:  # documented as the catch-all: the service erred, whatever was sent
        return [Violation("answer-server-error", "500: the service erred on this request")]
    return []


def _answer_headers(answer: _Answer, headers: Mapping[str, str]) -> list[Violation]:
    found = []
    for name, (required, validator) in answer.headers.items():
        value = headers.get(name)
        if value is None:
            if required:
                found.append(Violation("answer-header", f"header/{name}: missing"))
            continue
        schema = validator.schema
        schema_type = schema.get("type") if isinstance(schema, Mapping) else None
        candidate: Any = value
        if schema_type in ("integer", "number"):
            try:
                candidate = int(value) if schema_type == "integer" else float(value)
            except ValueError:
                candidate = value
        for error in validator.iter_errors(candidate):
            found.append(Violation("answer-header", f"header/{name}: {error.message}"))
    return found


def _answer_body(
    answer: _Answer, headers: Mapping[str, str], body: bytes | None
) -> list[Violation]:
    if not answer.media_types:
        if body is None or body.strip():
            size = "an unheld" if body is None else f"a {len(body)}-byte"
            message = f"{size} body where the status documents none"
            return [Violation("answer-unexpected-body", message)]
        return []
    media, _, parameters = headers.get("content-type", "").partition(";")
    media = media.strip().lower()
    if media not in answer.media_types:
        expected = ", ".join(sorted(answer.media_types))
        return [
            Violation("answer-media-type", f"Content-Type {media or 'none'}, expected {expected}")
        ]
    if answer.schema is None or body is None:
        return []
    try:
        document = parse_json(body.decode(_charset(parameters))) if body else None
    except (ValueError, LookupError, RecursionError) as error:
        return [Violation("answer-not-json", f"body: not JSON: {error}")]
    if too_deep(document, text=body):
        return [Violation("answer-not-json", "body: JSON nested too deeply to check")]
    messages = answer_violations(answer.schema, answer.nullable, answer.compiled, document)
    return [Violation("answer-schema", message) for message in messages]


def _charset(parameters: str) -> str:
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


# Any fault body of section 6: one member, named for a fault, holding code and message.
_FAULT: dict[str, Any] = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    },
}
