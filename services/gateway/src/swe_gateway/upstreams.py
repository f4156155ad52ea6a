"""Upstream instances and the two kinds of breaking.

Per instance: passive ejection after consecutive 5xx or connect failures, for a time that
doubles with each ejection, plus active ``/health/ready`` checks. Per service: a circuit
breaker (closed -> open after N consecutive failures once a minimum number of requests has
been seen -> half-open after a cool-down, one trial request -> closed on success).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass, field
from enum import StrEnum

import aiohttp
import structlog
from yarl import URL

from swe_gateway import metrics
from swe_gateway.settings import Settings

log = structlog.stdlib.get_logger(__name__)


class BreakerState(StrEnum):
    closed = "closed"
    open = "open"
    half_open = "half_open"


@dataclass
class CircuitBreaker:
    service: str
    failure_threshold: int
    min_requests: int
    cooldown_seconds: float
    state: BreakerState = BreakerState.closed
    consecutive_failures: int = 0
    requests: int = 0
    opened_at: float = 0.0
    trial_in_flight: bool = False

    def allow(self) -> bool:
        if self.state is BreakerState.closed:
            return True
        if self.state is BreakerState.open:
            if time.monotonic() - self.opened_at < self.cooldown_seconds:
                return False
            self._set(BreakerState.half_open)
        if self.trial_in_flight:
            return False
        self.trial_in_flight = True
        return True

    def retry_after(self) -> int:
        remaining = self.cooldown_seconds - (time.monotonic() - self.opened_at)
        return max(1, math.ceil(remaining))

    def record(self, success: bool) -> None:
        if self.state is BreakerState.half_open:
            self.trial_in_flight = False
            if success:
                self.reset()
            else:
                self._open()
            return
        self.requests += 1
        if success:
            self.consecutive_failures = 0
            return
        self.consecutive_failures += 1
        if (
            self.state is BreakerState.closed
            and self.consecutive_failures >= self.failure_threshold
            and self.requests >= self.min_requests
        ):
            self._open()

    def release(self) -> None:
        """The trial ended without a verdict (client went away): let another one through."""
        self.trial_in_flight = False

    def reset(self) -> None:
        self.consecutive_failures = 0
        self.requests = 0
        self.trial_in_flight = False
        self._set(BreakerState.closed)

    def _open(self) -> None:
        self.opened_at = time.monotonic()
        self.trial_in_flight = False
        self._set(BreakerState.open)

    def _set(self, state: BreakerState) -> None:
        if state is not self.state:
            log.warning("breaker_state_changed", service=self.service, state=state.value)
        self.state = state
        metrics.BREAKER_STATE.labels(self.service).set(
            {BreakerState.closed: 0, BreakerState.half_open: 1, BreakerState.open: 2}[state]
        )


@dataclass
class RetryBudget:
    """Retries may be at most ``ratio`` of requests (plus a small reserve), so a struggling
    upstream is not stormed by our own retries."""

    ratio: float
    capacity: float
    tokens: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def deposit(self) -> None:
        self.tokens = min(self.capacity, self.tokens + self.ratio)

    def withdraw(self) -> bool:
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Instance:
    url: str
    base: URL
    healthy: bool = True
    check_timeouts: int = 0
    consecutive_failures: int = 0
    ejections: int = 0
    ejected_until: float = 0.0

    def available(self, now: float) -> bool:
        return self.healthy and now >= self.ejected_until

    def record(self, success: bool, settings: Settings) -> None:
        now = time.monotonic()
        if success:
            self.consecutive_failures = 0
            # Forget past ejections once the instance has behaved for a long stretch.
            if self.ejections and now - self.ejected_until > settings.ejection_max_seconds:
                self.ejections = 0
            return
        if now < self.ejected_until:
            return  # answers still in flight when it was ejected do not extend the ejection
        self.consecutive_failures += 1
        if self.consecutive_failures >= settings.ejection_failures:
            self.ejections += 1
            seconds = min(
                settings.ejection_max_seconds,
                settings.ejection_base_seconds * 2 ** (self.ejections - 1),
            )
            self.ejected_until = now + seconds
            self.consecutive_failures = 0
            log.warning("instance_ejected", url=self.url, seconds=seconds)

    def describe(self) -> dict[str, object]:
        now = time.monotonic()
        return {
            "url": self.url,
            "healthy": self.healthy,
            "ejected": now < self.ejected_until,
            "ejected_for_seconds": round(max(0.0, self.ejected_until - now), 1),
            "ejections": self.ejections,
            "consecutive_failures": self.consecutive_failures,
        }


def make_instance(url: str) -> Instance:
    base = URL(url.rstrip("/"))
    if base.scheme not in ("http", "https") or not base.host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return Instance(url=str(base), base=base)


class ServicePool:
    def __init__(self, name: str, urls: list[str], settings: Settings) -> None:
        self.name = name
        self.settings = settings
        self.instances = [make_instance(u) for u in urls]
        self.breaker = CircuitBreaker(
            name,
            settings.breaker_failures,
            settings.breaker_min_requests,
            settings.breaker_cooldown_seconds,
        )
        self.budget = RetryBudget(settings.retry_budget_ratio, settings.retry_budget_min_tokens)
        self._next = 0

    def pick(self, tried: tuple[Instance, ...] = ()) -> Instance | None:
        """Round-robin over available instances, preferring ones not tried yet."""
        now = time.monotonic()
        count = len(self.instances)
        fallback = None
        for step in range(count):
            instance = self.instances[(self._next + step) % count]
            if not instance.available(now):
                continue
            if instance in tried:
                fallback = fallback or instance
                continue
            self._next = (self._next + step + 1) % count
            return instance
        return fallback

    def wait_seconds(self) -> int:
        """How long until some instance may be back (for Retry-After)."""
        now = time.monotonic()
        waits = [i.ejected_until - now for i in self.instances if i.ejected_until > now]
        return max(1, math.ceil(min(waits))) if waits else 5

    def add(self, url: str) -> Instance:
        instance = make_instance(url)
        if all(i.url != instance.url for i in self.instances):
            self.instances.append(instance)
        return instance

    def remove(self, url: str) -> bool:
        wanted = url.rstrip("/")
        before = len(self.instances)
        self.instances = [i for i in self.instances if i.url != wanted]
        return len(self.instances) != before

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "breaker": {
                "state": self.breaker.state.value,
                "consecutive_failures": self.breaker.consecutive_failures,
                "requests": self.breaker.requests,
            },
            "instances": [i.describe() for i in self.instances],
        }


class Registry:
    """Every service's pool, and the background task that health-checks their instances."""

    def __init__(self, services: dict[str, list[str]], settings: Settings) -> None:
        self.settings = settings
        self.pools = {name: ServicePool(name, urls, settings) for name, urls in services.items()}
        self._task: asyncio.Task[None] | None = None

    def start(self, session: aiohttp.ClientSession) -> None:
        self._task = asyncio.create_task(self._check_forever(session))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _check_forever(self, session: aiohttp.ClientSession) -> None:
        while True:
            instances = [i for pool in self.pools.values() for i in pool.instances]
            await asyncio.gather(*(self.check(session, i) for i in instances))
            await asyncio.sleep(self.settings.health_check_interval_seconds)

    async def check(self, session: aiohttp.ClientSession, instance: Instance) -> bool:
        timeout = aiohttp.ClientTimeout(total=self.settings.health_check_timeout_seconds)
        try:
            async with session.get(instance.base / "health/ready", timeout=timeout) as response:
                healthy = response.status == 200
            instance.check_timeouts = 0
        except TimeoutError:
            instance.check_timeouts += 1
            healthy = instance.check_timeouts < self.settings.health_check_timeouts_to_eject
            healthy = healthy and instance.healthy
        except (aiohttp.ClientError, OSError):
            instance.check_timeouts = 0
            healthy = False
        if healthy != instance.healthy:
            log.warning("instance_health_changed", url=instance.url, healthy=healthy)
        instance.healthy = healthy
        return healthy
