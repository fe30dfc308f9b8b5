"""Fault bodies: `{"<faultName>": {"code", "message", "details"?}}`, named by the spec."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.http.answer import Answer
from mockserver.http.encoder import encode
from mockserver.state.errors import MockError, OverLimit, status_of

# The documented message of the catch-all fault (faults chapter of the Rackspace guide).
SERVER_ERROR = "The server has either erred or is incapable of performing the requested operation."


class FaultFactory:
    """Builds the documented fault body of a status; the names come from the spec's responses."""

    def __init__(self, names: Mapping[int, str]) -> None:
        self._names = dict(names)

    def name(self, status: int) -> str:
        return self._names.get(status) or self._names.get(500, "instanceFault")

    def body(self, status: int, message: str, details: str | None = None) -> dict[str, Any]:
        # A status the spec names no fault for is answered as the catch-all, with its code.
        fault: dict[str, Any] = {"code": status if status in self._names else 500}
        fault["message"] = message
        if details is not None:
            fault["details"] = details
        return {self.name(status): fault}

    def encode(self, status: int, message: str, details: str | None = None) -> bytes:
        # The answers' own encoding (orjson): the json module's took a twentieth of a 400.
        return encode(self.body(status, message, details))

    def answer(self, status: int, message: str, details: str | None = None) -> Answer:
        """The fault as an answer of the mock's own (the gateway's, the fast path's)."""
        return Answer(
            status, self.encode(status, message, details), {"content-type": "application/json"}
        )

    def error(self, error: MockError) -> Answer:
        """A domain error's fault, with Retry-After for a limit that says when to retry."""
        answer = self.answer(status_of(error), error.message, error.details)
        if isinstance(error, OverLimit) and error.retry_after is not None:
            answer.headers["retry-after"] = str(error.retry_after)
        return answer
