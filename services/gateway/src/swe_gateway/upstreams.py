"""Upstream instances and the two kinds of breaking.

Balancing: smooth weighted round-robin (nginx's algorithm) over the available instances, so
an instance of weight 3 next to one of weight 1 gets three of every four requests, interleaved
(a a b a), not in bursts; with equal weights it is plain round-robin. Weight 0 drains.

Only evidence that an instance is unhealthy counts as a failure, for ejection and breaker
alike: a connect error, a timeout, a broken or invalid answer, or 502/503/504 answered by the
instance itself. A 500 (or 501...) answers one request: a caller who finds an input that
answers 500 must not take the service away from everyone else, so it counts as an answer.

Per instance: passive ejection after consecutive failures, for a time that doubles with each
ejection, never more than ``ejection_max_percent`` of a service's instances at once and never
the last available one; plus active ``/health/ready`` checks. Per service: a circuit breaker
(closed -> open after N consecutive failures once a minimum number of requests has been seen
-> half-open after a cool-down, one trial request -> closed on success).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import aiohttp
import structlog
from yarl import URL

from swe_gateway import metrics
from swe_gateway.settings import Settings, UpstreamInstance

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


# Compared by identity: ``instance in tried`` on the hot path must not compare every field.
@dataclass(eq=False)
class Instance:
    url: str
    base: URL
    weight: int = 1  # share of new requests; 0 drains the instance
    current: int = 0  # smooth weighted round-robin state
    healthy: bool = True
    check_timeouts: int = 0
    consecutive_failures: int = 0
    ejections: int = 0
    ejected_until: float = 0.0

    def available(self, now: float) -> bool:
        """May take new requests (``ServicePool.pick`` inlines this on the hot path)."""
        return self.weight > 0 and self.healthy and now >= self.ejected_until

    def record_success(self, settings: Settings, now: float) -> None:
        self.consecutive_failures = 0
        # Forget past ejections once the instance has behaved for a long stretch.
        if self.ejections and now - self.ejected_until > settings.ejection_max_seconds:
            self.ejections = 0

    def eject(self, settings: Settings, now: float) -> None:
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
            "weight": self.weight,
            "healthy": self.healthy,
            "ejected": now < self.ejected_until,
            "ejected_for_seconds": round(max(0.0, self.ejected_until - now), 1),
            "ejections": self.ejections,
            "consecutive_failures": self.consecutive_failures,
        }


def make_instance(url: str, weight: int = 1) -> Instance:
    base = URL(url.rstrip("/"))
    if base.scheme not in ("http", "https") or not base.host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    if weight < 0:
        raise ValueError(f"weight must be 0 or more, not {weight}")
    return Instance(url=str(base), base=base, weight=weight)


def _instance_of(spec: str | UpstreamInstance) -> Instance:
    if isinstance(spec, str):
        return make_instance(spec)
    return make_instance(spec.url, spec.weight)


class ServicePool:
    def __init__(
        self, name: str, instances: Sequence[str | UpstreamInstance], settings: Settings
    ) -> None:
        self.name = name
        self.settings = settings
        self.instances = [_instance_of(spec) for spec in instances]
        self.breaker = CircuitBreaker(
            name,
            settings.breaker_failures,
            settings.breaker_min_requests,
            settings.breaker_cooldown_seconds,
        )
        self.budget = RetryBudget(settings.retry_budget_ratio, settings.retry_budget_min_tokens)

    def pick(self, tried: tuple[Instance, ...] = ()) -> Instance | None:
        """Smooth weighted round-robin over available instances with a weight, preferring
        ones not tried yet (a retry goes back to a tried one only when none is left)."""
        now = time.monotonic()
        best: Instance | None = None
        fallback: Instance | None = None
        total = 0
        # One pass, no allocation: every candidate gains its weight, the one furthest ahead
        # wins and pays back the sum, so over sum(weights) picks each gets its weight's share.
        for instance in self.instances:
            weight = instance.weight
            if weight <= 0 or not instance.healthy or now < instance.ejected_until:
                continue
            if tried and instance in tried:
                if fallback is None:
                    fallback = instance
                continue
            current = instance.current + weight
            instance.current = current
            total += weight
            if best is None or current > best.current:
                best = instance
        if best is None:
            return fallback
        best.current -= total
        return best

    def record(self, instance: Instance, healthy: bool) -> None:
        """An answer (or its absence) from ``instance``: ``healthy`` is False only on evidence
        that the instance itself is failing (see the module docstring)."""
        now = time.monotonic()
        if healthy:
            instance.record_success(self.settings, now)
            return
        if now < instance.ejected_until:
            return  # answers still in flight when it was ejected do not extend the ejection
        instance.consecutive_failures += 1
        if instance.consecutive_failures < self.settings.ejection_failures:
            return
        if self._may_eject(instance, now):
            instance.eject(self.settings, now)
        else:
            # Keep it serving: ejecting it would leave the service with too few instances
            # (or none), and the breaker still guards the service as a whole.
            instance.consecutive_failures = 0
            log.warning("instance_ejection_skipped", url=instance.url, service=self.name)

    def _may_eject(self, instance: Instance, now: float) -> bool:
        """Envoy's max ejection percentage, and never the last available instance."""
        serving = [i for i in self.instances if i.weight > 0]
        ejected = sum(1 for i in serving if now < i.ejected_until)
        allowed = math.floor(len(serving) * self.settings.ejection_max_percent / 100)
        others = any(i is not instance and i.healthy and now >= i.ejected_until for i in serving)
        return others and ejected < allowed

    def wait_seconds(self) -> int:
        """How long until some instance may be back (for Retry-After)."""
        now = time.monotonic()
        waits = [i.ejected_until - now for i in self.instances if i.ejected_until > now]
        return max(1, math.ceil(min(waits))) if waits else 5

    def find(self, url: str) -> Instance | None:
        wanted = url.rstrip("/")
        return next((i for i in self.instances if i.url == wanted), None)

    def add(self, url: str, weight: int | None = None) -> tuple[Instance, bool]:
        """Register an instance, or change a registered one's weight when given one;
        (the instance, whether it is new)."""
        instance = make_instance(url, 1 if weight is None else weight)
        known = self.find(instance.url)
        if known is None:
            self.instances.append(instance)
            return instance, True
        if weight is not None and weight != known.weight:
            known.weight = weight
            known.current = 0
            log.info("instance_weight_changed", url=known.url, weight=weight)
        return known, False

    def sync(self, specs: Sequence[UpstreamInstance]) -> None:
        """Make these the pool's instances (the shared registry's state): an instance already
        known by its URL keeps its health and ejection state and takes the new weight; new URLs
        join, missing ones leave."""
        known = {instance.url: instance for instance in self.instances}
        instances = []
        for spec in specs:
            fresh = make_instance(spec.url, spec.weight)
            current = known.get(fresh.url)
            if current is None:
                instances.append(fresh)
                continue
            if current.weight != fresh.weight:
                current.weight = fresh.weight
                current.current = 0
                log.info("instance_weight_changed", url=current.url, weight=fresh.weight)
            instances.append(current)
        self.instances = instances

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


class Pools(dict[str, ServicePool]):
    """Service name -> pool. A service that is gone (deregistered at runtime while one of its
    requests was in flight) reads as an empty pool: that request gets 503, not an error."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def __missing__(self, name: str) -> ServicePool:
        return ServicePool(name, [], self.settings)


class Registry:
    """Every service's pool, and the background task that health-checks their instances."""

    def __init__(
        self, services: Mapping[str, Sequence[str | UpstreamInstance]], settings: Settings
    ) -> None:
        self.settings = settings
        self.pools = Pools(settings)
        for name, specs in services.items():
            self.pools[name] = ServicePool(name, specs, settings)
        self._task: asyncio.Task[None] | None = None

    def sync(self, services: Mapping[str, Sequence[UpstreamInstance]]) -> None:
        """Make these the services and their instances (``ServicePool.sync``); a pool keeps
        its breaker, and a service no longer named leaves."""
        for name, specs in services.items():
            pool = self.pools.get(name)
            if pool is None:
                self.pools[name] = ServicePool(name, specs, self.settings)
                log.info("service_registered", service=name)
            else:
                pool.sync(specs)
        for name in [name for name in self.pools if name not in services]:
            del self.pools[name]
            log.info("service_deregistered", service=name)

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
