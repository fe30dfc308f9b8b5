"""Regional endpoints (contract section 12): `/iad/v1.0/...` is IAD's API, `/v1.0/...` the own
region's. The gateway takes the region's prefix off a request's path, so routing, validation,
the fast path and the spec see the one API they know, and records the region in the scope, where
the handlers find the region's store and build links under the same prefix.
"""

from __future__ import annotations

from collections.abc import Sequence

from mockserver.asgi import Scope

REGION = "mockserver.region"  # scope keys: the region's code,
PREFIX = "mockserver.prefix"  # and the prefix its path was sent with ("" for the own region's)


class RegionalPaths:
    def __init__(self, codes: Sequence[str], own: str) -> None:
        self.own = own
        self._codes = {f"/{code.lower()}": code for code in codes}

    def route(self, scope: Scope) -> Scope:
        """The scope as the API sees it: the path without a region's prefix, and the region."""
        path: str = scope["path"]
        end = path.find("/", 1)
        head = path if end < 0 else path[:end]
        code = self._codes.get(head)
        if code is None:
            return {**scope, REGION: self.own, PREFIX: ""}
        routed = {**scope, "path": path[len(head) :] or "/", REGION: code, PREFIX: head}
        raw: bytes | None = scope.get("raw_path")
        if raw is not None:
            prefix = head.encode("ascii")
            if raw.startswith(prefix):
                routed["raw_path"] = raw[len(prefix) :] or b"/"
            else:  # a prefix sent percent-encoded: no raw path rather than a wrong one
                del routed["raw_path"]
        return routed


def region_of(scope: Scope, default: str) -> str:
    region: str = scope.get(REGION, default)
    return region


def sent_path(scope: Scope) -> str:
    """The path as the client sent it, with the region's prefix."""
    return f"{scope.get(PREFIX, '')}{scope['path']}"
