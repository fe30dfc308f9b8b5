"""Schemas compiled once by jsonschema_rs: a fast first verdict on each body the mock validates.

The Python validators (jsonschema, as connexion and `validation.py` set them up) stay the judges
of record, and they are slow: a page of 20 backups took them about 3 ms to check, jsonschema_rs
about 40 µs. So a body is first checked by the compiled schema; only when that finds it invalid
do the Python validators run, to decide and to word every violation as before. A body the
compiled schema accepts is accepted, so the compiled schema must never be more lenient:
- OpenAPI 3.0's `nullable` (which connexion honours only on `type` and `enum`, and the request
  body validator also on `allOf`/`anyOf`/`oneOf`) becomes an explicit `anyOf` with a null branch
  that still applies the keywords the Python validator applies to null;
- a schema with a keyword whose Python meaning the two engines may not share (`format`,
  `readOnly`, `writeOnly`, a `$ref` left unresolved) is not compiled: the Python validator alone
  judges it.
Where the engines differ otherwise, the compiled one is the stricter (Rust's `$` does not match
before a final newline, Python's does), which only costs a second check.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import jsonschema_rs

# Keywords whose value is one schema, a list of schemas, or a mapping of names to schemas.
_ONE = ("additionalProperties", "additionalItems", "items", "not")
_LIST = ("allOf", "anyOf", "oneOf", "items")
_MAP = ("properties", "patternProperties", "dependencies", "definitions")
_NOT_COMPILED = frozenset({"format", "readOnly", "writeOnly", "x-writeOnly", "$ref"})
_COMBINATORS = ("allOf", "anyOf", "oneOf", "not")
_DATA = ("enum", "example", "default")  # values that are data, not schemas
# Connexion's validators accept null without checking these where `nullable` is set.
RESPONSE_NULLABLE_SKIPS = frozenset({"type", "enum"})
BODY_NULLABLE_SKIPS = frozenset({"type", "enum", "allOf", "anyOf", "oneOf"})


class Compiled:
    """One schema (as connexion hands it to a validator, `$ref`s resolved), compiled or not."""

    def __init__(self, schema: Mapping[str, Any], nullable_skips: Collection[str] | None) -> None:
        """`nullable_skips`: the keywords the Python validator skips for null where `nullable` is
        set; None for a plain draft 4 validator, to which `nullable` means nothing."""
        self._validator: Any = None
        if not _has_keyword(schema, _NOT_COMPILED):
            try:
                converted = (
                    dict(schema)
                    if nullable_skips is None
                    else to_json_schema(schema, frozenset(nullable_skips))
                )
                self._validator = jsonschema_rs.Draft4Validator(converted)
            except (ValueError, jsonschema_rs.ReferencingError):
                self._validator = None  # left to the Python validator

    @property
    def compiled(self) -> bool:
        return self._validator is not None

    def accepts(self, instance: Any) -> bool:
        """True: valid. False: not known to be valid (the Python validator must decide)."""
        if self._validator is None:
            return False
        try:
            return bool(self._validator.is_valid(instance))
        except (ValueError, TypeError, OverflowError):  # a value JSON cannot hold
            return False


def to_json_schema(node: Any, nullable_skips: frozenset[str]) -> Any:
    """The JSON Schema (draft 4) that accepts what connexion's OpenAPI 3.0 validator accepts."""
    if not isinstance(node, Mapping):
        return node
    converted: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("nullable", "x-nullable"):
            continue
        if key in _LIST and isinstance(value, list):
            converted[key] = [to_json_schema(item, nullable_skips) for item in value]
        elif key in _ONE and isinstance(value, Mapping):
            converted[key] = to_json_schema(value, nullable_skips)
        elif key in _MAP and isinstance(value, Mapping):
            converted[key] = {
                name: to_json_schema(item, nullable_skips) for name, item in value.items()
            }
        else:
            converted[key] = value
    if node.get("nullable") or node.get("x-nullable") is True:  # as connexion's is_nullable
        # null passes the keywords connexion skips for it, and must still pass the others.
        null: dict[str, Any] = {"type": "null"}
        for key in _COMBINATORS:
            if key in converted and key not in nullable_skips:
                null[key] = converted[key]
        return {"anyOf": [null, converted]}
    return converted


def _has_keyword(node: Any, keywords: frozenset[str]) -> bool:
    if isinstance(node, Mapping):
        return any(
            key in keywords or (key not in _DATA and _has_keyword(value, keywords))
            for key, value in node.items()
        )
    if isinstance(node, list):
        return any(_has_keyword(item, keywords) for item in node)
    return False
