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

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connexion.exceptions import ProblemException
from connexion.json_schema import resolve_refs
from connexion.lifecycle import ConnexionResponse
from connexion.utils import coerce_type, make_type

from mockserver.asgi import Scope
from mockserver.http.answer import Answer
from mockserver.http.encoder import encode
from mockserver.http.plans import JSON, MISSING, Handler, Plan, Unplannable, plan
from mockserver.http.problems import Problems
from mockserver.http.validation import (
    RequestInvalid,
    ResponseValidator,
    body_violations,
    parse_body,
    query_pairs,
    query_violations,
)
from mockserver.spec import HTTP_METHODS
from mockserver.state.errors import MockError

log = logging.getLogger("mockserver")


@dataclass(slots=True)  # not frozen: built for each request, and a frozen one costs 2x
class Call:
    """A request the fast path answers: its plan, the handler's arguments from the path and the
    query, and the body parsed (or why it is not JSON)."""

    plan: Plan
    arguments: Mapping[str, Any]
    document: Any


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
        self._plans: dict[str, Plan] = {}
        resolved = resolve_refs(document)  # connexion's own resolution: the schemas it validates
        for item in resolved.get("paths", {}).values():
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                raw = item.get(method)
                if raw is None:
                    continue
                operation_id = raw["operationId"]
                try:
                    planned = plan(raw, shared, resolve_handler(operation_id))
                except Unplannable as reason:
                    log.debug("fast path: %s is left to connexion: %s", operation_id, reason)
                    continue
                self._plans[operation_id] = planned

    @property
    def operations(self) -> frozenset[str]:
        """The operationIds the fast path has a plan for."""
        return frozenset(self._plans)

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

    def _answer(self, plan: Plan, scope: Scope, result: Any) -> Answer:
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
    plan: Plan, path_parameters: Mapping[str, str], query: bytes, strict_query: bool
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
        raw = given.get(name, MISSING)
        if raw is MISSING:
            if parameter.required:
                return None
            if parameter.default is not MISSING and parameter.argument is not None:
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
