"""The rate limiter every worker process on every machine shares, one state per provider account.

Three rules, all enforced by the backend atomically:
- **rate and burst** by GCRA (the generic cell rate algorithm): one timestamp per account, the
  "theoretical arrival time". A request may start when `now >= tat - (burst - 1) * interval`. It
  is a leaky bucket of capacity `burst` drained at the rate, which is exactly Bitrix24's model,
  and with a burst of 1 it spaces requests evenly, so no window of the period ever holds more
  than the rate (Yandex Market's 1000/hour).
- **hold**: a provider that answered "slow down until T" (420, 429, 503, rate-limit headers)
  holds the account until T for every worker, including one that reserved its start or took its
  slot before the hold was recorded: `held_for` is asked again right before a request leaves.
- **parallel requests**: a capped set of slots, each with a lease so a dead worker's slot frees
  itself.

`acquire` reserves the next start time and says how long to wait for it, or refuses without
reserving anything when that is longer than the caller can wait.

The state lives in the database by default (a row per account, taken with SELECT ... FOR UPDATE,
or under SQLite's write lock) and in Redis when REDIS_URL is set (Lua scripts). Neither
pyrate-limiter nor limits offers parallel caps or an external "hold until", and limits keeps
no state in SQL, so this module stays ours and small.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from django.conf import settings
from django.db import connection, transaction

from notifications.providers.limits import Limits

from ..models import RateLimitSlot, RateLimitState

SLOT_POLL_SECONDS = 0.05
SLOT_POLL_MAX_SECONDS = 1.0


@dataclass(frozen=True)
class Rule:
    """What the limiter enforces for one account: derived from a provider's Limits."""

    interval: float
    burst: int
    parallel: int | None

    @classmethod
    def from_limits(cls, limits: Limits, *, margin: float = 0.0) -> Rule:
        return cls(
            interval=limits.rate_period / limits.rate_count * (1 + margin),
            burst=limits.burst,
            parallel=limits.parallel,
        )


@dataclass(frozen=True)
class AccountState:
    """What staff see of an account's limiter: when it may send next, and why it waits."""

    next_start: float
    hold_until: float
    hold_reason: str
    in_flight: int
    # The backend's clock when the state was read: the one every worker waits by.
    read_at: float = 0.0

    def wait_for_turn(self, limits: Limits, *, margin: float = 0.0) -> float:
        """Seconds until the account may start its next request (GCRA, and any hold), as of
        `read_at`: what a worker asking now would wait. Reads only; reserves nothing."""
        rule = Rule.from_limits(limits, margin=margin)
        start = max(self.read_at, self.next_start - (rule.burst - 1) * rule.interval)
        return max(0.0, start - self.read_at, self.hold_until - self.read_at)

    @property
    def hold_left(self) -> float:
        return max(0.0, self.hold_until - self.read_at)


class Backend(Protocol):
    def reserve(self, key: str, rule: Rule, max_wait: float) -> float | None: ...

    def hold(self, key: str, until: float, reason: str) -> None: ...

    def hold_left(self, key: str) -> float: ...

    def take_slot(self, key: str, parallel: int, lease: float) -> str | None: ...

    def release_slot(self, key: str, token: str) -> None: ...

    def state(self, key: str) -> AccountState: ...


class Limiter:
    """The limiter the dispatch engine asks before every provider request."""

    def __init__(self, backend: Backend, *, enabled: bool = True, margin: float = 0.0) -> None:
        self.backend = backend
        self.enabled = enabled
        # Requests spaced exactly at a provider's rate cross it now and then: clocks, scheduling
        # and the network shift each start by milliseconds. The margin keeps clear of the line.
        self.margin = margin

    def acquire(self, key: str, limits: Limits, *, max_wait: float) -> float | None:
        """Reserve the next start for `key`; seconds to wait for it, or None (nothing reserved)."""
        if not self.enabled:
            return 0.0
        rule = Rule.from_limits(limits, margin=self.margin)
        return self.backend.reserve(key, rule, max(0.0, max_wait))

    def hold(self, key: str, *, until: float, reason: str = "") -> None:
        """Stop every worker from starting requests for `key` before `until` (epoch seconds)."""
        if self.enabled:
            self.backend.hold(key, until, reason)

    def held_for(self, key: str) -> float:
        """Seconds until the hold on `key` ends, by the shared clock; 0 when there is none."""
        if not self.enabled:
            return 0.0
        return self.backend.hold_left(key)

    @contextmanager
    def slot(self, key: str, limits: Limits, *, max_wait: float, lease: float) -> Iterator[bool]:
        """Hold one of the account's parallel-request slots while the block runs.

        Yields False when no slot freed up within `max_wait`; the caller must not send then.
        """
        if not self.enabled or limits.parallel is None:
            yield True
            return
        deadline = time.monotonic() + max_wait
        pause = SLOT_POLL_SECONDS
        token = self.backend.take_slot(key, limits.parallel, lease)
        while token is None and time.monotonic() < deadline:
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, SLOT_POLL_MAX_SECONDS)
            token = self.backend.take_slot(key, limits.parallel, lease)
        if token is None:
            yield False
            return
        try:
            yield True
        finally:
            self.backend.release_slot(key, token)

    def state(self, key: str) -> AccountState:
        """The account's state as the backend holds it, read by the backend's clock."""
        return self.backend.state(key)


def _gcra(now: float, tat: float, hold_until: float, rule: Rule, max_wait: float):
    """(wait, new tat) for the next request, or (wait, None) when it is too far off."""
    start = max(now, tat - (rule.burst - 1) * rule.interval, hold_until)
    wait = start - now
    if wait > max_wait:
        return wait, None
    return wait, max(tat, start) + rule.interval


class DatabaseBackend:
    """Limiter state in the project's database: a row per account, locked while it changes."""

    def _now(self) -> float:
        # Every machine must agree on "now"; the database server's clock is the one they share.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT extract(epoch from clock_timestamp())")
                return float(cursor.fetchone()[0])
        return time.time()

    def _locked_state(self, key: str) -> RateLimitState:
        RateLimitState.objects.bulk_create([RateLimitState(key=key)], ignore_conflicts=True)
        return RateLimitState.objects.select_for_update().get(key=key)

    def reserve(self, key: str, rule: Rule, max_wait: float) -> float | None:
        with transaction.atomic():
            state = self._locked_state(key)
            wait, tat = _gcra(self._now(), state.tat, state.hold_until, rule, max_wait)
            if tat is None:
                return None
            RateLimitState.objects.filter(key=key).update(tat=tat)
            return wait

    def hold(self, key: str, until: float, reason: str) -> None:
        with transaction.atomic():
            state = self._locked_state(key)
            if until > state.hold_until:
                RateLimitState.objects.filter(key=key).update(
                    hold_until=until, hold_reason=reason[:500]
                )

    def hold_left(self, key: str) -> float:
        hold_until = (
            RateLimitState.objects.filter(key=key).values_list("hold_until", flat=True).first()
        )
        return max(0.0, hold_until - self._now()) if hold_until else 0.0

    def take_slot(self, key: str, parallel: int, lease: float) -> str | None:
        with transaction.atomic():
            self._locked_state(key)
            now = self._now()
            RateLimitSlot.objects.filter(key=key, expires_at__lt=now).delete()
            if RateLimitSlot.objects.filter(key=key).count() >= parallel:
                return None
            token = uuid.uuid4().hex
            RateLimitSlot.objects.create(key=key, token=token, expires_at=now + lease)
            return token

    def release_slot(self, key: str, token: str) -> None:
        RateLimitSlot.objects.filter(token=token).delete()

    def state(self, key: str) -> AccountState:
        state = RateLimitState.objects.filter(key=key).first() or RateLimitState(key=key)
        now = self._now()
        in_flight = RateLimitSlot.objects.filter(key=key, expires_at__gte=now).count()
        return AccountState(state.tat, state.hold_until, state.hold_reason, in_flight, now)


_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat') or '0')
local hold = tonumber(redis.call('HGET', KEYS[1], 'hold') or '0')
local interval, burst, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local start = math.max(now, tat - (burst - 1) * interval, hold)
local wait = start - now
if wait > max_wait then return {0, tostring(wait)} end
local new_tat = math.max(tat, start) + interval
redis.call('HSET', KEYS[1], 'tat', tostring(new_tat))
redis.call('EXPIRE', KEYS[1], math.ceil(math.max(new_tat, hold) - now) + 3600)
return {1, tostring(wait)}
"""

_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1])
local hold = tonumber(redis.call('HGET', KEYS[1], 'hold') or '0')
if tonumber(ARGV[1]) > hold then
  redis.call('HSET', KEYS[1], 'hold', ARGV[1], 'reason', ARGV[2])
  redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1]) - now) + 3600)
end
return 1
"""

_HOLD_LEFT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local hold = tonumber(redis.call('HGET', KEYS[1], 'hold') or '0')
return tostring(math.max(0, hold - now))
"""

_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 60)
return 1
"""


class RedisBackend:
    """Limiter state in Redis, changed by Lua scripts so each step is atomic; Redis's clock."""

    prefix = "vestnik:ratelimit:"

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self._reserve = self.client.register_script(_RESERVE)
        self._hold = self.client.register_script(_HOLD)
        self._hold_left = self.client.register_script(_HOLD_LEFT)
        self._take_slot = self.client.register_script(_TAKE_SLOT)

    def reserve(self, key: str, rule: Rule, max_wait: float) -> float | None:
        ok, wait = self._reserve(
            keys=[self.prefix + key], args=[repr(rule.interval), rule.burst, repr(max_wait)]
        )
        return float(wait) if int(ok) else None

    def hold(self, key: str, until: float, reason: str) -> None:
        self._hold(keys=[self.prefix + key], args=[repr(until), reason[:500]])

    def hold_left(self, key: str) -> float:
        return float(self._hold_left(keys=[self.prefix + key]))

    def take_slot(self, key: str, parallel: int, lease: float) -> str | None:
        token = uuid.uuid4().hex
        taken = self._take_slot(
            keys=[self.prefix + key + ":slots"], args=[parallel, repr(lease), token]
        )
        return token if int(taken) else None

    def release_slot(self, key: str, token: str) -> None:
        self.client.zrem(self.prefix + key + ":slots", token)

    def state(self, key: str) -> AccountState:
        fields = self.client.hgetall(self.prefix + key)
        seconds, micros = self.client.time()
        now = seconds + micros / 1_000_000
        in_flight = self.client.zcount(self.prefix + key + ":slots", now, "+inf")
        return AccountState(
            float(fields.get(b"tat", 0)),
            float(fields.get(b"hold", 0)),
            fields.get(b"reason", b"").decode(),
            in_flight,
            now,
        )


@lru_cache(maxsize=1)
def _limiter(redis_url: str, enabled: bool, margin: float) -> Limiter:
    backend: Backend = RedisBackend(redis_url) if redis_url else DatabaseBackend()
    return Limiter(backend, enabled=enabled, margin=margin)


def get_limiter() -> Limiter:
    """The limiter of this process: Redis when REDIS_URL is set, else the database."""
    return _limiter(
        settings.REDIS_URL,
        settings.VESTNIK_RATE_LIMITS_ENABLED,
        settings.VESTNIK_RATE_SAFETY_MARGIN,
    )
