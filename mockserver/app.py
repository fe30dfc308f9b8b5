"""`create_app`: a fresh, independent mock — its store, clock, journal and connexion app."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import connexion
from connexion.exceptions import ProblemException
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockserver.asgi import Message, Receive, Scope, Send
from mockserver.control.coverage import Coverage
from mockserver.control.handlers import ControlHandlers
from mockserver.control.injection import Injector
from mockserver.control.journal import Journal
from mockserver.control.recorder import Recorder
from mockserver.http.answer import Answer
from mockserver.http.encoder import Encoder
from mockserver.http.fastpath import FastPath
from mockserver.http.faults import FaultFactory
from mockserver.http.gateway import CONTROL_PREFIX, Gateway
from mockserver.http.handlers import Handlers
from mockserver.http.middleware import MIDDLEWARES, App
from mockserver.http.problems import Problems
from mockserver.http.ratelimit import RateLimiter
from mockserver.http.regional import RegionalPaths
from mockserver.http.transport import protocol_class
from mockserver.http.validation import VALIDATOR_MAP
from mockserver.proxy.checker import ExchangeChecker
from mockserver.proxy.forwarder import Proxy
from mockserver.proxy.upstream import Upstream, UpstreamSettings
from mockserver.proxy.verdicts import Verdicts
from mockserver.resources import CONTROL_SPEC_PATH
from mockserver.settings import Settings
from mockserver.spec import Spec, read_yaml, with_components_of
from mockserver.state.clock import Clock
from mockserver.state.errors import MockError
from mockserver.state.regions import Regions
from mockserver.state.store import Store

if TYPE_CHECKING:
    from mockserver.shared.replica import Replica


@dataclass
class Mock:
    """One mock: an ASGI app, and the parts that tests and the CLI drive directly."""

    settings: Settings
    spec: Spec
    regions: Regions
    store: Store  # the own region's (`regions[code]` is any region's)
    clock: Clock
    journal: Journal
    injector: Injector
    limiter: RateLimiter
    connexion_app: connexion.AsyncApp
    gateway: Gateway
    verdicts: Verdicts  # the proxy's (empty without an upstream)
    coverage: Coverage
    upstream: Upstream | None = None
    replica: Replica | None = None  # with a shared state (--store): the layer that replays

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self.upstream is not None:
            receive = self._closing(receive, self.upstream)
        await (self.replica or self.gateway)(scope, receive, send)

    def protocol(self) -> type[HttpToolsProtocol]:
        """The HTTP protocol class uvicorn serves this mock with (`http/transport.py`). Answers
        given without the ASGI cycle would bypass the middleware uvicorn adds at `trace` (it
        logs each ASGI message): none is, there."""
        direct = None if self.settings.log_level == "trace" else self.answer_now
        return protocol_class(self.gateway.faults, direct)

    def answer_now(self, scope: Scope, body: bytes) -> Answer | None:
        """The answer to a whole request, given without the ASGI cycle (`http/direct.py`), or
        None for the ASGI pipeline. With a shared state every request goes through the replica,
        which first replays the other processes' changes: none is answered at once."""
        if self.replica is not None:
            return None
        return self.gateway.answer_now(scope, body)

    @staticmethod
    def _closing(receive: Receive, upstream: Upstream) -> Receive:
        """`receive`, which closes the upstream's pooled connections when the server shuts
        down, in the event loop they were opened in."""

        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await upstream.aclose()
            return message

        return receiving


def coroutine(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`function` as a coroutine function, for connexion, which would run a plain one in a
    thread pool: the handlers never wait, and the store is not shared with other threads.
    connexion reads the arguments from `function`'s own signature (`__wrapped__`)."""

    @functools.wraps(function)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return run


def create_app(settings: Settings | None = None, state: dict[str, Any] | None = None) -> Mock:
    """Build a mock from `settings`, starting from `state` (default: the fixture state)."""
    settings = settings or Settings()
    spec = Spec.load(settings.spec_path)
    with settings.default_state_path.open(encoding="utf-8") as stream:
        fixture_state = json.load(stream)
    clock = Clock(frozen=settings.frozen_clock)
    regions = Regions(
        spec.regions,
        settings.region,
        fixture_state if state is None else state,
        clock,
        default_flavors=fixture_state.get("flavors", ()),
        quota=settings.quota,
        new_seconds=settings.new_seconds,
        building_seconds=settings.building_seconds,
        build_seconds=settings.build_seconds,
    )
    shared = None
    journal: Journal
    coverage: Coverage
    if settings.store is None:
        journal, coverage = Journal(settings.journal_size), Coverage(spec)
        injector, limiter = Injector(), RateLimiter(clock)
    else:
        # Imported only here: a mock of one process needs neither Redis nor its client.
        from mockserver.shared import Shared

        shared = Shared.connect(settings.store, spec, clock, settings.journal_size)
        journal, coverage = shared.journal, shared.coverage
        injector, limiter = shared.injector, shared.limiter
    faults = FaultFactory(spec.fault_names)
    verdicts = Verdicts(settings.upstream)

    app = App(__name__, middlewares=MIDDLEWARES, validator_map=VALIDATOR_MAP, jsonifier=Encoder())
    handlers = Handlers(regions)

    def handler(operation_id: str) -> Any:
        return getattr(handlers, operation_id)

    app.add_api(
        spec.document,
        base_path="",
        name="api",
        resolver=Resolver(function_resolver=lambda operation_id: coroutine(handler(operation_id))),
        validate_responses=settings.validate_responses,
        strict_validation=settings.strict_query,
    )
    specs = {"": spec}
    if settings.control:
        control_document = with_components_of(read_yaml(CONTROL_SPEC_PATH), spec.document)
        control = ControlHandlers(
            regions, clock, journal, coverage, injector, limiter, fixture_state, verdicts
        )
        app.add_api(
            control_document,
            base_path=CONTROL_PREFIX,
            name="control",
            resolver=Resolver(
                function_resolver=lambda operation_id: getattr(control, operation_id)
            ),
            validate_responses=settings.validate_responses,
            strict_validation=True,  # the mock's own API: scripts should hear of a typo
        )
        specs[CONTROL_PREFIX] = Spec(control_document)

    problems = Problems(faults, specs)
    app.add_error_handler(MockError, problems.on_mock_error)
    app.add_error_handler(ProblemException, problems.on_problem)
    app.add_error_handler(HTTPException, problems.on_http)
    app.add_error_handler(Exception, problems.on_unexpected)

    fast_path = (
        FastPath(spec.document, handler, problems, strict_query=settings.strict_query)
        if settings.fast_path
        else None
    )
    regional = RegionalPaths(spec.regions, settings.region)
    gateway = Gateway(
        app,
        spec=spec,
        faults=faults,
        settings=settings,
        recorder=Recorder(spec, clock, journal, coverage),
        injector=injector,
        limiter=limiter,
        request_scope=handlers.scope,
        regional=regional,
        fast_path=fast_path,
    )
    upstream = None
    if settings.upstream is not None:
        upstream = Upstream(
            UpstreamSettings(settings.upstream, settings.upstream_ca, settings.upstream_timeout)
        )
        checker = ExchangeChecker(spec, regional, strict_query=settings.strict_query)
        gateway.proxy = Proxy(
            upstream,
            checker,
            verdicts,
            faults.encode,
            clock.now,
            on_violation=settings.on_violation,
            fallback=gateway.answer_from_mock if settings.fallback_to_mock else None,
        )
    replica = None
    if shared is not None:
        replica = shared.replica(
            gateway,
            regions,
            clock,
            fixture_state if state is None else state,
            settings,
        )
    return Mock(
        settings,
        spec,
        regions,
        regions.store,
        clock,
        journal,
        injector,
        limiter,
        app,
        gateway,
        verdicts,
        coverage,
        upstream,
        replica,
    )
