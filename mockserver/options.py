"""The command line's options: argv and `MOCKSERVER_<OPTION>` read into one frozen Settings.

Only `cli.py` calls this; every other module takes the Settings it is given.
"""

from __future__ import annotations

import argparse
import json
import ssl
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mockserver.settings import Settings, TokenTable

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
    proxy = p.add_argument_group(
        "validating proxy",
        "pass every API request on to a real service and check both directions against the"
        " contract (the control API stays the mock's)",
    )
    proxy.add_argument(
        "--upstream",
        default=env("upstream", None),
        metavar="URL",
        help="the real service's root (http or https), e.g. https://dfw.databases.api.example",
    )
    proxy.add_argument(
        "--upstream-ca",
        type=Path,
        default=env("upstream_ca", None),
        metavar="PATH",
        help="a PEM bundle of the CA(s) to trust for an https upstream (default: the system's)",
    )
    proxy.add_argument(
        "--upstream-timeout",
        type=float,
        default=env("upstream_timeout", 30.0),
        metavar="S",
        help="seconds for the upstream's whole answer; then 503 (default 30)",
    )
    proxy.add_argument(
        "--on-violation",
        choices=["pass", "fault"],
        default=env("on_violation", "pass"),
        help="pass: answers reach the client unchanged (default); fault: a violating exchange is"
        " answered with a fault naming its violations",
    )
    proxy.add_argument(
        "--fallback-to-mock",
        action="store_true",
        default=flag("fallback_to_mock"),
        help="the mock answers, from its own state, what the upstream answers 501 or cannot",
    )
    proxy.add_argument(
        "--junit",
        type=Path,
        default=env("junit", None),
        metavar="PATH",
        help="write the checked exchanges as JUnit XML to PATH on exit (one test per operation"
        " and status)",
    )
    shared = p.add_argument_group(
        "one state for many processes (README: One state for many processes)"
    )
    shared.add_argument(
        "--store",
        default=env("store", None),
        metavar="URL",
        help="keep the state in Redis (redis://host:port/db, rediss:// or unix://), shared by"
        " every mock process given the same URL and options; default: in this process's memory",
    )
    shared.add_argument(
        "--workers",
        type=int,
        default=env("workers", "1"),
        metavar="N",
        help="processes serving the port (default 1); more than one needs --store",
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
    check_upstream(args)
    check_store(args)
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
        upstream=args.upstream or None,
        upstream_ca=args.upstream_ca,
        upstream_timeout=args.upstream_timeout,
        on_violation=args.on_violation,
        fallback_to_mock=args.fallback_to_mock,
        junit_path=args.junit,
        store=args.store or None,
        workers=args.workers,
    )


def check_store(args: argparse.Namespace) -> None:
    """A shared state's options make sense together, before anything connects."""
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if not args.store:
        if args.workers > 1:
            raise UsageError(
                f"--workers {args.workers} needs --store: processes with a state each of their"
                " own would disagree (one would not know a backup another created)"
            )
        return
    if urlsplit(args.store).scheme not in ("redis", "rediss", "unix"):
        raise UsageError(f"--store {args.store}: expected redis://host[:port][/db]")
    for name, value in (("--upstream", args.upstream), ("--state-file", args.state_file)):
        if value:
            raise UsageError(
                f"--store and {name} cannot be used together: the shared state lives in Redis"
                + (" (load a document with PUT /__mock/state)" if name == "--state-file" else "")
            )


def check_upstream(args: argparse.Namespace) -> None:
    """The proxy's options make sense together, and its CA bundle loads, before serving."""
    if not args.upstream:
        for name in ("upstream_ca", "junit"):
            if getattr(args, name):
                raise UsageError(f"--{name.replace('_', '-')} needs --upstream")
        if args.fallback_to_mock or args.on_violation != "pass":
            raise UsageError("--fallback-to-mock and --on-violation need --upstream")
        return
    parts = urlsplit(args.upstream)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--upstream {args.upstream}: expected http(s)://host[:port][/path]")
    if parts.query or parts.fragment:
        raise UsageError(f"--upstream {args.upstream}: the root takes no query or fragment")
    if not args.upstream_timeout > 0:
        raise UsageError("--upstream-timeout must be a number > 0")
    if args.upstream_ca is not None:
        try:
            ssl.create_default_context(cafile=str(args.upstream_ca))
        except (OSError, ssl.SSLError) as error:
            raise UsageError(f"--upstream-ca {args.upstream_ca}: {error}") from error


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
