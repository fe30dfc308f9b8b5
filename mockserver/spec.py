"""What the mock reads from an OpenAPI document: operations, their statuses, routes and faults.

The spec is the single source of truth: routing for 404/405, the `Allow` header, the statuses
`Prefer: code=` may force, the rate limits (`x-rate-limit`), which operations need a token and
the fault name of each status are all derived here, never written in Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader is about seven times faster than the pure-Python one (start-up, tests).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_PARAMETER = re.compile(r"\{([^}/]+)\}")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # the path template, as in the spec
    statuses: frozenset[int]
    rate_limit: int | None  # requests per minute and account, from x-rate-limit
    auth_header: str | None  # the header that carries the token, or None when open
    # The names of the query parameters it defines (path-level ones included).
    query_parameters: frozenset[str] = frozenset()
    # The first documented example of each success status (None: documented without a body).
    success_examples: Mapping[int, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    template: str
    pattern: re.Pattern[str]
    operations: Mapping[str, Operation]  # by upper-case method

    @property
    def allow(self) -> str:
        return ", ".join(sorted(self.operations))


class Spec:
    """An OpenAPI 3.0 document, indexed for the mock."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self._components = document.get("components", {})
        self.routes: list[Route] = []
        self.operations: dict[str, Operation] = {}
        self.fault_names: dict[int, str] = {}
        default_security = document.get("security", [])
        for template, item in document.get("paths", {}).items():
            by_method: dict[str, Operation] = {}
            for method in HTTP_METHODS:
                raw = item.get(method)
                if raw is None:
                    continue
                operation = self._operation(
                    template, method, raw, default_security, item.get("parameters", [])
                )
                by_method[operation.method] = operation
                self.operations[operation.operation_id] = operation
            self.routes.append(Route(template, _compile(template), by_method))

    @classmethod
    def load(cls, path: Path) -> Spec:
        return cls(read_yaml(path))

    @property
    def regions(self) -> tuple[str, ...]:
        """The codes of the service's regions (the `Region` schema's enum)."""
        return tuple(self._components.get("schemas", {}).get("Region", {}).get("enum", ()))

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route whose template matches `path`, with the path parameters."""
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    def resolve(self, node: Any) -> Any:
        """Follow a local `$ref` (one level at a time, until a node without one)."""
        while isinstance(node, Mapping) and "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def _operation(
        self,
        template: str,
        method: str,
        raw: Mapping[str, Any],
        default_security: Any,
        shared_parameters: list[Any],
    ) -> Operation:
        statuses: set[int] = set()
        examples: dict[int, Any] = {}
        for code, response in raw.get("responses", {}).items():
            status = int(code)
            statuses.add(status)
            response = self.resolve(response)
            content = response.get("content", {}).get("application/json")
            if status >= 400 and content is not None:
                schema = self.resolve(content["schema"])
                self.fault_names[status] = schema["required"][0]
            elif status < 400:
                examples[status] = _first_example(content)
        security = raw.get("security", default_security)
        parameters = [self.resolve(p) for p in [*shared_parameters, *raw.get("parameters", [])]]
        return Operation(
            operation_id=raw["operationId"],
            method=method.upper(),
            path=template,
            statuses=frozenset(statuses),
            rate_limit=raw.get("x-rate-limit"),
            auth_header=self._auth_header(security),
            success_examples=examples,
            query_parameters=frozenset(p["name"] for p in parameters if p.get("in") == "query"),
        )

    def _auth_header(self, security: list[Mapping[str, Any]]) -> str | None:
        for requirement in security:
            for name in requirement:
                scheme = self._components.get("securitySchemes", {}).get(name, {})
                if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
                    return str(scheme["name"])
        return None


def _compile(template: str) -> re.Pattern[str]:
    pieces: list[str] = []
    position = 0
    for found in _PARAMETER.finditer(template):
        pieces.append(re.escape(template[position : found.start()]))
        pieces.append(f"(?P<{found.group(1)}>[^/\\n]+)")
        position = found.end()
    pieces.append(re.escape(template[position:]))
    # connexion's router matches no path with a newline anywhere (`/backups\n`, `/1234\n/...`):
    # nor may the gateway, or the fast path would answer what connexion calls unknown. So no
    # newline in a parameter, and \Z rather than $, which also matches before a final newline.
    return re.compile("^" + "".join(pieces) + "\\Z")


def _first_example(content: Mapping[str, Any] | None) -> Any:
    if content is None:
        return None
    if "example" in content:
        return content["example"]
    for example in content.get("examples", {}).values():
        return example.get("value")
    return None


def with_components_of(document: Mapping[str, Any], source: Mapping[str, Any]) -> dict[str, Any]:
    """`document` with every schema of `source` it does not define itself added to it.

    The control API's document names the API's schemas (Backup, Uuid, the faults, ...) without
    copying them, so that the state document always describes backups as the API does.
    """
    composed = dict(document)
    components = dict(composed.get("components", {}))
    schemas = dict(source.get("components", {}).get("schemas", {}))
    schemas.update(components.get("schemas", {}))
    components["schemas"] = schemas
    composed["components"] = components
    return composed


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as stream:
        return yaml.load(stream, Loader=_LOADER)  # a safe loader, C or Python
