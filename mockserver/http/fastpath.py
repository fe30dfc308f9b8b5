"""The fast path: a plainly valid request to a documented operation, answered without connexion.

Profiled under load (`make bench`), connexion's own handling of a request (starlette's routing,
five middlewares, building a request object and the arguments twice, serializing the answer and
parsing it again to validate it) was three quarters of each request's time. The fast path does
the same work once, from parts that both pipelines share: the spec's parameter and body schemas
and the functions that word their violations (`validation.py`), the handlers, the fault table
(`problems.py`), the response schemas and the encoder. connexion stays the judge of every
request the fast path cannot judge completely; those go on to it untouched:
- every request to an operation the fast path has no plan for: a header or cookie parameter, a
  parameter that is not a string, integer, number or boolean, or is nullable, a request body that
  is not JSON, a handler that takes arguments connexion would fill from elsewhere;
- a repeated query parameter, an unknown one under `--strict-query`, or a parameter its schema
  refuses (connexion words it);
- a body sent as anything but exactly `Content-Type: application/json`, or an empty body.
What the fast path answers: the handler's answer, validated against the response schema as
connexion validates it (500 where it breaks it); a JSON body that breaks its schema, or is not
JSON (400, every violation, worded by the same functions); the domain faults of the handlers.
`tests/test_fastpath.py` sends the same requests through both pipelines and compares answers;
`--no-fast-path` turns it off.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connexion.decorators.parameter import sanitized
from connexion.exceptions import ProblemException
from connexion.json_schema import resolve_refs
from connexion.lifecycle import ConnexionResponse
from connexion.utils import coerce_type, is_nullable, make_type

from mockserver.asgi import Scope
from mockserver.http.answer import Answer
from mockserver.http.compiled import (
    BODY_NULLABLE_SKIPS,
    RESPONSE_NULLABLE_SKIPS,
    Compiled,
    CompiledList,
    compile_response,
)
from mockserver.http.encoder import encode
from mockserver.http.problems import Problems
from mockserver.http.validation import (
    ParameterCheck,
    RequestInvalid,
    ResponseValidator,
    body_validator,
    body_violations,
    parse_body,
    query_pairs,
    query_violations,
)
from mockserver.http.wording import Wording
from mockserver.spec import HTTP_METHODS
from mockserver.state.errors import MockError

Handler = Callable[..., Any]
log = logging.getLogger("mockserver")

JSON = "application/json"
_PRIMITIVES = frozenset({"string", "integer", "number", "boolean"})
_MISSING = object()


@dataclass(frozen=True)
class _Parameter:
    name: str
    argument: str | None  # the handler's argument, None when it takes none
    definition: Mapping[str, Any]
    type: str
    required: bool
    default: Any
    check: ParameterCheck


@dataclass(frozen=True)
class _Body:
    schema: Mapping[str, Any]
    compiled: Compiled
    validator: Wording  # body_validator(schema): words the violations
    argument: str | None


@dataclass(frozen=True)
class _Response:
    schema: Mapping[str, Any]
    nullable: bool
    compiled: Compiled | CompiledList


@dataclass(frozen=True)
class _Plan:
    operation_id: str
    handler: Handler
    path: tuple[_Parameter, ...]
    query: Mapping[str, _Parameter]
    declared_query: Mapping[str, Mapping[str, Any]]
    body: _Body | None
    responses: Mapping[int, _Response]


@dataclass(frozen=True)
class Call:
    """A request the fast path answers: its plan, the handler's arguments from the path and the
    query, and the body parsed (or why it is not JSON)."""

    plan: _Plan
    arguments: Mapping[str, Any]
    document: Any


class Unplannable(Exception):
    """An operation whose requests the fast path leaves to connexion; the message says why."""


class FastPath:
    def __init__(
        self,
        document: Mapping[str, Any],
        resolve_handler: Callable[[str], Handler],
        problems: Problems,
        *,
        strict_query: bool,
    ) -> None:
        self._problems = problems
        self._strict_query = strict_query
        self._plans: dict[str, _Plan] = {}
        resolved = resolve_refs(document)  # connexion's own resolution: the schemas it validates
        for item in resolved.get("paths", {}).values():
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                raw = item.get(method)
                if raw is None:
                    continue
                operation_id = raw["operationId"]
                try:
                    plan = _plan(raw, shared, resolve_handler(operation_id))
                except Unplannable as reason:
                    log.debug("fast path: %s is left to connexion: %s", operation_id, reason)
                    continue
                self._plans[operation_id] = plan

    @property
    def operations(self) -> frozenset[str]:
        """The operationIds the fast path has a plan for."""
        return frozenset(self._plans)

    def answer(
        self,
        operation_id: str,
        path_parameters: Mapping[str, str],
        scope: Scope,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Answer | None:
        """The answer to a request, or None to leave it to connexion."""
        call = self.prepare(operation_id, path_parameters, scope, headers, body)
        return None if call is None else self.run(call, scope)

    def prepare(
        self,
        operation_id: str,
        path_parameters: Mapping[str, str],
        scope: Scope,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Call | None:
        """The call that answers a request, or None to leave it to connexion. Nothing is done
        yet: a caller can still choose the other pipeline (see `Gateway.answer_now`)."""
        plan = self._plans.get(operation_id)
        if plan is None:
            return None
        arguments = _arguments(
            plan, path_parameters, scope.get("query_string", b""), self._strict_query
        )
        if arguments is None:
            return None
        document: Any = None
        if plan.body is not None:
            if not body or headers.get("content-type") != JSON:
                return None
            try:
                document = parse_body(body, "utf-8")
            except RequestInvalid as invalid:  # answered by `run`, as a 400
                document = invalid
            if document is None:  # a JSON null: connexion judges it
                return None
        return Call(plan, arguments, document)

    def run(self, call: Call, scope: Scope) -> Answer:
        """The answer of a prepared call: the body judged, then the handler's answer."""
        plan, arguments, document = call.plan, dict(call.arguments), call.document
        try:
            if plan.body is not None:
                if isinstance(document, RequestInvalid):
                    raise document
                violations = body_violations(
                    plan.body.schema, plan.body.compiled, document, plan.body.validator
                )
                if violations:
                    raise RequestInvalid(violations)
                if plan.body.argument is not None:
                    arguments[plan.body.argument] = document
            result = plan.handler(**arguments)
            return self._answer(plan, scope, result)
        except MockError as error:
            return _converted(self._problems.mock_error(error))
        except ProblemException as problem:
            return _converted(self._problems.problem(problem))
        except Exception as error:  # as connexion's last handler: a 500 fault, and serving on
            return _converted(self._problems.unexpected(error))

    def _answer(self, plan: _Plan, scope: Scope, result: Any) -> Answer:
        if isinstance(result, ConnexionResponse):
            return _converted(result)
        document, status = (result[0], result[1]) if isinstance(result, tuple) else (result, 200)
        response = plan.responses.get(status)
        if response is not None and not response.compiled.accepts(document):
            # As connexion's response validation: the Python validator words what is wrong.
            ResponseValidator(
                scope,
                schema=response.schema,
                nullable=response.nullable,
                encoding="utf-8",
            ).check(document)
        return Answer(status, encode(document), {"content-type": JSON})


def _arguments(
    plan: _Plan, path_parameters: Mapping[str, str], query: bytes, strict_query: bool
) -> dict[str, Any] | None:
    """The handler's arguments, or None when a parameter is not plainly valid."""
    arguments: dict[str, Any] = {}
    for parameter in plan.path:
        value = path_parameters.get(parameter.name)
        if value is None or parameter.check.violations(value):
            return None
        if parameter.argument is not None:
            arguments[parameter.argument] = value
    pairs = query_pairs(query) if query else []
    if pairs and query_violations(plan.declared_query, pairs, strict_query):
        return None
    given = dict(pairs)  # query_violations has refused a defined name given twice
    for name, parameter in plan.query.items():
        raw = given.get(name, _MISSING)
        if raw is _MISSING:
            if parameter.required:
                return None
            if parameter.default is not _MISSING and parameter.argument is not None:
                arguments[parameter.argument] = parameter.default
            continue
        try:  # as connexion's URI parser, then its argument builder
            value = coerce_type(parameter.definition, raw, "query", name)
            if parameter.check.violations(value):
                return None
            if parameter.argument is not None:
                arguments[parameter.argument] = make_type(value, parameter.type, None)
        except Exception:  # any doubt is connexion's to judge
            return None
    return arguments


def _converted(response: ConnexionResponse) -> Answer:
    headers = {name.lower(): value for name, value in response.headers.items()}
    return Answer(response.status_code, _bytes(response.body), headers)


def _bytes(body: Any) -> bytes:
    if body is None:
        return b""
    return body if isinstance(body, bytes) else str(body).encode()


def _plan(raw: Mapping[str, Any], shared: list[Mapping[str, Any]], handler: Handler) -> _Plan:
    accepted, takes_anything = _signature(handler)
    if takes_anything:
        raise Unplannable("its handler takes **kwargs")
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for parameter in [*shared, *raw.get("parameters", [])]:  # the operation's own win
        merged[(parameter["in"], parameter["name"])] = parameter
    path: list[_Parameter] = []
    query: dict[str, _Parameter] = {}
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
        parameter = _Parameter(
            name=name,
            argument=argument if argument in accepted or where == "path" else None,
            definition=definition,
            type=kind,
            required=bool(definition.get("required")),
            default=schema.get("default", _MISSING),
            check=ParameterCheck(definition),
        )
        if where == "path":
            path.append(parameter)
        else:
            query[name] = parameter
    return _Plan(
        operation_id=raw["operationId"],
        handler=handler,
        path=tuple(path),
        query=query,
        declared_query={name: p.definition for name, p in query.items()},
        body=_body(raw, accepted),
        responses=_responses(raw),
    )


def _body(raw: Mapping[str, Any], accepted: frozenset[str]) -> _Body | None:
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
    return _Body(
        schema=schema,
        compiled=Compiled(schema, BODY_NULLABLE_SKIPS),
        validator=body_validator(schema),
        argument=argument if argument in accepted else None,
    )


def _responses(raw: Mapping[str, Any]) -> dict[int, _Response]:
    found: dict[int, _Response] = {}
    for code, response in raw.get("responses", {}).items():
        content = response.get("content", {})
        if set(content) - {JSON}:
            raise Unplannable(f"its {code} response is not JSON alone")
        headers = response.get("headers", {}).values()
        if int(code) < 400 and any(header.get("required") for header in headers):
            raise Unplannable(f"its {code} response has required headers")
        schema = content.get(JSON, {}).get("schema")
        if schema:
            found[int(code)] = _Response(
                schema=schema,
                nullable=is_nullable(response),
                compiled=compile_response(schema, RESPONSE_NULLABLE_SKIPS),
            )
    return found


def _signature(handler: Handler) -> tuple[frozenset[str], bool]:
    parameters = inspect.signature(handler).parameters.values()
    names = frozenset(p.name for p in parameters if p.kind is not p.VAR_KEYWORD)
    return names, any(p.kind is p.VAR_KEYWORD for p in parameters)
