"""The fault rules' counts and the rate counts of a shared state, in Redis.

The rules themselves come to every process with the log (`POST /__mock/faults` is replayed, so
each holds the same rules, numbered the same); what one request uses up is counted here, by one
script each, so that a rule with `count: 5` answers exactly five requests, whichever processes
they reach, and a rate limit counts the requests of every process.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, replace
from typing import Any

import redis

from mockserver.control.injection import Injector, Rule
from mockserver.http.ratelimit import WINDOW, RateLimiter, over_limit
from mockserver.shared.replaying import Replaying
from mockserver.shared.wire import Wire, reaching
from mockserver.state.clock import Clock

# What is left of a rule's count after this use (-1: nothing was left); a rule never used yet
# starts from its own count.
_SPEND = """
local left = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or ARGV[2])
if left <= 0 then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], left - 1)
return left - 1
"""

# Count a request in its window, or the instant the oldest counted one was made when it is full.
_COUNT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('SADD', KEYS[2], KEYS[1])
return false
"""

COUNT = "count this request"


class SharedInjector(Injector):
    def __init__(self, client: redis.Redis, wire: Wire, prefix: str) -> None:
        super().__init__()
        self._client = client
        self._counts = f"{prefix}:faults"
        self._spend = wire.script(_SPEND)

    def take(self, method: str, path: str, region: str) -> Rule | None:
        with self._lock:
            matching = [rule for rule in self._rules if rule.matches(method, path, region)]
        for rule in matching:
            if rule.remaining is None:
                return rule
            with reaching(COUNT):
                left = int(self._spend(keys=[self._counts], args=[rule.id, rule.remaining]))
            if left <= 0:
                self._drop(rule)  # used up, here or by another process
            if left >= 0:
                return replace(rule, remaining=left)
        return None

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            rules = list(self._rules)
        counted = [rule for rule in rules if rule.remaining is not None]
        spent: dict[int, int] = {}
        if counted:
            with reaching("read the fault rules' counts"):
                values = self._client.hmget(self._counts, [rule.id for rule in counted])
            spent = {rule.id: int(v) for rule, v in zip(counted, values, strict=True) if v}
        shown = []
        for rule in rules:
            left = spent.get(rule.id, rule.remaining)
            if left is None or left > 0:
                shown.append(asdict(replace(rule, remaining=left)))
        return shown

    def _drop(self, rule: Rule) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)


class SharedRateLimiter(RateLimiter):
    def __init__(
        self, clock: Clock, client: redis.Redis, wire: Wire, prefix: str, replaying: Replaying
    ):
        super().__init__(clock)
        self._client = client
        self._prefix = prefix
        self._keys = f"{prefix}:rate:keys"
        self._replaying = replaying
        self._count = wire.script(_COUNT)

    def check(self, account: str, operation: str, per_minute: int, label: str) -> None:
        if self._replaying.active:  # counted once, where it was answered
            return
        now = self._clock.now()
        key = f"{self._prefix}:rate:{account}\x1f{operation}"
        with reaching(COUNT):
            oldest = self._count(
                keys=[key, self._keys], args=[repr(now), WINDOW, per_minute, secrets.token_hex(8)]
            )
        if oldest is not None:
            raise over_limit(per_minute, label, float(oldest), now)

    def clear(self) -> None:
        if self._replaying.active:  # cleared once, where the reset was answered
            return
        with reaching("clear the rate counts"):
            keys = self._client.smembers(self._keys)
            self._client.delete(self._keys, *keys)
