"""tests/redis_support.py: a real redis-server that keeps every acknowledged write across a
stop, or a SIGKILL, and a start again on the same port; the fixtures' emptied Redis."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis_support

# redis_url needs redis_server: a module that uses either imports both (conftest.py may instead)
from redis_support import RedisServer, redis_server, redis_url, start_redis  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own: these tests stop and kill it."""
    started = start_redis(tmp_path / "redis")
    try:
        yield started
    finally:
        started.kill()


def test_started_on_a_free_port_with_its_own_directory(server: RedisServer) -> None:
    assert server.port != 6379
    assert server.url == f"redis://127.0.0.1:{server.port}/0"
    assert server.running
    with server.client() as client:
        config = client.config_get("appendonly", "appendfsync", "dir", "port")
    assert config == {
        "appendonly": "yes",
        "appendfsync": "always",
        "dir": str(server.dir),
        "port": str(server.port),
    }


def test_stop_then_start_keeps_the_keys(server: RedisServer) -> None:
    with server.client() as client:
        assert client.set("backup:1", "COMPLETED")
    first = server.process
    server.stop()
    assert first.returncode == 0  # SIGTERM: a clean shutdown
    assert not server.running
    port = server.port
    server.start()
    assert server.process is not first
    assert server.port == port
    with server.client() as client:
        assert client.get("backup:1") == b"COMPLETED"


def test_a_key_acknowledged_before_a_kill_survives_it(server: RedisServer) -> None:
    with server.client() as client:
        assert client.set("backup:2", "NEW")
        assert client.incr("counter") == 1
    server.kill()
    assert server.process.returncode == -9
    server.start()
    with server.client() as client:
        assert client.get("backup:2") == b"NEW"
        assert client.get("counter") == b"1"
        assert client.incr("counter") == 2
    server.kill()
    server.start()
    with server.client() as client:
        assert client.get("counter") == b"2"


def test_flush_empties_it(server: RedisServer) -> None:
    with server.client() as client:
        client.set("a", "1")
        server.flush()
        assert client.dbsize() == 0


def test_a_taken_port_is_tried_once_more(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy: int = taken.getsockname()[1]
        ports = iter([busy, redis_support.free_port()])
        monkeypatch.setattr(redis_support, "free_port", lambda: next(ports))
        started = start_redis(tmp_path / "redis")
        try:
            assert started.port != busy
            with started.client() as client:
                assert client.ping()
            assert redis_support.PORT_IN_USE in started.log.read_text()
        finally:
            started.kill()


@pytest.mark.parametrize("test", ["first", "second"])
def test_each_test_starts_with_an_empty_redis(redis_url: str, test: str) -> None:  # noqa: F811
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0
        client.set(f"written-by-{test}", "1")


def test_a_fresh_url_starts_a_killed_server_again(server: RedisServer) -> None:
    with server.client() as client:
        client.set("a", "1")
    server.kill()
    assert redis_support.fresh_url(server) == server.url
    assert server.running
    with server.client() as client:
        assert client.dbsize() == 0
