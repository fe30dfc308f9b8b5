"""The one frozen settings object. Only the CLI builds it from argv and the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mockserver.resources import DEFAULT_STATE_PATH, SPEC_PATH

# A token table: token -> the accounts it holds ("*" holds every account).
TokenTable = Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8779  # Trove's own port
    spec_path: Path = SPEC_PATH
    default_state_path: Path = DEFAULT_STATE_PATH  # what /__mock/reset goes back to
    state_file: Path | None = None  # loaded at start, saved on shutdown and every save_interval
    save_interval: float | None = 30.0  # seconds between saves of state_file; None: only on exit
    quota: int = 50  # backups per account
    new_seconds: float = 1.0
    building_seconds: float = 4.0
    build_seconds: float = 5.0  # a created instance's BUILD, before it is ACTIVE
    frozen_clock: bool = False
    region: str = "DFW"  # the region this mock is (contract sections 10 and 12)
    rate_limits: bool = False
    tokens: TokenTable | None = None  # None: any non-empty token serves any account
    # A query parameter an operation does not define: 400 when strict, else ignored with a
    # Warning header, as the real service ignores it (contract section 9).
    strict_query: bool = False
    control: bool = True
    control_token: str | None = None
    log_level: str = "info"
    journal_size: int = 1000
    max_body_bytes: int = 64 * 1024
    # The control API's own limit: a PUT /__mock/state of a large state needs more than 64 KiB.
    control_max_body_bytes: int = 64 * 1024
    validate_responses: bool = True
    # Plainly valid requests to documented operations skip connexion's pipeline (fastpath.py).
    fast_path: bool = True
    # The validating proxy (proxy/): the real service's root; None: the mock answers.
    upstream: str | None = None
    upstream_ca: Path | None = None  # a CA bundle to trust for an https upstream
    upstream_timeout: float = 30.0  # seconds, for the upstream's whole answer
    on_violation: Literal["pass", "fault"] = "pass"
    fallback_to_mock: bool = False  # the mock answers what the upstream answers 501 or cannot
    junit_path: Path | None = None  # the proxy's exchanges as JUnit XML, written on exit
    # One state for many processes (mockserver/shared/): a redis:// URL; None: in memory.
    store: str | None = None
    workers: int = 1  # processes serving one port (more than one needs `store`)
