"""A real Redis server for the tests of the mock's Redis store (`--store redis://...`).

The tests run Debian's `redis-server`, never a fake: what they check is consistency (writes that
Redis acknowledged survive a restart or a crash, transactions and scripts are atomic under
concurrent mocks, keys expire), which is exactly where an in-process imitation of Redis differs
from the server. Each server is started here on a free port of 127.0.0.1, with a data directory
of its own and the append-only file fsynced on every write (`--appendfsync always`), so that a
test can stop it, or kill it with SIGKILL, and start it again on the same port and directory and
find every acknowledged write. Nothing here uses port 6379 or a Redis that the package's service
may have started.

`make test` installs the package when redis-server is missing (its `redis` target); a test that
needs Redis fails, and is never skipped, when there is none.

The fixtures `redis_server` (one server a session, so one an xdist worker) and `redis_url` (that
server emptied, for one test) are imported by the test modules that need them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

HOST = "127.0.0.1"
START_TIMEOUT = 20.0  # seconds from starting redis-server to its first PING answered
STOP_TIMEOUT = 20.0  # seconds for redis-server to exit after SIGTERM before it is killed
POLL = 0.02  # seconds between two PINGs while it starts (a wait on the process: it may exit)
LOG_TAIL = 40  # lines of the server's log quoted when it does not start
PORT_IN_USE = "Address already in use"


class RedisStartError(RuntimeError):
    """redis-server exited, or did not answer a PING in time, after it was started."""

    def __init__(self, message: str, *, port_in_use: bool = False) -> None:
        super().__init__(message)
        self.port_in_use = port_in_use


def redis_server_path() -> str | None:
    """The redis-server executable on PATH, or None when it is not installed."""
    return shutil.which("redis-server")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(eq=False)
class RedisServer:
    """One redis-server process on `port`, its data (the append-only file) and log in `dir`.

    `process` is the last one started: it has exited after stop() or kill(), and start() starts a
    new one on the same port and directory, which loads the append-only file back."""

    port: int
    dir: Path
    executable: str
    process: subprocess.Popen[bytes] = field(init=False, repr=False)

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.dir / "redis.log"

    @property
    def running(self) -> bool:
        return hasattr(self, "process") and self.process.poll() is None

    def command(self) -> list[str]:
        return [
            self.executable,
            "--port", str(self.port),
            "--bind", HOST,
            "--dir", str(self.dir),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "no",
            "--logfile", str(self.log),
        ]  # fmt: skip

    def client(self) -> redis.Redis:
        """A redis-py client of this server's database 0; close it (or use it in `with`)."""
        return redis.Redis(host=HOST, port=self.port, db=0)

    def start(self) -> None:
        """Start redis-server (again) on this port and directory; return once it answers a PING
        (after loading the append-only file). Raises RedisStartError, with the log's tail, when
        it exits first or does not answer within START_TIMEOUT seconds."""
        if self.running:
            raise RuntimeError(f"redis-server on port {self.port} is already running")
        self.dir.mkdir(parents=True, exist_ok=True)
        offset = self.log.stat().st_size if self.log.exists() else 0
        # Anything it writes before it opens its log (a bad argument) goes to the log too.
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
            )
        try:
            self._wait_until_ready(offset)
        except BaseException:
            self.kill()
            raise

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it (the append-only file is flushed), then wait;
        SIGKILL if it has not exited within STOP_TIMEOUT seconds."""
        if not self.running:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL, a crash: only what was fsynced survives (with appendfsync always, every
        write Redis acknowledged)."""
        if not self.running:
            return
        self.process.kill()
        self.process.wait()

    def flush(self) -> None:
        """FLUSHALL: every database emptied, the append-only file too."""
        with self.client() as client:
            client.flushall()

    def _wait_until_ready(self, offset: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        # One attempt a PING: no retries with backoff inside redis-py, short timeouts.
        with redis.Redis(
            host=HOST,
            port=self.port,
            socket_connect_timeout=1.0,
            socket_timeout=1.0,
            retry=Retry(NoBackoff(), 0),
        ) as client:
            while True:
                try:
                    if client.ping():
                        return
                except redis.RedisError:  # refused, reset, or LOADING the append-only file
                    pass
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RedisStartError(
                        f"redis-server on port {self.port} did not answer a PING within"
                        f" {START_TIMEOUT:g} s\n{self._log_tail(offset)}"
                    )
                try:
                    code = self.process.wait(timeout=min(POLL, remaining))
                except subprocess.TimeoutExpired:
                    continue
                tail = self._log_tail(offset)
                raise RedisStartError(
                    f"redis-server on port {self.port} exited with code {code} while it"
                    f" started\n{tail}",
                    port_in_use=PORT_IN_USE in tail,
                )

    def _log_tail(self, offset: int) -> str:
        """The last lines this start wrote to the log (the file keeps the earlier starts')."""
        try:
            with self.log.open("rb") as log:
                log.seek(offset)
                text = log.read().decode("utf-8", "replace")
        except OSError as error:
            return f"({self.log}: {error})"
        lines = text.splitlines()[-LOG_TAIL:]
        return f"{self.log}, its last {len(lines)} lines:\n" + "\n".join(lines)


def start_redis(directory: Path) -> RedisServer:
    """Start redis-server on a free port of 127.0.0.1 with its data and log in `directory`;
    return once it answers a PING. Another free port is tried once when the first one was taken
    between choosing it and redis-server binding it."""
    executable = redis_server_path()
    if executable is None:
        raise FileNotFoundError(
            "redis-server is not on PATH; `make test` installs Debian's package"
            " (as root: apt-get install -y redis-server)"
        )
    directory = Path(os.path.abspath(directory))
    for attempt in range(2):
        server = RedisServer(port=free_port(), dir=directory, executable=executable)
        try:
            server.start()
        except RedisStartError as error:
            if error.port_in_use and attempt == 0:
                continue
            raise
        return server
    raise AssertionError("unreachable")


def fresh_url(server: RedisServer) -> str:
    """The server emptied (FLUSHALL), started again first when it was stopped or killed."""
    if not server.running:
        server.start()
    server.flush()
    return server.url


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session (each xdist worker is a session of its own), stopped at
    its end. Fails, never skips, when redis-server is not installed."""
    if redis_server_path() is None:
        pytest.fail(
            "redis-server is not on PATH: `make test` installs Debian's redis-server when it is"
            " missing (or, as root: apt-get install -y redis-server)",
            pytrace=False,
        )
    server = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The session's Redis emptied (FLUSHALL) for this test, started again first when an earlier
    test stopped or killed it; its URL, redis://127.0.0.1:PORT/0."""
    yield fresh_url(redis_server)
