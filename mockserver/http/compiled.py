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
import orjson

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


# A list answer's schema, as openapi.yaml writes them, and what splitting it may keep exact.
_ENVELOPE_KEYS = frozenset({"type", "required", "properties", "additionalProperties"})
_ARRAY_KEYS = frozenset({"type", "items", "minItems", "maxItems"})
_ANNOTATIONS = frozenset({"description", "title", "example"})
_REMEMBERED = 4096  # item verdicts kept per array: a few MB at most


class CompiledList:
    """A list answer's schema, checked as its envelope and its items apart; the items' verdicts
    are remembered by their JSON text.

    Checking a page of 20 backups took jsonschema_rs about 35 µs, the largest part of a list
    answer's time, although nearly every backup on it had been checked before. For a schema
    `{type: object, properties: {P: {type: array, items: X, minItems?, maxItems?}, ...}}` and
    nothing else that could reach P, a document is valid exactly when it is valid with P's
    `items` left out (the envelope: type, required, the other properties, the counts) and each
    item of P is valid against X. Whether an item is valid depends only on its JSON text, so a
    text found valid once is valid again: remembering it is exact. `split` says which schemas
    have this form; any other is checked whole.
    """

    def __init__(self, schema: Mapping[str, Any], nullable_skips: Collection[str]) -> None:
        properties = dict(schema["properties"])
        self._items: dict[str, tuple[Compiled, dict[bytes, None]]] = {}
        for name, array in schema["properties"].items():
            if _is_simple_array(array):
                properties[name] = {k: v for k, v in array.items() if k != "items"}
                self._items[name] = (Compiled(array["items"], nullable_skips), {})
        self._envelope = Compiled({**schema, "properties": properties}, nullable_skips)

    @staticmethod
    def split(schema: Mapping[str, Any]) -> bool:
        """Whether `schema` has the form this class checks in parts (with at least one array)."""
        return (
            isinstance(schema, Mapping)
            and set(schema) <= _ENVELOPE_KEYS | _ANNOTATIONS
            and schema.get("type") == "object"
            and isinstance(schema.get("properties"), Mapping)
            and any(_is_simple_array(p) for p in schema["properties"].values())
        )

    @property
    def compiled(self) -> bool:
        return self._envelope.compiled and all(c.compiled for c, _ in self._items.values())

    def accepts(self, instance: Any) -> bool:
        """True: valid. False: not known to be valid (the Python validator must decide)."""
        if not self._envelope.accepts(instance):
            return False
        for name, (compiled, valid) in self._items.items():
            items = instance.get(name)
            if not isinstance(items, list):
                continue  # absent (the envelope allows it); not a list: the envelope refused it
            for item in items:
                try:
                    text = orjson.dumps(item)
                except TypeError:  # a value orjson cannot encode: checked, not remembered
                    if not compiled.accepts(item):
                        return False
                    continue
                if text in valid:
                    continue
                if not compiled.accepts(item):
                    return False
                if len(valid) >= _REMEMBERED:
                    valid.clear()
                valid[text] = None
        return True


def compile_response(
    schema: Mapping[str, Any], nullable_skips: Collection[str]
) -> Compiled | CompiledList:
    """A response schema compiled whole, or as a list answer's envelope and items."""
    if CompiledList.split(schema):
        return CompiledList(schema, nullable_skips)
    return Compiled(schema, nullable_skips)


def _is_simple_array(schema: Any) -> bool:
    return (
        isinstance(schema, Mapping)
        and set(schema) <= _ARRAY_KEYS | _ANNOTATIONS
        and schema.get("type") == "array"
        and isinstance(schema.get("items"), Mapping)
    )


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
