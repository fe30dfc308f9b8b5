"""A validating proxy (`mockserver --upstream`) served in this process, in front of any URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mockserver import Settings, create_app
from mockserver.app import Mock
from mockserver.plugin.threaded import ThreadedServer


@contextmanager
def serving_proxy(upstream: str, **settings: Any) -> Iterator[tuple[Mock, str]]:
    """The proxy's mock and its URL; its upstream connections closed when it stops."""
    values: dict[str, Any] = {"frozen_clock": True, "upstream": upstream, **settings}
    mock = create_app(Settings(**values))
    with ThreadedServer(mock, default_headers=False, lifespan=True) as server:
        yield mock, server.url
