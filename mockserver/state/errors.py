"""Domain errors: a small tree that knows no HTTP. `STATUS` is the one table that maps them
(and every other error the mock answers) to a status; `mockserver.http.faults` turns a status into
the documented fault body, whose name comes from the spec."""

from __future__ import annotations


class MockError(Exception):
    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(MockError):
    """Malformed or invalid input."""


class Unauthorized(MockError):
    """No token, or a token the mock does not know."""


class Forbidden(MockError):
    """A known token used on an account it does not hold."""


class NotFound(MockError):
    """No such resource in this account."""


class OverLimit(MockError):
    """A quota, a size limit or a rate limit is exceeded."""

    def __init__(self, message: str, details: str | None = None, retry_after: int | None = None):
        super().__init__(message, details)
        self.retry_after = retry_after


class Unprocessable(MockError):
    """The resource cannot be processed in its current state."""


class ServiceUnavailable(MockError):
    """The service is not available."""


STATUS: dict[type[MockError], int] = {
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    OverLimit: 413,
    Unprocessable: 422,
    ServiceUnavailable: 503,
}


def status_of(error: MockError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def not_found(resource_id: str) -> NotFound:
    return NotFound(f"Resource {resource_id} cannot be found.")
