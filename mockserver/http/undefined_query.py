"""Query parameters an operation does not define (contract section 9).

The real service ignores them, and real clients send some (python-troveclient's
`instances.list()` sends `include_clustered`), so the mock, never stricter than the service on
what real clients send, ignores them too: it answers as it would without them, and says so in a
`Warning` header line per parameter and in the journal. Under `--strict-query` none is ignored:
the validators refuse them (400), for teams whose own tests should fail on them.
"""

from __future__ import annotations

from urllib.parse import quote

from mockserver.http.validation import query_pairs, undeclared_query
from mockserver.spec import Spec

# What a header may carry of a parameter's name as it is; the rest is percent-encoded (`"` and
# `\` would end or escape the quoted text, `%` would make the encoding ambiguous).
_SHOWN_AS_IS = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) not in '"\\%')


class UndefinedQuery:
    def __init__(self, spec: Spec, *, strict: bool) -> None:
        self.spec = spec
        self.strict = strict

    def ignored(self, method: str, path: str, query: bytes) -> tuple[str, ...]:
        """The parameters of `query` that the operation of `method path` does not define (none
        under --strict-query, and none for a request to no documented operation)."""
        if not query or self.strict:
            return ()
        found = self.spec.match(path)
        operation = found[0].operations.get(method) if found else None
        if operation is None:
            return ()
        return tuple(undeclared_query(operation.query_parameters, query_pairs(query)))


def without(query: bytes, names: tuple[str, ...]) -> bytes:
    """The query string less the parameters named `names`, the rest byte for byte as sent."""

    def name(part: bytes) -> str:
        pairs = query_pairs(part.split(b"=", 1)[0] + b"=")
        return pairs[0][0] if pairs else ""

    return b"&".join(part for part in query.split(b"&") if part and name(part) not in names)


def warning(name: str) -> tuple[bytes, bytes]:
    """The Warning header line that says a query parameter was ignored (RFC 7234, code 299)."""
    shown = quote(name, safe=_SHOWN_AS_IS)
    text = f"299 - \"Query parameter '{shown}' is not defined for this operation and was ignored.\""
    return b"warning", text.encode("ascii")
