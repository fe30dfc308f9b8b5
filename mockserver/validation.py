"""Request validators for connexion that report every violation, not only the first.

connexion 3.3's own validators stop at the first error, let invalid UTF-8 escape as a 500, do
not check `format: uuid`, and ignore `nullable` beside `anyOf`/`allOf`. These subclasses keep
connexion's parsing and coercion and change only how a body or a parameter set is judged.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator, allow_nullable
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, FormatChecker, ValidationError
from jsonschema.validators import extend

FORMATS = FormatChecker()  # every known format, uuid and date included

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
    path = "/".join(str(part) for part in error.absolute_path)
    return f"{prefix}/{path}" if path else prefix


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


class BodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    @property
    def _validator(self) -> Any:
        return BodySchemaValidator(self._schema, format_checker=FORMATS)

    async def _parse(self, stream: AsyncIterator[bytes], scope: Mapping[str, Any]) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        try:
            text = raw.decode(self._encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise RequestInvalid([f"body: not valid {self._encoding}: {error}"]) from error
        if not text:
            return None
        try:
            return json.loads(text, parse_constant=_no_constants)
        except RecursionError as error:
            raise RequestInvalid(["body: JSON nested too deeply"]) from error
        except ValueError as error:
            raise RequestInvalid([f"body: malformed JSON: {error}"]) from error

    def _validate(self, body: Any) -> None:
        if not self._nullable and body is None:
            raise RequestInvalid(["body: a JSON request body is required"])
        try:
            errors = list(self._validator.iter_errors(body))
        except RecursionError as error:
            raise RequestInvalid(["body: JSON nested too deeply"]) from error
        if errors:
            raise RequestInvalid(sorted(f"{_where('body', e)}: {e.message}" for e in errors))


class ParametersValidator(ParameterValidator):  # type: ignore[misc]
    def __init__(self, parameters: list[dict[str, Any]], *args: Any, **kwargs: Any) -> None:
        unique: dict[tuple[str, str], dict[str, Any]] = {}
        for parameter in parameters:  # connexion 3.3 repeats path-level parameters
            unique.setdefault((parameter["in"], parameter["name"]), parameter)
        super().__init__(list(unique.values()), *args, **kwargs)
        self._validators = {
            key: Draft4Validator(p.get("schema", p), format_checker=FORMATS)
            for key, p in unique.items()
        }

    def validate_request(self, request: Any) -> None:
        sources = {
            "query": request.query_params,
            "path": request.path_params,
            "header": request.headers,
            "cookie": request.cookies,
        }
        violations: list[str] = []
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
                validator = self._validators[(where, name)]
                violations += [
                    f"{_where(f'{where}/{name}', e)}: {e.message}"
                    for e in validator.iter_errors(value)
                ]
        if violations:
            raise RequestInvalid(violations)


VALIDATOR_MAP = {
    "parameter": ParametersValidator,
    "body": MediaTypeDict(
        {
            "*/*json": BodyValidator,
            "application/x-www-form-urlencoded": FormDataValidator,
            "multipart/form-data": MultiPartFormDataValidator,
        }
    ),
}
