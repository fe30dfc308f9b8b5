"""The proxy: a request passed on to the upstream, its answer passed back, both checked.

The answer reaches the client as the upstream sent it (status, headers, body bytes in their
content coding), with one header added: `X-Contract-Violations`, the number of violations found
in the exchange. To count them before the head is sent, the proxy holds a body until it ends,
up to HOLD bytes (every answer this API documents is far smaller); a longer body is streamed on
as it arrives, and the journal says its body was not checked. Requests are held the same way.

With `--on-violation fault`, a violating exchange is answered with a fault naming the
violations (400 when the request broke the contract, else 500); the upstream has still received
the request. With `--fallback-to-mock`, the mock's own pipeline answers what the upstream
answers 501 or cannot answer. An upstream that cannot answer otherwise is a 503
`serviceUnavailable` from the proxy, whose message says why: the status every operation
documents for a service that is not there.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from mockserver.asgi import Message, Receive, Scope, Send
from mockserver.proxy.checker import ExchangeChecker, Violation
from mockserver.proxy.upstream import (
    HOP_BY_HOP,
    Upstream,
    UpstreamAnswer,
    UpstreamError,
    upstream_error,
)
from mockserver.proxy.verdicts import Verdicts
from mockserver.spec import Operation

# The mock's own answer to a request whose body was read whole; returns the status it answered.
Fallback = Callable[[Scope, dict[str, str], bytes, Receive, Send], Awaitable[int]]
# The fault body of a status: (status, message, details) -> JSON bytes.
FaultBody = Callable[[int, str, "str | None"], bytes]

HOLD = 1024 * 1024
# Answers that carry no Content-Length of their own body (RFC 9110, 8.6): none is added.
_NO_CONTENT = frozenset({100, 101, 102, 103, 204, 304})
COUNT_HEADER = "x-contract-violations"
log = logging.getLogger("mockserver.proxy")


@dataclass
class Exchange:
    """What the journal records of a proxied request."""

    answered_by: str  # "upstream", "mock" (the fallback) or "proxy" (its own fault)
    status: int = 0
    body: bytes = b""  # the request body, as far as it was held
    operation: Operation | None = None
    violations: list[Violation] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # what could not be checked, and why
    upstream_status: int | None = None
    upstream_error: str | None = None
    token_sent: bool = True  # False: the request lacked the token its operation needs


class Proxy:
    def __init__(
        self,
        upstream: Upstream,
        checker: ExchangeChecker,
        verdicts: Verdicts,
        fault_body: FaultBody,
        now: Callable[[], float],
        *,
        on_violation: str = "pass",
        fallback: Fallback | None = None,
    ) -> None:
        self.upstream = upstream
        self.checker = checker
        self.verdicts = verdicts
        self._fault_body = fault_body
        self._now = now
        self._fault_on_violation = on_violation == "fault"
        self._fallback = fallback

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
    ) -> Exchange:
        method: str = scope["method"]
        path: str = scope["path"]
        query: bytes = scope.get("query_string", b"")
        exchange = Exchange("upstream")
        held, more = await _hold_request(receive)
        exchange.body = held
        if more:
            exchange.unchecked.append(f"request body: over {HOLD} bytes, passed on unchecked")
        operation, violations = self.checker.request(
            method, path, query, headers, None if more else held
        )
        exchange.operation = operation
        exchange.violations += violations
        exchange.token_sent = not any(v.rule == "request-token-missing" for v in violations)
        content: bytes | AsyncIterator[bytes] = _chain(held, receive) if more else held
        response: UpstreamAnswer | None = None
        try:
            async with asyncio.timeout(self.upstream.settings.timeout):
                response = await self.upstream.open(
                    method, scope.get("raw_path") or path.encode(), query, scope["headers"], content
                )
                chunks, rest = await _hold_answer(response)
        except asyncio.CancelledError:  # the server stops: the connection goes with it
            if response is not None:
                response.close()
            raise
        except (UpstreamError, TimeoutError) as error:
            if response is not None:  # it broke off mid-body: its connection is not reused
                response.close()
            problem = upstream_error(error, self.upstream.settings.timeout)
            exchange.upstream_error = f"{problem.kind}: {problem.message}"
            if self._fallback is not None and not more:
                await self._by_mock(exchange, scope, headers, receive, send)
            else:
                await self._own_fault(exchange, send, problem)
            return self._recorded(exchange, method, path)
        exchange.upstream_status = response.status
        if response.status == 501 and self._fallback is not None and not more:
            response.close()
            await self._by_mock(exchange, scope, headers, receive, send)
            return self._recorded(exchange, method, path)
        try:
            await self._pass_on(exchange, response, chunks, rest, send)
        except UpstreamError as error:
            # A streamed answer broke off: the client's ends short, its connection closed (the
            # server closes a connection whose answer did not end).
            problem = upstream_error(error, self.upstream.settings.timeout)
            exchange.upstream_error = f"{problem.kind}: {problem.message}"
            log.warning("%s %s: the upstream's answer broke off: %s", method, path, problem.message)
        finally:
            response.close()
        return self._recorded(exchange, method, path)

    async def _pass_on(
        self,
        exchange: Exchange,
        response: UpstreamAnswer,
        chunks: list[bytes],
        rest: AsyncIterator[bytes] | None,
        send: Send,
    ) -> None:
        exchange.status = response.status
        answer_headers = response.headers
        raw = b"".join(chunks)
        if rest is None:
            decoded, reason = _decoded(raw, answer_headers.get("content-encoding", ""))
            if decoded is None:
                exchange.unchecked.append(f"answer body: {reason}")
            else:
                exchange.violations += self.checker.answer(
                    exchange.operation,
                    response.status,
                    answer_headers,
                    decoded,
                    token_sent=exchange.token_sent,
                )
        else:
            exchange.unchecked.append(f"answer body: over {HOLD} bytes, streamed unchecked")
            exchange.violations += self.checker.answer(  # its head only
                exchange.operation,
                response.status,
                answer_headers,
                None,
                token_sent=exchange.token_sent,
            )
        count = len(exchange.violations)
        if count and self._fault_on_violation and rest is None:
            exchange.answered_by = "proxy"
            exchange.status = 400 if _request_broken(exchange.violations) else 500
            await _answer(send, exchange.status, self._violations_fault(exchange), count)
            return
        lines = [
            (name, value)
            for name, value in response.raw_headers
            if name.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        if (
            rest is None
            and exchange.status not in _NO_CONTENT
            and b"content-length" not in {n.lower() for n, _ in lines}
        ):
            lines.append((b"content-length", str(len(raw)).encode()))
        lines.append((COUNT_HEADER.encode(), str(count).encode()))
        await send({"type": "http.response.start", "status": exchange.status, "headers": lines})
        if rest is None:
            await send({"type": "http.response.body", "body": raw})
            return
        await send({"type": "http.response.body", "body": raw, "more_body": True})
        async for chunk in rest:  # an upstream that stops now leaves the client a short body
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _by_mock(
        self,
        exchange: Exchange,
        scope: Scope,
        headers: dict[str, str],
        receive: Receive,
        send: Send,
    ) -> None:
        exchange.answered_by = "mock"
        count = str(len(exchange.violations)).encode()

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                lines = [*message.get("headers", []), (COUNT_HEADER.encode(), count)]
                message = {**message, "headers": lines}
            await send(message)

        assert self._fallback is not None
        exchange.status = await self._fallback(scope, headers, exchange.body, receive, counted)

    async def _own_fault(self, exchange: Exchange, send: Send, problem: UpstreamError) -> None:
        exchange.answered_by = "proxy"
        exchange.status = 503
        message = f"The upstream {self.upstream.url} could not answer ({problem.kind})."
        body = self._fault_body(503, message, problem.message)
        await _answer(send, 503, body, len(exchange.violations))

    def _violations_fault(self, exchange: Exchange) -> bytes:
        count = len(exchange.violations)
        message = (
            f"The exchange breaks the contract ({count} violation{'s' if count > 1 else ''};"
            f" the upstream answered {exchange.upstream_status}); see GET /__mock/violations."
        )
        details = "; ".join(f"{v.rule}: {v.message}" for v in exchange.violations)
        return self._fault_body(exchange.status, message, details)

    def _recorded(self, exchange: Exchange, method: str, path: str) -> Exchange:
        operation = exchange.operation
        for violation in exchange.violations:  # one line each, whatever the mode
            log.warning(
                "contract violation: %s %s -> %s: %s: %s",
                method,
                path,
                exchange.upstream_status or exchange.status,
                violation.rule,
                violation.message,
            )
        self.verdicts.record(
            operation.operation_id if operation else None,
            method,
            operation.path if operation else path,
            path,
            exchange.upstream_status or exchange.status,
            exchange.violations,
            self._now(),
            exchange.upstream_error,
        )
        return exchange


def _request_broken(violations: list[Violation]) -> bool:
    return any(violation.rule.startswith("request-") for violation in violations)


async def _hold_request(receive: Receive) -> tuple[bytes, bool]:
    """The request body up to HOLD bytes, and whether more of it is still to be received."""
    chunks: list[bytes] = []
    size = 0
    while size <= HOLD:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False
    return b"".join(chunks), size > HOLD


async def _chain(held: bytes, receive: Receive) -> AsyncIterator[bytes]:
    yield held
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


async def _hold_answer(response: UpstreamAnswer) -> tuple[list[bytes], AsyncIterator[bytes] | None]:
    """The answer's raw body when it ends within HOLD bytes (rest None); else its first part and
    an iterator over the rest."""
    chunks: list[bytes] = []
    size = 0
    raw = response.chunks()
    async for chunk in raw:
        chunks.append(chunk)
        size += len(chunk)
        if size > HOLD:
            return chunks, raw
    return chunks, None


def _decoded(raw: bytes, coding: str) -> tuple[bytes | None, str]:
    """The body without its content coding, or None and why it cannot be."""
    codings = [c.strip().lower() for c in coding.split(",") if c.strip()]
    body = raw
    for name in reversed(codings):
        try:
            if name in ("gzip", "x-gzip"):
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            elif name == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some send
            elif name != "identity":
                return None, f"content coding {name} is not one the proxy decodes"
        except zlib.error as error:
            return None, f"not valid {name}: {error}"
    return body, ""


async def _answer(send: Send, status: int, body: bytes, count: int) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (COUNT_HEADER.encode(), str(count).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
