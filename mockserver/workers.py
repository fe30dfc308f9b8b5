"""`--workers N`: N processes serving one port, which share one state through `--store`.

The parent binds the port once and hands the socket to each worker, as uvicorn's own workers
do; the kernel spreads the connections among them. A worker that dies (killed, crashed) is
started again, so the port keeps N; SIGINT or SIGTERM stops them all gracefully. Written here
rather than through uvicorn's `--workers` because that one imports the app from a string in
each worker, while ours is built from the one frozen `Settings` the CLI made.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess

from mockserver.settings import Settings

log = logging.getLogger("mockserver")
Worker = Callable[[Settings, socket.socket], None]
WATCH_SECONDS = 0.5  # how often the parent looks for a worker that died
STOP_SECONDS = 15.0  # a worker's graceful stop, before it is killed


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run(settings: Settings, worker: Worker) -> int:
    """Serve with `settings.workers` processes, each running `worker`, until stopped."""
    sock = bind(settings.host, settings.port)
    context = multiprocessing.get_context("spawn")
    stop = threading.Event()
    for captured in (signal.SIGINT, signal.SIGTERM):
        signal.signal(captured, lambda *_: stop.set())

    def start(number: int) -> BaseProcess:
        process = context.Process(
            target=worker, args=(settings, sock), name=f"mockserver-worker-{number}"
        )
        process.start()
        return process

    processes = [start(number) for number in range(settings.workers)]
    log.info(
        "mockserver: %d workers on %s:%d, one state in %s",
        settings.workers,
        settings.host,
        sock.getsockname()[1],
        settings.store,
    )
    while not stop.wait(WATCH_SECONDS):
        for number, process in enumerate(processes):
            if not process.is_alive():
                log.warning(
                    "worker %d (pid %s) ended with %s; starting it again",
                    number,
                    process.pid,
                    process.exitcode,
                )
                processes[number] = start(number)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
            process.join()
    sock.close()
    return 0
