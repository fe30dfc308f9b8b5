"""Where a request body breaks its schema, found by the compiled schemas, and worded there only.

jsonschema words every violation of a body (`validation.body_violations`), and walking a whole
create body for it took about 55 µs, a third of a 400's CPU: a fuzzer's hot path. The compiled
schemas (`compiled.py`) find the same answer in a fraction of a microsecond a subschema, and
this module uses them only to find *where* to word, never *what*: the words are still
jsonschema's, run on the smallest subschemas that hold every violation.

The split is exact under draft 4: an object is valid against a schema with `properties` exactly
when it is valid against that schema with each property's schema emptied (its shell: type,
required, additionalProperties, patternProperties... still judge the names) and each property
it has is valid against that property's schema. So a body is worded at each property where the
shell passed and the property failed, going down, and at the node itself where its shell
failed. A subschema that cannot be compiled is worded whole, as the body was before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import ValidationError

from mockserver.http.compiled import Compiled

Path = tuple[str, ...]  # property names from the body down


class Wording:
    """A body schema's Python validator, and that validator at each subschema it has worded."""

    def __init__(
        self, schema: Mapping[str, Any], validator: Any, nullable_skips: frozenset[str]
    ) -> None:
        self._schema = schema
        self._skips = nullable_skips
        self._validators: dict[Path, Any] = {(): validator}
        # Built on first use, one per object subschema reached: bounded by the schema's size.
        self._parts: dict[Path, tuple[Compiled, dict[str, Compiled]] | None] = {}

    def errors(self, body: Any) -> Iterator[tuple[Path, ValidationError]]:
        """Every violation, with where its error's own path starts from (`()`: the body)."""
        for path in self.roots(body):
            instance = body
            for name in path:
                instance = instance[name]
            for error in self._validator(path).iter_errors(instance):
                yield path, error

    def roots(self, body: Any) -> list[Path]:
        """Where `body` is worded: the subschemas that hold every violation it has."""
        return self._roots((), self._schema, body)

    def _roots(self, path: Path, schema: Any, instance: Any) -> list[Path]:
        """The subschemas below `path` (or `path` itself) that hold every violation."""
        parts = self._split(path, schema)
        if parts is None or not isinstance(instance, dict):
            return [path]
        shell, properties = parts
        if not shell.accepts(instance):
            return [path]
        found: list[Path] = []
        for name, compiled in properties.items():
            if name in instance and not compiled.accepts(instance[name]):
                found += self._roots((*path, name), schema["properties"][name], instance[name])
        # Nothing failed in parts: the whole is worded, so that no violation goes unsaid.
        return found or [path]

    def _split(self, path: Path, schema: Any) -> tuple[Compiled, dict[str, Compiled]] | None:
        if path in self._parts:
            return self._parts[path]
        parts = None
        if isinstance(schema, Mapping) and isinstance(schema.get("properties"), Mapping):
            emptied: dict[str, Any] = {name: {} for name in schema["properties"]}
            shell = Compiled({**schema, "properties": emptied}, self._skips)
            if shell.compiled:
                properties = {
                    name: Compiled(sub, self._skips) for name, sub in schema["properties"].items()
                }
                parts = (shell, properties)
        self._parts[path] = parts
        return parts

    def _validator(self, path: Path) -> Any:
        validator = self._validators.get(path)
        if validator is None:
            schema = self._schema
            for name in path:
                schema = schema["properties"][name]
            validator = self._validators[path] = self._validators[()].evolve(schema=schema)
        return validator
