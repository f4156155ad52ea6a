"""Failed sign-ins slow the guesser down instead of locking the account for everyone.

OWASP (Authentication Cheat Sheet, account lockout): a lock that anyone can trigger by guessing
lets anyone lock a victim out. So failures are counted per (account, client address): after
``login_throttle_failures`` of them within the window, that pair waits (429 with Retry-After),
the wait doubling with each further failure; the victim signing in from elsewhere is not
affected. Only many distinct addresses failing on one account within the window
(``lockout_distinct_addresses``, a distributed guess) hard-locks the account, and the caller
decides that from the count returned here.

Counters live in Redis (shared by every instance, expiring on their own). When Redis fails,
in-process counters take over (this instance's share only, which still slows a guess down).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import structlog
from redis.exceptions import RedisError

from swe_auth.crypto import digest
from swe_auth.settings import Settings
from swe_common.errors import TooManyRequests
from swe_common.ratelimit import Attempt

log = structlog.stdlib.get_logger(__name__)
# 2**20 times any base delay is past every sensible cap; beyond it the exponent stops growing.
MAX_DOUBLINGS = 20
LOCAL_KEYS = 10_000


def unknown_account(login_name: str) -> str:
    """The throttle key of a name no account has: throttled exactly like a real account."""
    return "name-" + digest(login_name.strip().lower())[:32]


class LoginThrottle:
    def __init__(
        self, redis: Any, settings: Settings, now: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis
        self.settings = settings
        self.prefix = f"{settings.redis_key_prefix}swe:auth:login"
        self.local = LocalCounters(now)

    def _pair(self, kind: str, account: str, ip: str) -> str:
        return f"{self.prefix}:{kind}:{account}:{ip}"

    def _addresses(self, account: str) -> str:
        return f"{self.prefix}:addresses:{account}"

    async def check(self, account: str, ip: str, rate: Attempt | None = None) -> bool:
        """Raise 429 while this account+address pair must wait; else whether the pair has
        failures counted (only then has a success something to clear: ``succeeded``). One
        Redis round trip, which counts ``rate`` too (settled first: its 429 comes first)."""
        key, failures_key = self._pair("wait", account, ip), self._pair("failures", account, ip)
        rate_count: int | None = None
        try:
            # MULTI only with the rate counter: its INCR and EXPIRE go together.
            async with self.redis.pipeline(transaction=rate is not None) as pipe:
                if rate is not None:
                    rate.queue(pipe)
                pipe.pttl(key)  # -2: no wait
                pipe.exists(failures_key)
                *counted_rate, wait, counted = await pipe.execute()
            rate_count = counted_rate[0] if counted_rate else None
            wait_ms, dirty = int(wait), bool(counted)
        except (RedisError, OSError) as exc:
            log.warning("login_throttle_redis_failed", error=type(exc).__name__)
            wait_ms, dirty = self.local.wait_ms(key), True
        if rate is not None:
            rate.settle(rate_count)
        if wait_ms > 0:
            raise TooManyRequests(
                "Too many failed sign-ins for this account from this address; "
                "wait before trying again.",
                headers={"Retry-After": str(math.ceil(wait_ms / 1000))},
            )
        return dirty

    async def failed(self, account: str, ip: str, now: float) -> int:
        """Count a failure; the number of distinct addresses failing on the account lately."""
        window = self.settings.lockout_window_seconds
        failures_key, addresses_key = self._pair("failures", account, ip), self._addresses(account)
        wait_key = self._pair("wait", account, ip)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(failures_key)
                pipe.expire(failures_key, window)
                pipe.zadd(addresses_key, {ip: now})
                pipe.zremrangebyscore(addresses_key, "-inf", now - window)
                pipe.zcard(addresses_key)
                pipe.expire(addresses_key, window)
                failures, _, _, _, addresses, _ = await pipe.execute()
            delay = self._delay(int(failures))
            if delay:
                await self.redis.set(wait_key, "1", ex=delay)
        except (RedisError, OSError) as exc:
            log.warning("login_throttle_redis_failed", error=type(exc).__name__)
            failures = self.local.count(failures_key, window)
            addresses = self.local.add_address(addresses_key, ip, now, window)
            self.local.set_wait(wait_key, self._delay(failures))
        return int(addresses)

    def _delay(self, failures: int) -> int:
        """Seconds to wait after the ``failures``-th failure (0: none yet)."""
        settings = self.settings
        beyond = failures - settings.login_throttle_failures
        if beyond < 0:
            return 0
        delay = settings.login_throttle_delay_seconds << min(beyond, MAX_DOUBLINGS)
        return min(delay, settings.login_throttle_max_delay_seconds)

    async def succeeded(self, account: str, ip: str) -> None:
        await self._delete(self._pair("failures", account, ip), self._pair("wait", account, ip))

    async def forget_account(self, account: str, ip: str | None = None) -> None:
        """Start the distributed-attack count afresh (after a reset or an admin unlock), and
        end the wait of ``ip`` (the owner's address that proved control of the mailbox)."""
        keys = [self._addresses(account)]
        if ip is not None:
            keys += [self._pair("failures", account, ip), self._pair("wait", account, ip)]
        await self._delete(*keys)

    async def _delete(self, *keys: str) -> None:
        self.local.delete(*keys)
        try:
            await self.redis.delete(*keys)
        except (RedisError, OSError) as exc:
            log.warning("login_throttle_redis_failed", error=type(exc).__name__)


class LocalCounters:
    """The same counters in this process, bounded (oldest dropped first), while Redis is down."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._waits: OrderedDict[str, float] = OrderedDict()
        self._addresses: OrderedDict[str, dict[str, float]] = OrderedDict()

    def count(self, key: str, window: int) -> int:
        count, expires = self._failures.pop(key, (0, 0.0))
        if expires <= self.now():
            count, expires = 0, self.now() + window
        _put(self._failures, key, (count + 1, expires))
        return count + 1

    def set_wait(self, key: str, seconds: int) -> None:
        if seconds:
            _put(self._waits, key, self.now() + seconds)

    def wait_ms(self, key: str) -> int:
        return int((self._waits.get(key, 0.0) - self.now()) * 1000)

    def add_address(self, key: str, ip: str, now: float, window: int) -> int:
        recent = {a: t for a, t in self._addresses.pop(key, {}).items() if t > now - window}
        recent[ip] = now
        _put(self._addresses, key, recent)
        return len(recent)

    def delete(self, *keys: str) -> None:
        for store in (self._failures, self._waits, self._addresses):
            for key in keys:
                store.pop(key, None)


def _put(store: OrderedDict[str, Any], key: str, value: Any) -> None:
    store[key] = value
    while len(store) > LOCAL_KEYS:
        store.popitem(last=False)
