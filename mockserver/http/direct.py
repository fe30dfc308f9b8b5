"""Answers the protocol gives itself: a request the gateway can answer at once is answered from
the parser's callback, without uvicorn's ASGI cycle.

uvicorn runs every request as a task: a coroutine for the app, an ASGI scope passed through its
proxy-headers middleware, `receive` for the body and two `send` messages for the answer, each
awaited. For a request the fast path answers whole (`Gateway.answer_now`), none of that waits
for anything: profiled under 50 connections (py-spy, the show), the cycle was about a fifth of
the samples of a request, and without it the show served 75% more requests a second (12,200 to
21,300, side by side). Here, once the request is whole, the gateway is asked for its answer and
the answer is written; when it has none (the control API, the proxy, connexion, a fault rule
armed), the request goes on to the ASGI cycle as it would have, having lost nothing.

uvicorn still parses the request and builds its scope and its cycle (the state of the exchange
that keep-alive, pipelining and shutdown read), so that what the gateway sees is what an ASGI
app would see. Left to the ASGI cycle, always:
- a request whose body is not whole in memory by the end of its message: one sent chunked, or
  declaring more than uvicorn buffers before it pauses reading (HIGH_WATER_LIMIT);
- `Expect: 100-continue` (the cycle answers the interim 100), HEAD, and a request with
  `X-Forwarded-For` or `X-Forwarded-Proto` (uvicorn's middleware rewrites its scope);
- a request uvicorn answers itself (503 over `--limit-concurrency`);
- a request read while the client is not reading its answers (the transport paused writing).

An answer is written as uvicorn writes the gateway's (`respond`): its default headers, the
answer's, its length; the gateway's answers carry no `connection` header, which only uvicorn
reads, and no header value that it would refuse. Writes go through CoalescingTransport, held to
the end of the event loop's step: written at once, each answer woke wrk while the others were
read, and a show served 30% fewer requests a second (21,300 to 14,800, side by side).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from mockserver.asgi import Scope
from mockserver.http.answer import Answer
from mockserver.http.keepalive import KeepAlive

AnswerNow = Callable[[Scope, bytes], Answer | None]
log = logging.getLogger("mockserver")

# Request headers that leave a request to the ASGI cycle (see the module's docstring).
_TO_THE_CYCLE = frozenset({b"transfer-encoding", b"x-forwarded-for", b"x-forwarded-proto"})


class Direct(KeepAlive):
    """uvicorn's protocol (with KeepAlive's timer), which answers at once what `answer_now`
    answers. `answer_now` is set on the class (`protocol_class`); None turns this off."""

    answer_now: AnswerNow | None = None
    # The request being read whose answer will be given at once, if `answer_now` has one.
    _held: tuple[RequestResponseCycle, ASGI3Application] | None = None
    # Whether on_response_complete is running, and whether an answer completed within it.
    _completing = False
    _completed_again = False

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        # uvicorn calls this once a request's head is parsed (or, pipelined, once the request
        # before it is answered): the moment it would start the app. While the client does not
        # read its answers (the transport paused writing), they go to the ASGI cycle, which
        # waits for the transport to drain, and the requests behind it wait for it.
        if (
            self.answer_now is None
            or app is not self.app
            or self.flow.write_paused
            or not _whole_in_memory(cycle)
        ):
            super()._start_asgi_task(cycle, app)
        elif cycle.more_body:
            self._held = (cycle, app)  # its body is still to come: see on_message_complete
        else:
            self._answer(cycle, app)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        held = self._held
        if held is not None and held[0] is self.cycle:
            self._held = None
            self._answer(*held)

    def on_response_complete(self) -> None:
        # Each completion starts the next pipelined request, which a direct answer completes
        # at once: in a loop here, not by recursion (250 pipelined requests behind a slow one
        # reached Python's recursion limit).
        if self._completing:
            self._completed_again = True
            return
        self._completing = True
        try:
            self._completed_again = True
            while self._completed_again:
                self._completed_again = False
                super().on_response_complete()
        finally:
            self._completing = False

    def connection_lost(self, exc: Exception | None) -> None:
        self._held = None
        super().connection_lost(exc)

    def _answer(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        assert self.answer_now is not None
        try:
            answer = self.answer_now(cast(Scope, cycle.scope), bytes(cycle.body))
        except Exception:  # the gateway's last resort failed too: the ASGI cycle answers
            log.exception("the direct answer failed; the ASGI pipeline answers instead")
            answer = None
        if answer is None:
            super()._start_asgi_task(cycle, app)
        else:
            self._send(cycle, answer)

    def _send(self, cycle: RequestResponseCycle, answer: Answer) -> None:
        """The answer, written as uvicorn's cycle writes the `respond` of the gateway: its
        default headers first (server, date), then the answer's, its length, and `connection:
        close` when the connection is not kept."""
        scope = cycle.scope
        if self.access_log:
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(scope),
                scope["method"],
                get_path_with_query_string(scope),
                scope["http_version"],
                answer.status,
            )
        content = [STATUS_LINE[answer.status]]
        for name, value in self.server_state.default_headers:
            content.extend((name, b": ", value, b"\r\n"))
        for key, text in answer.headers.items():
            content.extend((key.encode("latin-1"), b": ", text.encode("latin-1"), b"\r\n"))
        content.append(b"content-length: %d\r\n" % len(answer.body))
        if not cycle.keep_alive:
            content.append(b"connection: close\r\n")
        content.extend((b"\r\n", answer.body))
        cycle.response_started = cycle.response_complete = True
        self.transport.write(b"".join(content))
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()


def _whole_in_memory(cycle: RequestResponseCycle) -> bool:
    """Whether the request's body will be whole in memory at the end of its message, and
    nothing else leaves it to the ASGI cycle (see the module's docstring)."""
    if cycle.waiting_for_100_continue or cycle.scope["method"] == "HEAD":
        return False
    for name, value in cycle.scope["headers"]:
        if name in _TO_THE_CYCLE:
            return False
        if name == b"content-length" and not (value.isdigit() and int(value) <= HIGH_WATER_LIMIT):
            return False
    return True
