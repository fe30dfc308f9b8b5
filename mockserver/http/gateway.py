"""The outermost ASGI layer: what happens to a request before connexion sees it.

In order: the body-size limit (read at most the limit, never the whole of a larger body),
injected faults, then, for a documented operation, the token rules (401/403), the rate limits
(413 with Retry-After) and `Prefer: code=`; and around everything the request journal and a
last-resort 500. A request that passes goes to the fast path (`fastpath.py`), and when that
leaves it, to connexion, whose routing, validation and handlers answer everything else.

With an upstream (`--upstream`), the gateway chooses the proxy (`proxy/`) instead for every
request to the API: fault rules apply first, then the proxy passes the request on and checks the
exchange; the journal records who answered and the verdict, with credentials masked. The mock's
own pipeline then answers only what the proxy hands back (`--fallback-to-mock`).

`answer_now` takes the same steps for a request the server has read whole, when none of them
waits (`direct.py`): the fast path's requests, answered without the ASGI cycle.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from dataclasses import replace

from mockserver.asgi import ASGIApp, Message, Receive, Scope, Send
from mockserver.control.injection import Injector
from mockserver.control.journal import masked
from mockserver.control.recorder import Recorder
from mockserver.http.admission import Admission
from mockserver.http.answer import Answer
from mockserver.http.fastpath import FastPath
from mockserver.http.faults import SERVER_ERROR, FaultFactory
from mockserver.http.messages import (
    is_json,
    media_type_lowered,
    read_body,
    replay,
    request_headers,
    respond,
    valid_length,
    with_length,
)
from mockserver.http.ratelimit import RateLimiter
from mockserver.http.regional import PREFIX, REGION, RegionalPaths, sent_path
from mockserver.http.undefined_query import UndefinedQuery, warning, without
from mockserver.proxy.forwarder import Exchange, Proxy
from mockserver.settings import Settings
from mockserver.spec import Operation, Spec
from mockserver.state.errors import MockError

CONTROL_PREFIX = "/__mock"
log = logging.getLogger("mockserver")


class Gateway:
    def __init__(
        self,
        app: ASGIApp,
        *,
        spec: Spec,
        faults: FaultFactory,
        settings: Settings,
        recorder: Recorder,
        injector: Injector,
        limiter: RateLimiter,
        request_scope: ContextVar[Scope],
        regional: RegionalPaths,
        fast_path: FastPath | None = None,
        proxy: Proxy | None = None,
    ) -> None:
        self.app = app
        self.request_scope = request_scope  # how the handlers see the request they answer
        self.fast_path = fast_path
        self.faults = faults
        self.settings = settings
        self.recorder = recorder  # the journal and the coverage
        self.injector = injector
        # The token, the rate limits (`limiter`) and Prefer, for either pipeline.
        self.admission = Admission(spec, settings, limiter, preferred_fault=faults.answer)
        self.regional = regional
        self.proxy = proxy  # when set, every API request goes to the upstream (proxy/)
        self.undefined_query = UndefinedQuery(spec, strict=settings.strict_query)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = request_headers(scope)  # as the client sent them: what the journal shows
        as_sent = scope  # what a proxy passes on
        scope, headers = media_type_lowered(scope, sent)
        path: str = scope["path"]  # as sent: what the journal shows and fault rules match
        if _is_control(path):
            await self._control(scope, receive, send, headers)
            return
        if self.proxy is not None:
            await self._proxied(as_sent, receive, send, sent, headers)
            return
        scope, query, ignored = self._routed(scope, path)
        status = [0]  # 0 until the response starts
        sending = _warning(send, ignored, status)
        body, complete = await read_body(receive, headers, self.settings.max_body_bytes)
        gate: Answer | tuple[Operation, dict[str, str]] | None = None
        try:
            gate = await self._gate(scope, headers, body, complete)
            await self._dispatch(scope, headers, body, receive, sending, gate)
        except MockError as error:  # a part kept elsewhere failed (a shared state: 503)
            if status[0] == 0:
                await respond(sending, self.faults.error(error))
        except Exception:  # the last resort: answer 500 and keep serving
            log.exception("unexpected error on %s %s", scope["method"], path)
            if status[0] == 0:
                await respond(sending, self.faults.answer(500, SERVER_ERROR))
        finally:
            operation = gate[0] if isinstance(gate, tuple) else None  # matched once, by the gate
            entry = self.recorder.entry(
                scope, path, query, sent, body, status[0] or 500, ignored, operation
            )
            self.recorder.record(entry)

    def answer_now(self, scope: Scope, body: bytes) -> Answer | None:
        """The answer to a whole request, given at once, for a server that can send it without
        the ASGI cycle (`direct.py`); None when the request needs the ASGI pipeline, and then
        nothing of it was done (no rate limit counted, nothing journaled).

        Answered at once: a request to a documented operation that the fast path answers
        whole, with no fault rule armed and no query parameter to ignore; the same steps as
        `__call__`, in which a request to the control API, through the proxy or to connexion
        may wait (a body streamed, a rule's latency, the upstream)."""
        path: str = scope["path"]  # as sent
        if self.proxy is not None or self.fast_path is None or self.injector.armed:
            return None
        if _is_control(path) or len(body) > self.settings.max_body_bytes:
            return None  # declined before reading the headers, which the ASGI entry reads again
        sent = request_headers(scope)
        scope, headers = media_type_lowered(scope, sent)
        if not valid_length(headers):
            return None
        scope, query, ignored = self._routed(scope, path)
        found = self.admission.operation(scope)
        if found is None or ignored:
            return None
        operation, parameters = found
        call = self.fast_path.prepare(operation.operation_id, parameters, scope, headers, body)
        if call is None:
            return None
        token = self.request_scope.set(scope)
        try:
            answer = self.admission.admitted(operation, headers, parameters.get("accountId", ""))
            if answer is None:
                answer = self.fast_path.run(call, scope)
        except MockError as error:
            answer = self.faults.error(error)
        except Exception:  # the last resort: answer 500 and keep serving
            log.exception("unexpected error on %s %s", scope["method"], path)
            answer = self.faults.answer(500, SERVER_ERROR)
        finally:
            self.request_scope.reset(token)
        entry = self.recorder.entry(
            scope, path, query, sent, body, answer.status, ignored, operation
        )
        self.recorder.record(entry)
        return answer

    def _routed(self, scope: Scope, path: str) -> tuple[Scope, bytes, tuple[str, ...]]:
        """The scope as the API sees it (a region's prefix taken off, query parameters it does
        not define left out), the query as sent (what the journal shows), and those left out."""
        scope = self.regional.route(scope)
        if _is_control(scope["path"]):  # the control API is one, at /__mock only
            scope = {**scope, "path": path, PREFIX: ""}  # 404 from connexion, as any unknown path
        query: bytes = scope.get("query_string", b"")
        ignored = self.undefined_query.ignored(scope["method"], scope["path"], query)
        if ignored:  # answered as it would be without them: next links do not carry them
            scope = {**scope, "query_string": without(query, ignored)}
        return scope, query, ignored

    async def _dispatch(
        self,
        scope: Scope,
        headers: dict[str, str],
        body: bytes,
        receive: Receive,
        send: Send,
        gate: Answer | tuple[Operation, dict[str, str]] | None,
    ) -> None:
        """The gate's answer; else the fast path's, else connexion's."""
        if isinstance(gate, Answer):
            await respond(send, gate)
            return
        self.request_scope.set(scope)
        if gate is not None and self.fast_path is not None:
            operation, parameters = gate
            call = self.fast_path.prepare(operation.operation_id, parameters, scope, headers, body)
            if call is not None:
                await respond(send, self.fast_path.run(call, scope))
                return
        await self.app(with_length(scope, body), replay(body, receive), send)

    async def answer_from_mock(
        self, scope: Scope, headers: dict[str, str], body: bytes, receive: Receive, send: Send
    ) -> int:
        """The mock's own answer to a request the proxy could not have answered upstream
        (`--fallback-to-mock`); the status it answered."""
        scope, headers = media_type_lowered(scope, request_headers(scope))  # as __call__ does
        scope, _, ignored = self._routed(scope, scope["path"])
        status = [0]
        sending = _warning(send, ignored, status)
        try:
            await self._dispatch(
                scope, headers, body, receive, sending, self._operation_gate(scope, headers)
            )
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], sent_path(scope))
            if status[0] == 0:
                await respond(sending, self.faults.answer(500, SERVER_ERROR))
        return status[0] or 500

    async def _proxied(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        sent: dict[str, str],
        headers: dict[str, str],
    ) -> None:
        """A request to the API with an upstream: fault rules apply here, then the proxy."""
        assert self.proxy is not None
        routed = self.regional.route(scope)
        exchange: Exchange | None = None
        status = [0]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            injected = await self._injected(routed)
            if injected is not None:
                await respond(sending, injected)
            else:
                exchange = await self.proxy(scope, receive, sending, headers)
        except Exception:  # the last resort: answer 500 and keep serving
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if status[0] == 0:
                await respond(sending, self.faults.answer(500, SERVER_ERROR))
        finally:
            query: bytes = scope.get("query_string", b"")
            body = exchange.body if exchange else b""
            entry = self.recorder.entry(
                routed, scope["path"], query, masked(sent), body, status[0] or 500, ()
            )
            if exchange is None:  # a fault rule (or the last resort) answered
                entry = replace(entry, answered_by="fault" if status[0] else "proxy")
            else:
                entry = replace(
                    entry,
                    answered_by=exchange.answered_by,
                    violations=tuple(v.document() for v in exchange.violations),
                    unchecked=tuple(exchange.unchecked),
                    upstream={"status": exchange.upstream_status, "error": exchange.upstream_error},
                )
            self.recorder.record(entry)

    async def _control(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
    ) -> None:
        token = self.settings.control_token
        if token is not None and headers.get("x-mock-token") != token:
            needed = "The control API needs the X-Mock-Token header."
            await respond(send, self.faults.answer(401, needed))
            return
        limit = self.settings.control_max_body_bytes
        body, complete = await read_body(receive, headers, limit)
        if not valid_length(headers):
            await respond(send, self.faults.answer(400, _BAD_LENGTH))
            return
        if not complete:
            await respond(send, self._too_large(headers, limit))
            return
        await self.app(with_length(scope, body), replay(body, receive), send)

    async def _gate(
        self, scope: Scope, headers: dict[str, str], body: bytes, complete: bool
    ) -> Answer | tuple[Operation, dict[str, str]] | None:
        """An answer that stops the request here; or the documented operation it passed to, and
        its path parameters; or None for a request to no documented operation (connexion's)."""
        if not valid_length(headers):
            return self.faults.answer(400, _BAD_LENGTH)
        if not complete:
            return self._too_large(headers, self.settings.max_body_bytes)
        injected = await self._injected(scope)
        if injected is not None:
            return injected
        return self._operation_gate(scope, headers)

    async def _injected(self, scope: Scope) -> Answer | None:
        """The first matching fault rule's latency, then its fault (None: no fault to answer)."""
        method: str = scope["method"]
        rule = self.injector.take(method, sent_path(scope), scope[REGION])
        if rule is None:
            return None
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        if rule.status is None:
            return None
        return self.faults.answer(
            rule.status, f"Injected fault: {rule.status} for {method} {sent_path(scope)}."
        )

    def _operation_gate(
        self, scope: Scope, headers: dict[str, str]
    ) -> Answer | tuple[Operation, dict[str, str]] | None:
        """For a documented operation: the token, the rate limits and `Prefer`."""
        found = self.admission.operation(scope)
        if found is None:
            return None  # connexion answers 404 or 405
        operation, parameters = found
        try:
            stopped = self.admission.admitted(operation, headers, parameters.get("accountId", ""))
        except MockError as error:
            return self.faults.error(error)
        return stopped or found

    def _too_large(self, headers: dict[str, str], limit: int) -> Answer:
        if not is_json(headers.get("content-type", "")):
            return self.faults.answer(
                415, "The request body must be JSON (Content-Type: application/json)."
            )
        return self.faults.answer(413, f"The request body is larger than {limit} bytes.")


_BAD_LENGTH = "The Content-Length header must be one non-negative integer."


def _warning(send: Send, ignored: tuple[str, ...], status: list[int]) -> Send:
    """`send`, which adds a Warning line to the answer per query parameter ignored, and keeps
    the answer's status in `status[0]` once it starts."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
            if ignored:
                lines = [*message.get("headers", []), *map(warning, ignored)]
                message = {**message, "headers": lines}
        await send(message)

    return sending


def _is_control(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")
