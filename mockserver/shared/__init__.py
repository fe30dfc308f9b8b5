"""One state for many processes (`--store redis://...`, contract section 13).

Each process keeps the whole state in memory and every rule where it is (`state/`); Redis holds
the log of the requests that changed the state, which every process replays in one order
(`log.py`, `replica.py`), and the parts that each request itself uses up: the fault rules'
counts and the rate counts (`counters.py`), the journal (`journal.py`) and the coverage
counters (`coverage.py`). The README's "One
state for many processes" says what holds, and why this design.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from mockserver.http.gateway import Gateway
from mockserver.shared.counters import SharedInjector, SharedRateLimiter
from mockserver.shared.coverage import SharedCoverage
from mockserver.shared.journal import SharedJournal
from mockserver.shared.log import CommandLog
from mockserver.shared.replaying import Replaying
from mockserver.shared.replica import Replica
from mockserver.spec import Spec
from mockserver.state.clock import Clock
from mockserver.state.regions import Regions

PREFIX = "mockserver"


@dataclass
class Shared:
    """The parts of a mock that a shared state keeps in Redis, and the layer that replays."""

    client: redis.Redis
    replaying: Replaying
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
        coverage = SharedCoverage(spec, client, PREFIX, replaying)
        return cls(
            client,
            replaying,
            SharedJournal(client, PREFIX, journal_size, replaying, coverage),
            coverage,
            SharedInjector(client, PREFIX),
            SharedRateLimiter(clock, client, PREFIX, replaying),
        )

    def replica(
        self,
        gateway: Gateway,
        regions: Regions,
        clock: Clock,
        initial_state: dict[str, Any],
        frozen_clock: bool,
    ) -> Replica:
        return Replica(
            gateway,
            CommandLog(self.client, self.journal.keys, PREFIX),
            self.replaying,
            regions=regions,
            clock=clock,
            injector=self.injector,
            journal=self.journal,
            initial_state=initial_state,
            frozen_clock=frozen_clock,
        )
