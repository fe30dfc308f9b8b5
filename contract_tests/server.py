"""An ASGI app served over HTTP on a free local port, in a thread of this process.

The suite talks HTTP to every target, so the in-process mock (and the broken variants the
project's own tests build) are served the same way a real service is reached.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class Server:
    def __init__(self, app: Any, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        config = uvicorn.Config(
            app, host=host, port=0, log_level="error", lifespan="off", ws="none"
        )
        self._server = uvicorn.Server(config)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, 0))
        port = self._socket.getsockname()[1]
        self.url = f"http://{host}:{port}"
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

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._socket.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
