"""Whether a request to a documented operation goes on: its token (401, 403: the `tokens` of
the settings), the operation's rate limits (413 with Retry-After), and `Prefer: code=`, which
asks for one of the operation's documented statuses instead (`prefer.py`). The gateway asks for
every request, whichever pipeline answers it."""

from __future__ import annotations

from mockserver.asgi import Scope
from mockserver.http.answer import Answer
from mockserver.http.prefer import Fault, preferred
from mockserver.http.ratelimit import RateLimiter
from mockserver.settings import Settings
from mockserver.spec import Operation, Spec
from mockserver.state.errors import Forbidden, Unauthorized


class Admission:
    def __init__(
        self,
        spec: Spec,
        settings: Settings,
        limiter: RateLimiter,
        *,
        preferred_fault: Fault,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.limiter = limiter
        self._preferred_fault = preferred_fault  # the fault body of a status `Prefer` asks for

    def operation(self, scope: Scope) -> tuple[Operation, dict[str, str]] | None:
        """The documented operation a request goes to, and its path parameters."""
        method: str = scope["method"]
        found = self.spec.match(scope["path"])
        if found is None or method not in found[0].operations:
            return None
        route, parameters = found
        return route.operations[method], parameters

    def admitted(
        self, operation: Operation, headers: dict[str, str], account: str
    ) -> Answer | None:
        """The token, the rate limits (counted here) and `Prefer`: the answer that stops the
        request, or None; MockError for a token refused or a limit reached."""
        self._authorize(operation, headers, account)
        if self.settings.rate_limits and operation.rate_limit:
            label = operation.operation_id
            self.limiter.check(account, label, operation.rate_limit, label)
        return preferred(operation, headers.get("prefer"), self._preferred_fault)

    def _authorize(self, operation: Operation, headers: dict[str, str], account: str) -> None:
        if operation.auth_header is None:
            return
        token = headers.get(operation.auth_header.lower(), "").strip()
        if not token:
            raise Unauthorized(f"This request needs the {operation.auth_header} header.")
        tokens = self.settings.tokens
        if tokens is None:
            return
        accounts = tokens.get(token)
        if accounts is None:
            raise Unauthorized("The token is not valid (unknown or expired).")
        if "*" not in accounts and account not in accounts:
            raise Forbidden(f"The token does not give access to account {account}.")
