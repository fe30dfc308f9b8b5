"""One state for many processes (`--store redis://...`, contract section 13).

Each process keeps the whole state in memory and every rule where it is (`state/`); Redis holds
the log of the requests that changed the state, which every process replays in one order
(`log.py`, `replica.py`), and the parts that each request itself uses up: the fault rules'
counts and the rate counts (`counters.py`), the journal (`journal.py`) and the coverage
counters (`coverage.py`). The README's "One
state for many processes" says what holds, and why this design.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from mockserver.http.gateway import Gateway
from mockserver.settings import Settings
from mockserver.shared.counters import SharedInjector, SharedRateLimiter
from mockserver.shared.coverage import SharedCoverage
from mockserver.shared.journal import SharedJournal
from mockserver.shared.log import CommandLog
from mockserver.shared.replaying import Replaying
from mockserver.shared.replica import Replica
from mockserver.shared.tickets import Tickets
from mockserver.shared.wire import Wire
from mockserver.spec import Spec
from mockserver.state.clock import Clock
from mockserver.state.regions import Regions

PREFIX = "mockserver"


@dataclass
class Shared:
    """The parts of a mock that a shared state keeps in Redis, and the layer that replays."""

    client: redis.Redis
    wire: Wire  # the scripts of the requests' round trips
    replaying: Replaying
    tickets: Tickets
    journal: SharedJournal
    coverage: SharedCoverage
    injector: SharedInjector
    limiter: SharedRateLimiter

    @classmethod
    def connect(cls, url: str, spec: Spec, clock: Clock, journal_size: int) -> Shared:
        # No retry of a command: a script run twice would count twice. A command that fails
        # answers 503 (replica.py), and the pool connects again for the next one.
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=0.5,
            # A Redis that stalls holds a process (its event loop) this long, then 503.
            socket_timeout=2.0,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=5,
        )
        replaying = Replaying()
        wire = Wire(client)
        tickets = Tickets(wire, PREFIX)
        coverage = SharedCoverage(spec, client, PREFIX, replaying, tickets)
        return cls(
            client,
            wire,
            replaying,
            tickets,
            SharedJournal(client, wire, PREFIX, journal_size, replaying, coverage, tickets),
            coverage,
            SharedInjector(client, wire, PREFIX),
            SharedRateLimiter(clock, client, wire, PREFIX, replaying),
        )

    def replica(
        self,
        gateway: Gateway,
        regions: Regions,
        clock: Clock,
        initial_state: dict[str, Any],
        settings: Settings,
    ) -> Replica:
        return Replica(
            gateway,
            CommandLog(self.client, self.wire, self.journal.keys, self.tickets.keys, PREFIX),
            self.replaying,
            self.tickets,
            regions=regions,
            clock=clock,
            injector=self.injector,
            journal=self.journal,
            initial_state=initial_state,
            frozen_clock=settings.frozen_clock,
            rules=rules_of(settings, initial_state),
        )


# What a process's answers do not depend on: every other setting must be the same in every
# process that shares a state, or a request replayed there would not make the same change.
_OWN = frozenset(
    {
        "host",
        "port",
        "log_level",
        "workers",
        "store",
        "state_file",
        "save_interval",
        "validate_responses",
        "fast_path",
        "junit_path",
    }
)


def rules_of(settings: Settings, initial_state: dict[str, Any]) -> str:
    """A digest of the settings and the starting state a shared log is replayed under."""
    shared = {name: value for name, value in asdict(settings).items() if name not in _OWN}
    if settings.tokens is not None:
        shared["tokens"] = {token: sorted(held) for token, held in settings.tokens.items()}
    shared["initial_state"] = initial_state
    text = json.dumps(shared, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
