"""The `mockserver` command: the only place that reads argv, the environment and the files
named on the command line. Every option can also come from `MOCKSERVER_<OPTION>`."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import uvicorn

from mockserver.app import Mock, create_app
from mockserver.http.transport import protocol_class
from mockserver.http.validation import state_violations
from mockserver.settings import Settings, TokenTable
from mockserver.spec import Spec
from mockserver.state.errors import BadRequest
from mockserver.state.persistence import StateFile, StateFileError, load_state_file

log = logging.getLogger("mockserver")
ENV_PREFIX = "MOCKSERVER_"
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class UsageError(Exception):
    """A bad option value or option file: reported in one line, exit status 2."""


def parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    def env(name: str, default: Any) -> Any:
        return environ.get(ENV_PREFIX + name.upper().replace("-", "_"), default)

    def flag(name: str) -> bool:
        value = env(name, "").strip().lower()
        if value not in TRUE | FALSE:
            raise UsageError(f"{ENV_PREFIX}{name.upper().replace('-', '_')}={value!r}: use 1 or 0")
        return value in TRUE

    p = argparse.ArgumentParser(
        prog="mockserver",
        description="A stateful mock of the Rackspace Cloud Databases backups API v1.0.",
        epilog="Every option can also be set as MOCKSERVER_<OPTION>, e.g. MOCKSERVER_PORT=9000.",
    )
    p.add_argument("--host", default=env("host", "127.0.0.1"), help="address to listen on")
    p.add_argument("--port", type=int, default=env("port", 8779), help="port (default 8779)")
    p.add_argument(
        "--state-file",
        type=Path,
        default=env("state_file", None),
        metavar="PATH",
        help="load the state from PATH at start; save it there on exit and periodically",
    )
    p.add_argument(
        "--save-interval",
        type=float,
        default=env("save_interval", 5.0),
        metavar="S",
        help="seconds between saves of --state-file when it changed (0: only on exit)",
    )
    p.add_argument("--quota", type=int, default=env("quota", 50), help="backups per account")
    p.add_argument("--new-seconds", type=float, default=env("new_seconds", 1.0), metavar="S")
    p.add_argument(
        "--building-seconds", type=float, default=env("building_seconds", 4.0), metavar="S"
    )
    p.add_argument(
        "--build-seconds",
        type=float,
        default=env("build_seconds", 5.0),
        metavar="S",
        help="seconds a created (or restored) instance stays in BUILD before it is ACTIVE",
    )
    p.add_argument(
        "--frozen-clock",
        action="store_true",
        default=flag("frozen_clock"),
        help="time moves only through POST /__mock/clock",
    )
    p.add_argument(
        "--rate-limits",
        action="store_true",
        default=flag("rate_limits"),
        help="enforce the documented rate limits (413 with Retry-After)",
    )
    p.add_argument(
        "--tokens",
        type=Path,
        default=env("tokens", None),
        metavar="PATH",
        help='token table: JSON {"<token>": ["<account>", ...]} ("*": every account)',
    )
    p.add_argument(
        "--region",
        type=str.upper,
        default=env("region", "DFW"),
        metavar="R",
        help=(
            "the mock's own region, served at /v1.0 with the default state: DFW (default), IAD,"
            " ORD, LON, HKG or SYD (every region is served under /<code>/v1.0)"
        ),
    )
    p.add_argument(
        "--strict-query",
        action="store_true",
        default=flag("strict_query"),
        help="a query parameter the operation does not define is 400 (default: ignored, with a"
        " Warning header, as the real service ignores it)",
    )
    p.add_argument(
        "--no-control",
        action="store_true",
        default=flag("no_control"),
        help="turn the control API (/__mock) off",
    )
    p.add_argument(
        "--control-token",
        default=env("control_token", None),
        metavar="T",
        help="require X-Mock-Token: T on the control API",
    )
    p.add_argument("--journal-size", type=int, default=env("journal_size", 1000), metavar="N")
    p.add_argument(
        "--control-max-body-bytes",
        type=int,
        default=env("control_max_body_bytes", 64 * 1024),
        metavar="N",
        help="largest request body of the control API (default 65536; the API's own stays 64 KiB)",
    )
    p.add_argument(
        "--no-response-validation",
        action="store_true",
        default=flag("no_response_validation"),
        help="skip checking responses against the spec (faster; for benchmarks)",
    )
    p.add_argument(
        "--no-fast-path",
        action="store_true",
        default=flag("no_fast_path"),
        help="send every request through connexion's pipeline (slower; to rule the fast path out)",
    )
    p.add_argument(
        "--log-level",
        default=env("log_level", "info"),
        choices=["critical", "error", "warning", "info", "debug"],
    )
    return p


def settings_from(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Settings:
    args = parser(environ).parse_args(argv)
    for name in ("quota", "journal_size", "control_max_body_bytes"):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("new_seconds", "building_seconds", "build_seconds", "save_interval"):
        if not getattr(args, name) >= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be a number >= 0")
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be between 0 and 65535")
    return Settings(
        host=args.host,
        port=args.port,
        state_file=args.state_file,
        save_interval=args.save_interval or None,
        quota=args.quota,
        new_seconds=args.new_seconds,
        building_seconds=args.building_seconds,
        build_seconds=args.build_seconds,
        frozen_clock=args.frozen_clock,
        region=args.region,
        rate_limits=args.rate_limits,
        tokens=read_tokens(args.tokens) if args.tokens else None,
        strict_query=args.strict_query,
        control=not args.no_control,
        control_token=args.control_token or None,
        log_level=args.log_level,
        journal_size=args.journal_size,
        control_max_body_bytes=args.control_max_body_bytes,
        validate_responses=not args.no_response_validation,
        fast_path=not args.no_fast_path,
    )


def read_tokens(path: Path) -> TokenTable:
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UsageError(f"--tokens {path}: {error}") from error
    valid = isinstance(table, dict) and all(
        isinstance(token, str)
        and token
        and isinstance(accounts, list)
        and all(isinstance(a, str) and a for a in accounts)
        for token, accounts in table.items()
    )
    if not valid:
        raise UsageError(f'--tokens {path}: expected {{"<token>": ["<account>", ...]}}')
    return {token: frozenset(accounts) for token, accounts in table.items()}


def build(settings: Settings) -> Mock:
    spec = Spec.load(settings.spec_path)
    if settings.region not in spec.regions:
        raise UsageError(
            f"--region {settings.region}: not a region of the spec ({', '.join(spec.regions)})"
        )
    state = load_state_file(settings.state_file) if settings.state_file else None
    if state is not None:
        violations = state_violations(state, spec.document)
        if violations:
            raise StateFileError(
                f"state file {settings.state_file} is not a valid state document"
                f" ({len(violations)} violation(s): {'; '.join(violations[:5])}); it was left as it"
                " is: fix it, move it away, or start without --state-file"
            )
    try:
        return create_app(settings, state=state)
    except BadRequest as error:
        raise StateFileError(f"state file {settings.state_file}: {error.message}") from error


async def serve(settings: Settings, mock: Mock) -> None:
    config = uvicorn.Config(
        mock,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        lifespan="on",
        timeout_graceful_shutdown=10,
        http=protocol_class(mock.gateway.faults),
    )
    server = uvicorn.Server(config)
    state_file = (
        None
        if settings.state_file is None
        else StateFile(settings.state_file, mock.regions.snapshot)
    )
    saver = None
    if state_file is not None and settings.save_interval:
        saver = asyncio.create_task(save_periodically(mock, state_file, settings.save_interval))
    announcer = asyncio.create_task(announce_when_started(server, settings))
    freezer = asyncio.create_task(freeze_when_started(server))
    try:
        await server.serve()
    finally:
        announcer.cancel()
        freezer.cancel()
        if saver is not None:
            saver.cancel()  # a save it started still finishes: StateFile orders the two
        if state_file is not None:
            state_file.save()
            log.info("state saved to %s", state_file.path)


async def save_periodically(mock: Mock, state_file: StateFile, interval: float) -> None:
    saved = mock.regions.revision
    while True:
        await asyncio.sleep(interval)
        revision = mock.regions.revision
        if revision != saved:
            try:
                await asyncio.to_thread(state_file.save)
            except OSError:  # keep serving, and try again at the next interval
                log.exception("cannot save the state to %s", state_file.path)
            else:
                saved = revision


async def announce_when_started(server: uvicorn.Server, settings: Settings) -> None:
    """Say where the mock listens, with the port really bound (--port 0 picks a free one)."""
    while not server.started:
        await asyncio.sleep(0.01)
    port = settings.port
    for listener in server.servers:
        for sock in listener.sockets:
            port = sock.getsockname()[1]
    base = f"http://{settings.host}:{port}"
    control = f"{base}/__mock" if settings.control else "off"
    log.info(
        "mockserver listening on %s — API %s/v1.0/<account>, spec %s/openapi.json and"
        " %s/openapi.yaml, docs %s/ui/, control API %s",
        base,
        base,
        base,
        base,
        base,
        control,
    )


async def freeze_when_started(server: uvicorn.Server) -> None:
    """Once serving, hide every object made so far from the garbage collector (gc.freeze).

    The specs, the app and the middleware connexion builds at start-up are tens of thousands
    of objects that live as long as the process; each full collection walked them all, about
    40 ms during which no request was answered (profiled under load: the p99 latency).
    """
    while not server.started:
        await asyncio.sleep(0.01)
    gc.freeze()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = settings_from(argv, os.environ)
        logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s: %(message)s")
        mock = build(settings)
    except (UsageError, StateFileError) as error:
        print(f"mockserver: error: {error}", file=sys.stderr)
        return 2
    # uvicorn re-raises the signal that stopped it once it has shut down; these handlers take
    # it, so that the state is saved and the process exits 0 after a graceful stop.
    for captured in (signal.SIGINT, signal.SIGTERM):
        signal.signal(captured, lambda *_: None)
    # asyncio's own loop, not uvloop: measured under 50 connections, uvloop served as many
    # requests a second but its p99 latency was 5 times asyncio's (130 ms against 25 ms).
    asyncio.run(serve(settings, mock))
    return 0
