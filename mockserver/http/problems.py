"""Every error connexion or starlette raises, and every domain error, as a documented fault.

connexion's defaults are `application/problem+json` bodies; the API documents
`{"<faultName>": {"code", "message"}}` with `application/json` everywhere, so these handlers
replace them all. The 405's `Allow` is computed from the spec (starlette's router would list
only the methods of the first route it tried).
"""

from __future__ import annotations

import logging
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionResponse
from starlette.exceptions import HTTPException

from mockserver.http.faults import SERVER_ERROR, FaultFactory
from mockserver.http.regional import sent_path
from mockserver.http.validation import RequestInvalid
from mockserver.spec import Spec
from mockserver.state.errors import MockError, OverLimit, status_of

log = logging.getLogger("mockserver")


class Problems:
    def __init__(self, faults: FaultFactory, specs: dict[str, Spec]) -> None:
        self.faults = faults
        self.specs = specs  # by base path

    def response(
        self,
        status: int,
        message: str,
        details: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ConnexionResponse:
        return ConnexionResponse(
            status_code=status,
            mimetype="application/json",
            content_type="application/json",
            headers=headers or {},
            body=self.faults.encode(status, message, details),
        )

    async def on_mock_error(self, request: Any, error: MockError) -> ConnexionResponse:
        return self.mock_error(error)

    def mock_error(self, error: MockError) -> ConnexionResponse:
        headers = {}
        if isinstance(error, OverLimit) and error.retry_after is not None:
            headers["Retry-After"] = str(error.retry_after)
        return self.response(status_of(error), error.message, error.details, headers)

    async def on_problem(self, request: Any, problem: ProblemException) -> ConnexionResponse:
        return self.problem(problem)

    def problem(self, problem: ProblemException) -> ConnexionResponse:
        status = problem.status_code or 500
        if isinstance(problem, RequestInvalid):
            count = len(problem.violations)
            message = (
                f"The request is invalid ({count} violation{'s' * (count != 1)}): {problem.detail}"
            )
        elif status >= 500:
            log.error("%s: %s", problem.title, problem.detail)
            message = f"{problem.title}: {problem.detail}" if problem.detail else SERVER_ERROR
        else:
            message = str(problem.detail or problem.title)
        return self.response(status, message)

    async def on_http(self, request: Any, error: HTTPException) -> ConnexionResponse:
        path = request.url.path  # without a region's prefix, as routed
        sent = sent_path(request.scope)
        if error.status_code == 405:
            allow = self._allow(path)
            method = request.method
            return self.response(
                405,
                f"Method {method} is not allowed for {sent} (allowed: {allow}).",
                headers={"Allow": allow},
            )
        if error.status_code == 404:
            return self.response(404, f"The resource could not be found: {sent}.")
        return self.response(error.status_code, str(error.detail))

    async def on_unexpected(self, request: Any, error: Exception) -> ConnexionResponse:
        return self.unexpected(error)

    def unexpected(self, error: Exception) -> ConnexionResponse:
        log.exception("unexpected error", exc_info=error)
        return self.response(500, SERVER_ERROR)

    def _allow(self, path: str) -> str:
        for base, spec in sorted(self.specs.items(), key=lambda item: -len(item[0])):
            if base and not path.startswith(base):
                continue
            found = spec.match(path[len(base) :])
            if found is not None:
                return found[0].allow
        return ""
