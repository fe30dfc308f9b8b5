"""The outermost ASGI layer: what happens to a request before connexion sees it.

In order: the body-size limit (read at most the limit, never the whole of a larger body),
injected faults, then, for a documented operation, the token rules (401/403), the rate limits
(413 with Retry-After) and `Prefer: code=`; and around everything the request journal and a
last-resort 500. A request that passes goes to the fast path (`fastpath.py`), and when that
leaves it, to connexion, whose routing, validation and handlers answer everything else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

from mockserver.control.injection import Injector
from mockserver.control.journal import Entry, Journal
from mockserver.http.answer import Answer
from mockserver.http.fastpath import FastPath
from mockserver.http.faults import SERVER_ERROR, FaultFactory
from mockserver.http.ratelimit import RateLimiter
from mockserver.http.regional import PREFIX, REGION, RegionalPaths, sent_path
from mockserver.http.undefined_query import UndefinedQuery, warning, without
from mockserver.settings import Settings
from mockserver.spec import Operation, Spec
from mockserver.state.clock import Clock
from mockserver.state.errors import Forbidden, MockError, OverLimit, Unauthorized, status_of

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTROL_PREFIX = "/__mock"
_PREFER_CODE = re.compile(r"(?:^|[,;\s])code\s*=\s*\"?(\d{3})\"?", re.IGNORECASE)
log = logging.getLogger("mockserver")


class Gateway:
    def __init__(
        self,
        app: ASGIApp,
        *,
        spec: Spec,
        faults: FaultFactory,
        settings: Settings,
        clock: Clock,
        journal: Journal,
        injector: Injector,
        limiter: RateLimiter,
        request_scope: ContextVar[Scope],
        regional: RegionalPaths,
        fast_path: FastPath | None = None,
    ) -> None:
        self.app = app
        self.request_scope = request_scope  # how the handlers see the request they answer
        self.fast_path = fast_path
        self.spec = spec
        self.faults = faults
        self.settings = settings
        self.clock = clock
        self.journal = journal
        self.injector = injector
        self.limiter = limiter
        self.regional = regional
        self.undefined_query = UndefinedQuery(spec, strict=settings.strict_query)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = _headers(scope)  # as the client sent them: what the journal shows
        scope, headers = _media_type_lowered(scope, sent)
        path: str = scope["path"]  # as sent: what the journal shows and fault rules match
        if _is_control(path):
            await self._control(scope, receive, send, headers)
            return
        scope = self.regional.route(scope)
        if _is_control(scope["path"]):  # the control API is one, at /__mock only
            scope = {**scope, "path": path, PREFIX: ""}  # 404 from connexion, as any unknown path
        query: bytes = scope.get("query_string", b"")  # as sent: what the journal shows
        ignored = self.undefined_query.ignored(scope["method"], scope["path"], query)
        if ignored:  # answered as it would be without them: next links do not carry them
            scope = {**scope, "query_string": without(query, ignored)}
        status = [0]  # 0 until the response starts

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                if ignored:
                    lines = [*message.get("headers", []), *map(warning, ignored)]
                    message = {**message, "headers": lines}
            await send(message)

        body, complete = await _read_body(receive, headers, self.settings.max_body_bytes)
        try:
            gate = await self._gate(scope, headers, body, complete)
            if isinstance(gate, Answer):
                await _respond(sending, gate)
                return
            self.request_scope.set(scope)
            if gate is not None and self.fast_path is not None:
                operation, parameters = gate
                answer = await self.fast_path.answer(
                    operation.operation_id, parameters, scope, headers, body
                )
                if answer is not None:
                    await _respond(sending, answer)
                    return
            await self.app(_with_length(scope, body), _replay(body, receive), sending)
        except Exception:  # the last resort: answer 500 and keep serving
            log.exception("unexpected error on %s %s", scope["method"], path)
            if status[0] == 0:
                await _respond(sending, self._fault(500, SERVER_ERROR))
        finally:
            entry = self._entry(scope, path, query, sent, body, status[0] or 500, ignored)
            self.journal.record(entry)

    async def _control(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
    ) -> None:
        token = self.settings.control_token
        if token is not None and headers.get("x-mock-token") != token:
            await _respond(send, self._fault(401, "The control API needs the X-Mock-Token header."))
            return
        limit = self.settings.control_max_body_bytes
        body, complete = await _read_body(receive, headers, limit)
        if not _valid_length(headers):
            await _respond(send, self._fault(400, _BAD_LENGTH))
            return
        if not complete:
            await _respond(send, self._too_large(headers, limit))
            return
        await self.app(_with_length(scope, body), _replay(body, receive), send)

    async def _gate(
        self, scope: Scope, headers: dict[str, str], body: bytes, complete: bool
    ) -> Answer | tuple[Operation, dict[str, str]] | None:
        """An answer that stops the request here; or the documented operation it passed to, and
        its path parameters; or None for a request to no documented operation (connexion's)."""
        method: str = scope["method"]
        path: str = scope["path"]
        if not _valid_length(headers):
            return self._fault(400, _BAD_LENGTH)
        if not complete:
            return self._too_large(headers, self.settings.max_body_bytes)
        rule = self.injector.take(method, sent_path(scope), scope[REGION])
        if rule is not None:
            if rule.latency_ms:
                await asyncio.sleep(rule.latency_ms / 1000)
            if rule.status is not None:
                return self._fault(
                    rule.status, f"Injected fault: {rule.status} for {method} {sent_path(scope)}."
                )
        found = self.spec.match(path)
        if found is None or method not in found[0].operations:
            return None  # connexion answers 404 or 405
        route, parameters = found
        operation = route.operations[method]
        account = parameters.get("accountId", "")
        try:
            self._authorize(operation, headers, account)
            if self.settings.rate_limits and operation.rate_limit:
                label = operation.operation_id
                self.limiter.check(account, label, operation.rate_limit, label)
        except MockError as error:
            return self.error(error)
        return self._preferred(operation, headers) or (operation, parameters)

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

    def _preferred(self, operation: Operation, headers: dict[str, str]) -> Answer | None:
        prefer = headers.get("prefer")
        found = _PREFER_CODE.search(prefer) if prefer else None
        if found is None:
            return None
        status = int(found.group(1))
        if status not in operation.statuses:
            documented = ", ".join(str(s) for s in sorted(operation.statuses))
            return self._fault(
                400,
                f"Prefer: code={status} is not a documented status of {operation.operation_id}"
                f" (documented: {documented}).",
            )
        if status >= 400:
            return self._fault(status, f"Forced by Prefer: code={status}.")
        example = operation.success_examples.get(status)
        if example is None:
            return Answer(status)
        return Answer(status, json.dumps(example).encode(), {"content-type": "application/json"})

    def error(self, error: MockError) -> Answer:
        response = self._fault(status_of(error), error.message, error.details)
        if isinstance(error, OverLimit) and error.retry_after is not None:
            response.headers["retry-after"] = str(error.retry_after)
        return response

    def _fault(self, status: int, message: str, details: str | None = None) -> Answer:
        return Answer(
            status,
            self.faults.encode(status, message, details),
            {"content-type": "application/json"},
        )

    def _too_large(self, headers: dict[str, str], limit: int) -> Answer:
        if not _is_json(headers.get("content-type", "")):
            return self._fault(
                415, "The request body must be JSON (Content-Type: application/json)."
            )
        return self._fault(413, f"The request body is larger than {limit} bytes.")

    def _entry(
        self,
        scope: Scope,
        path: str,
        query: bytes,
        headers: dict[str, str],
        body: bytes,
        status: int,
        ignored_query: tuple[str, ...],
    ) -> Entry:
        return Entry(
            scope["method"],
            path,
            query.decode("latin-1"),
            headers,
            body,
            status,
            self.clock.now(),
            ignored_query,
            scope.get(REGION),
        )


_BAD_LENGTH = "The Content-Length header must be one non-negative integer."


def _is_control(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def _headers(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found


def _media_type_lowered(scope: Scope, headers: dict[str, str]) -> tuple[Scope, dict[str, str]]:
    """The request with the media type of its Content-Type in lower case, the rest as sent.

    Media types are case-insensitive (RFC 9110, 8.3.1); connexion's checks are not: a body sent
    as `APPLICATION/JSON` passed its validation and then reached the handler as bytes (a 500).
    """
    value = headers.get("content-type")
    if value is None:
        return scope, headers
    media, separator, rest = value.partition(";")
    lowered = media.lower() + separator + rest
    if lowered == value:
        return scope, headers
    raw = [(n, v) for n, v in scope.get("headers", []) if n.lower() != b"content-type"]
    raw.append((b"content-type", lowered.encode("latin-1")))
    return {**scope, "headers": raw}, {**headers, "content-type": lowered}


def _valid_length(headers: dict[str, str]) -> bool:
    # uvicorn refuses a bad Content-Length itself; other ASGI servers may pass it on.
    declared = headers.get("content-length")
    return declared is None or declared.isdigit()


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def _read_body(receive: Receive, headers: dict[str, str], limit: int) -> tuple[bytes, bool]:
    """The body, and False when it is over `limit` (then only its start was read)."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"", False
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", False
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), True


def _with_length(scope: Scope, body: bytes) -> Scope:
    """The scope, declaring the length of the body read whole: connexion reads no body from a
    request without Content-Length, so a chunked request would otherwise lose its body."""
    headers = scope.get("headers", [])
    if any(name.lower() == b"content-length" for name, _ in headers):
        return scope
    return {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _respond(send: Send, response: Answer) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
