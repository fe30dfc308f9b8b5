"""Server processes: started on a free port, timed to their first answer, measured, stopped."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STARTUP_TIMEOUT = 60.0


class ServerError(Exception):
    """A server did not start, or died."""


@dataclass
class Server:
    name: str
    kind: str  # "ours" or "prism": which statuses are the right answers (see workloads); "redis"
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    startup_s: float  # from spawn to the first HTTP answer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        return _status_kb(self.process.pid, "VmRSS") / 1024

    def peak_rss_mb(self) -> float:
        return _status_kb(self.process.pid, "VmHWM") / 1024

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise ServerError(f"{self.name} exited ({self.process.returncode}); see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start(
    name: str,
    kind: str,
    command: list[str],
    port: int,
    log: Path,
    answers: Callable[[int], bool] | None = None,
) -> Server:
    """Spawn `command` and wait for its first answer to GET / (the versions document); or, with
    `answers`, until it says the server on the port answers (a server that speaks no HTTP)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    deadline = began + STARTUP_TIMEOUT
    while True:
        if (answers or _answers)(port):
            startup = time.perf_counter() - began
            return Server(name, kind, port, process, log, startup)
        if process.poll() is not None or time.perf_counter() > deadline:
            process.kill()
            tail = log.read_text(errors="replace")[-2000:]
            raise ServerError(f"{name} did not start ({' '.join(command)}):\n{tail}")
        time.sleep(0.005)


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
        return True
    except OSError:
        return False
    finally:
        connection.close()


def _status_kb(pid: int, field: str) -> int:
    # /proc/<pid>/status: VmRSS is the resident set now, VmHWM its peak ("high water mark").
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise ServerError(f"no {field} for process {pid}")
