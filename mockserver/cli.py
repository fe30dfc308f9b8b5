"""The `mockserver` command: the only place that reads argv, the environment and the files
named on the command line (through `options.py`). Every option can also come from
`MOCKSERVER_<OPTION>`."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from mockserver import workers
from mockserver.app import Mock, create_app
from mockserver.http.validation import state_violations
from mockserver.options import UsageError, settings_from
from mockserver.settings import Settings
from mockserver.spec import Spec
from mockserver.state.errors import BadRequest
from mockserver.state.persistence import StateFile, StateFileError, load_state_file

__all__ = ["UsageError", "main", "settings_from"]
log = logging.getLogger("mockserver")


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
    except ValueError as error:
        if settings.store is not None:
            from mockserver.shared.log import OtherRules  # only with --store: it needs redis

            if isinstance(error, OtherRules):
                raise UsageError(f"--store {settings.store}: {error}") from error
        raise


async def serve(settings: Settings, mock: Mock, sock: socket.socket | None = None) -> None:
    config = uvicorn.Config(
        mock,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # uvicorn builds each access line's arguments before its logger drops them: above
        # info (`--log-level=warning`), a tenth of a short request's CPU for nothing.
        access_log=settings.log_level in ("trace", "debug", "info"),
        lifespan="on",
        timeout_graceful_shutdown=10,
        http=mock.protocol(),
        # A proxy passes the upstream's Server and Date on; uvicorn's own would double them.
        server_header=mock.upstream is None,
        date_header=mock.upstream is None,
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
        await server.serve(sockets=None if sock is None else [sock])
    finally:
        announcer.cancel()
        freezer.cancel()
        if saver is not None:
            saver.cancel()  # a save it started still finishes: StateFile orders the two
        if state_file is not None:
            state_file.save()
            log.info("state saved to %s", state_file.path)
        if mock.upstream is not None:
            await mock.upstream.aclose()
        if settings.junit_path is not None:
            write_junit(mock, settings.junit_path)


def write_junit(mock: Mock, path: Path) -> None:
    try:
        path.write_bytes(mock.verdicts.junit())
    except OSError as error:  # said where the user looks; the exit status stays the server's
        log.error("cannot write the JUnit report to %s: %s", path, error)
    else:
        summary = mock.verdicts.summary()
        log.info(
            "JUnit report written to %s: %d exchanges, %d with violations",
            path,
            summary["exchanges"],
            summary["violating_exchanges"],
        )


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
    if settings.upstream is not None:
        log.info(
            "mockserver proxying %s to %s, checking every exchange (violations: %s/violations)",
            base,
            settings.upstream,
            control,
        )
        return
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
        mock = build(settings)  # with --workers, what each will build: refused here, once
        if settings.workers > 1:
            del mock
            return workers.run(settings, serve_worker)
    except (UsageError, StateFileError) as error:
        print(f"mockserver: error: {error}", file=sys.stderr)
        return 2
    run_server(settings, mock)
    return 0


def serve_worker(settings: Settings, sock: socket.socket) -> None:
    """One of `--workers` processes (workers.py): the same mock, on the parent's socket."""
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s: %(message)s")
    run_server(settings, build(settings), sock)


def run_server(settings: Settings, mock: Mock, sock: socket.socket | None = None) -> None:
    # uvicorn re-raises the signal that stopped it once it has shut down; these handlers take
    # it, so that the state is saved and the process exits 0 after a graceful stop.
    for captured in (signal.SIGINT, signal.SIGTERM):
        signal.signal(captured, lambda *_: None)
    # asyncio's own loop, not uvloop: measured under 50 connections, uvloop served as many
    # requests a second but its p99 latency was 5 times asyncio's (130 ms against 25 ms).
    asyncio.run(serve(settings, mock, sock))
