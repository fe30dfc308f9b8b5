"""An ASGI app served by uvicorn in a daemon thread of this process, on a free loopback port.

The pytest plugin serves its mocks this way, and contract_tests its in-process target (and the
project's tests their broken variants), so that they are reached over real HTTP.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn


class ThreadedServer:
    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        *,
        log_level: str = "error",
        graceful_timeout: int | None = 2,
        timeout: float = 30.0,
        default_headers: bool = True,  # uvicorn's Server and Date (a proxy passes the upstream's)
        lifespan: bool = False,  # a proxy closes its upstream connections at shutdown
        http: type[asyncio.Protocol] | str = "auto",  # a mock's own: `Mock.protocol()`
    ) -> None:
        # The socket is bound here, so the URL is known before the server thread starts.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        bound_host, port = self._socket.getsockname()[:2]
        self.url = f"http://{bound_host}:{port}"
        config = uvicorn.Config(
            app,
            log_config=None,  # leave logging to whoever runs this process (pytest, a CLI)
            log_level=log_level,
            lifespan="on" if lifespan else "off",
            ws="none",
            http=http,
            timeout_graceful_shutdown=graceful_timeout,
            server_header=default_headers,
            date_header=default_headers,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the in-process server on {self.url} did not start")
            time.sleep(0.01)

    def stop(self, wait: bool = True) -> None:
        """Ask the server to stop; with `wait`, wait until it has (see `join`)."""
        self._server.should_exit = True
        if wait:
            self.join()

    def join(self) -> None:
        self._thread.join(10)
        self._socket.close()

    def __enter__(self) -> ThreadedServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
