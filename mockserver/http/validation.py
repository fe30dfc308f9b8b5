"""Request validators for connexion that report every violation, not only the first.

connexion 3.3's own validators stop at the first error, let invalid UTF-8 escape as a 500, do
not check `format: uuid`, and ignore `nullable` beside `anyOf`/`allOf`. These subclasses keep
connexion's parsing and coercion and change only how a body or a parameter set is judged.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import AsyncIterator, Collection, Mapping
from typing import Any
from urllib.parse import parse_qsl

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import (
    Draft4RequestValidator,
    Draft4ResponseValidator,
    allow_nullable,
)
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
    TextResponseBodyValidator,
)
from jsonschema import Draft4Validator, FormatChecker, ValidationError
from jsonschema.validators import extend

from mockserver.http.compiled import (
    BODY_NULLABLE_SKIPS,
    RESPONSE_NULLABLE_SKIPS,
    Compiled,
    CompiledList,
)
from mockserver.http.wording import Wording
from mockserver.resources import CONTROL_SPEC_PATH
from mockserver.spec import read_yaml, with_components_of

FORMATS = FormatChecker()  # every known format, uuid and date included
# Far deeper than any document of either API. Deeper bodies are refused (400) rather than left to
# reach Python's recursion limit later, where connexion parses the body again, and where the
# journal copies and serializes it.
MAX_JSON_DEPTH = 100

# `nullable: true` beside allOf/anyOf/oneOf accepts null (connexion patches only type and enum).
BodySchemaValidator = extend(  # type: ignore[no-untyped-call]
    Draft4RequestValidator,
    {key: allow_nullable(Draft4Validator.VALIDATORS[key]) for key in ("allOf", "anyOf", "oneOf")},
)


class RequestInvalid(BadRequestProblem):  # type: ignore[misc]
    """A 400 that carries every violation found."""

    def __init__(self, violations: list[str]) -> None:
        super().__init__(detail="; ".join(violations))
        self.violations = violations


def _where(prefix: str, error: ValidationError) -> str:
    # A member named "" is still a step of the path ("body/accounts/"), as is any other name.
    if not error.absolute_path:
        return prefix
    return f"{prefix}/" + "/".join(str(part) for part in error.absolute_path)


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:32]} is out of range")
    return value


_DECODER = json.JSONDecoder(parse_constant=_no_constants, parse_float=_finite)


def parse_json(text: str | bytes) -> Any:
    """Strict JSON: no NaN or Infinity, no number that overflows to one (ValueError otherwise)."""
    if isinstance(text, str) and not text.startswith("\ufeff"):
        # What json.loads does with these hooks, less building a decoder on every call.
        return _DECODER.decode(text)
    return json.loads(text, parse_constant=_no_constants, parse_float=_finite)


def too_deep(document: Any, limit: int = MAX_JSON_DEPTH, text: str | bytes | None = None) -> bool:
    """Whether arrays and objects nest more than `limit` levels (found without recursion).
    `text`: the JSON text it was parsed from, when known; each level opens with a bracket of
    it, so a text with no more brackets than `limit` needs no walk (counted in C: a walk of a
    whole answer cost the proxy 4% of its CPU)."""
    if isinstance(text, bytes):
        brackets = text.count(b"[") + text.count(b"{")
    elif text is not None:
        brackets = text.count("[") + text.count("{")
    if text is not None and brackets <= limit:
        return False
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            if depth > limit:
                return True
            pending.extend((child, depth + 1) for child in node)
    return False


def parse_body(raw: bytes, encoding: str) -> Any:
    """A request body as JSON (None when empty), or RequestInvalid saying what is wrong."""
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise RequestInvalid([f"body: not valid {encoding}: {error}"]) from error
    if not text:
        return None
    try:
        document = parse_json(text)
    except RecursionError as error:
        raise RequestInvalid(["body: JSON nested too deeply"]) from error
    except ValueError as error:
        raise RequestInvalid([f"body: malformed JSON: {error}"]) from error
    if too_deep(document, text=text):
        raise RequestInvalid([f"body: JSON nested more than {MAX_JSON_DEPTH} levels deep"])
    return document


def body_validator(schema: Mapping[str, Any]) -> Wording:
    """What words a request body's violations, for `body_violations`. Building one took about a
    tenth of a 400's time, and it keeps what it builds: callers that judge many bodies keep it."""
    validator = BodySchemaValidator(schema, format_checker=FORMATS)
    return Wording(schema, validator, BODY_NULLABLE_SKIPS)


def body_violations(
    schema: Mapping[str, Any],
    compiled: Compiled | None,
    body: Any,
    validator: Wording | None = None,
) -> list[str]:
    """Every way `body` breaks `schema`, sorted; the compiled schema answers a valid body.
    `validator`: `body_validator(schema)`, when the caller keeps one."""
    if compiled is not None and compiled.accepts(body):
        return []  # only a body it finds invalid needs the (slow) Python validator's word
    try:
        errors = list((validator or body_validator(schema)).errors(body))
    except RecursionError:
        return ["body: JSON nested too deeply"]
    return sorted(f"{_where('/'.join(('body', *path)), e)}: {e.message}" for path, e in errors)


def answer_violations(
    schema: Mapping[str, Any], nullable: bool, compiled: Compiled | CompiledList | None, body: Any
) -> list[str]:
    """Every way an answer's `body` breaks `schema`, judged as connexion's response validation
    judges it (its validator class and format checker), but listing every error, not the first."""
    if compiled is not None and compiled.accepts(body):
        return []
    if body is None and nullable:
        return []
    validator = Draft4ResponseValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    try:
        errors = list(validator.iter_errors(body))
    except RecursionError:
        return ["body: JSON nested too deeply"]
    return sorted(f"{_where('body', e)}: {e.message}" for e in errors)


class ParameterCheck:
    """One parameter's schema, compiled once; the Python validator words what it refuses."""

    def __init__(self, parameter: Mapping[str, Any]) -> None:
        self.where: str = parameter["in"]
        self.name: str = parameter["name"]
        schema = parameter.get("schema", parameter)
        self._compiled = Compiled(schema, None)
        self._validator = Draft4Validator(schema, format_checker=FORMATS)

    def violations(self, value: Any) -> list[str]:
        if self._compiled.accepts(value):
            return []
        prefix = f"{self.where}/{self.name}"
        return [f"{_where(prefix, e)}: {e.message}" for e in self._validator.iter_errors(value)]


def query_pairs(query: bytes) -> list[tuple[str, str]]:
    """The query's name and value pairs, as starlette's QueryParams reads them."""
    return parse_qsl(query.decode("latin-1"), keep_blank_values=True)


def undeclared_query(declared: Collection[str], pairs: list[tuple[str, str]]) -> list[str]:
    """The names of the query parameters an operation does not define, each once, in order."""
    return list(dict.fromkeys(name for name, _ in pairs if name not in declared))


def query_violations(
    declared: Mapping[str, Mapping[str, Any]], pairs: list[tuple[str, str]], strict: bool
) -> list[str]:
    """A parameter the operation defines, given twice, is refused rather than guessed at; so is
    one it does not define when `strict` (`--strict-query`). Otherwise that one is ignored, as
    the real service ignores it (contract section 9: the gateway says so in a Warning)."""
    violations = []
    for name, count in Counter(name for name, _ in pairs).items():
        parameter = declared.get(name)
        if parameter is None:
            if strict:
                violations.append(f"query/{name}: unknown parameter")
        elif count > 1 and parameter.get("schema", {}).get("type") != "array":
            violations.append(f"query/{name}: given {count} times, expected once")
    return violations


def state_violations(document: Any, api_document: Mapping[str, Any]) -> list[str]:
    """Every way `document` breaks the control API's State schema: what PUT /__mock/state takes."""
    control = with_components_of(read_yaml(CONTROL_SPEC_PATH), api_document)
    schema = {"$ref": "#/components/schemas/State", "components": control["components"]}
    validator = BodySchemaValidator(schema, format_checker=FORMATS)
    return sorted(f"{_where('state', e)}: {e.message}" for e in validator.iter_errors(document))


class BodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    NULLABLE_SKIPS = BODY_NULLABLE_SKIPS  # how BodySchemaValidator treats `nullable`

    def __init__(self, *, compiled: Compiled | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._compiled = compiled  # the schema compiled once per operation (middleware.py)
        self._words = body_validator(self._schema)  # built once per operation

    async def _parse(self, stream: AsyncIterator[bytes], scope: Mapping[str, Any]) -> Any:
        return parse_body(b"".join([chunk async for chunk in stream]), self._encoding)

    def _validate(self, body: Any) -> None:
        if not self._nullable and body is None:
            raise RequestInvalid(["body: a JSON request body is required"])
        violations = body_violations(self._schema, self._compiled, body, self._words)
        if violations:
            raise RequestInvalid(violations)


class ParametersValidator(ParameterValidator):  # type: ignore[misc]
    def __init__(self, parameters: list[dict[str, Any]], *args: Any, **kwargs: Any) -> None:
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for parameter in parameters:  # connexion 3.3 repeats path-level parameters
            unique.setdefault((parameter["in"], parameter["name"]), parameter)
        super().__init__(list(unique.values()), *args, **kwargs)
        # Built once per operation (middleware.py).
        self._checks = {key: ParameterCheck(p) for key, p in unique.items()}
        self._declared_query = {p["name"]: p for p in self.parameters.get("query", [])}

    def validate_request(self, request: Any) -> None:
        sources = {
            "query": request.query_params,
            "path": request.path_params,
            "header": request.headers,
            "cookie": request.cookies,
        }
        query = query_pairs(request.scope.get("query_string", b""))
        violations = query_violations(self._declared_query, query, self.strict_validation)
        for where, values in sources.items():
            for parameter in self.parameters.get(where, []):
                name = parameter["name"]
                value = values.get(name)
                if value is None:
                    if parameter.get("required"):
                        violations.append(f"{where}/{name}: missing required parameter")
                    continue
                if is_nullable(parameter) and is_null(value):
                    continue
                violations += self._checks[(where, name)].violations(value)
        if violations:
            raise RequestInvalid(violations)


class ResponseValidator(JSONResponseBodyValidator):  # type: ignore[misc]
    """connexion's JSON response validator, which asks the compiled schema first."""

    NULLABLE_SKIPS = RESPONSE_NULLABLE_SKIPS  # how connexion's Draft4ResponseValidator treats it

    def __init__(self, scope: Any, *, compiled: Compiled | None = None, **kwargs: Any) -> None:
        super().__init__(scope, **kwargs)
        self._compiled = compiled

    def check(self, body: Any) -> None:
        """Raise connexion's NonConformingResponseBody where `body` breaks the schema."""
        self._validate(body)

    def _validate(self, body: Any) -> None:
        if self._compiled is not None and self._compiled.accepts(body):
            return
        super()._validate(body)


VALIDATOR_MAP = {
    "parameter": ParametersValidator,
    "body": MediaTypeDict(
        {
            "*/*json": BodyValidator,
            "application/x-www-form-urlencoded": FormDataValidator,
            "multipart/form-data": MultiPartFormDataValidator,
        }
    ),
    "response": MediaTypeDict(
        {"*/*json": ResponseValidator, "text/plain": TextResponseBodyValidator}
    ),
}
