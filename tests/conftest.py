"""Fixtures shared by the API tests: a fresh mock per test, on a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mockserver import Settings, create_app
from mockserver.app import Mock


@pytest.fixture
def mock() -> Mock:
    """A fresh mock with the fixture state; its clock moves only when a test advances it."""
    return create_app(Settings(frozen_clock=True))


@pytest.fixture
def client(mock: Mock) -> Iterator[TestClient]:
    with TestClient(mock) as client:
        yield client
