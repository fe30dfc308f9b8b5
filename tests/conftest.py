"""Fixtures shared by the API tests: a fresh mock per test, on a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis_support import fresh_url, redis_server, redis_url  # noqa: F401
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.app import Mock


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> str | None:
    """Where the mock keeps its state: in memory, or in a real Redis emptied for the test (the
    same suite runs against both; see README, "One state for many processes")."""
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture(scope="module", params=["memory", "redis"])
def module_store(request: pytest.FixtureRequest) -> str | None:
    """`store`, for a module's one mock (reset before each test): a Redis emptied for the
    module."""
    if request.param == "memory":
        return None
    return fresh_url(request.getfixturevalue("redis_server"))


@pytest.fixture
def mock(store: str | None) -> Mock:
    """A fresh mock with the fixture state; its clock moves only when a test advances it."""
    return create_app(Settings(frozen_clock=True, store=store))


@pytest.fixture
def client(mock: Mock) -> Iterator[TestClient]:
    with TestClient(mock) as client:
        yield client
