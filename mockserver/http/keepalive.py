"""uvicorn's HTTP/1.1 protocol with one keep-alive timer a connection (see KeepAlive)."""

from __future__ import annotations

from asyncio import TimerHandle

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class KeepAlive(HttpToolsProtocol):
    """uvicorn's protocol, whose kept-alive connection is closed as uvicorn closes it (after
    `timeout_keep_alive` seconds with no request), by one timer that is moved on when it falls
    due, instead of a timer armed after every answer and cancelled by the next request.

    A cancelled timer stays in the event loop's queue until it falls due or the loop sweeps the
    queue, long enough to outlive two young collections: each request's reached the collector's
    oldest generation, and those arrivals are what set off a full collection. With 100,000
    backups one took 35 ms, every 14 s of a steady list at one connection (gc.callbacks); with
    this timer, none did in 48 s. It also spares each request a timer's cost.
    """

    _idle_since: float | None = None  # the loop's time of the last answer; None while busy

    def data_received(self, data: bytes) -> None:
        self._idle_since = None  # a request is coming: not idle (uvicorn cancels its timer)
        super().data_received(data)

    def _unset_keepalive_if_required(self) -> None:
        """uvicorn cancels the timer here on every request; this one stays, see `_due`."""

    def on_response_complete(self) -> None:
        # uvicorn's, except for the timer: the next pipelined request, or the connection idle.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self._arm(self._idle_since + self.timeout_keep_alive)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._disarm()

    def _arm(self, when: float) -> None:
        self.timeout_keep_alive_task = self.loop.call_at(when, self._due)

    def _disarm(self) -> None:
        task: TimerHandle | None = self.timeout_keep_alive_task
        if task is not None:
            task.cancel()
            self.timeout_keep_alive_task = None

    def _due(self) -> None:
        self.timeout_keep_alive_task = None
        if self._idle_since is None:
            return  # a request is in progress: its answer arms the timer again
        due = self._idle_since + self.timeout_keep_alive
        if self.loop.time() >= due:
            self.timeout_keep_alive_handler()
        else:
            self._arm(due)
