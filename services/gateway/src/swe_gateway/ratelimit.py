"""Rate limits: GCRA in Redis, every limit of a request checked and charged in one EVALSHA.

GCRA keeps one number per key (the theoretical arrival time), so the check is exact and atomic
across gateway instances sharing Redis. Redis is called (over one pipelined connection, see
``redis_pipe.py``) with a <= 50 ms timeout behind its own breaker; while it is unavailable the
in-process limiter decides (fail-open, the default) or requests are refused with 503
(fail-closed).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import structlog
from redis.exceptions import RedisError

from swe_common.rate_budgets import ANONYMOUS, KEY_BUDGET_CLAIM, WINDOWS
from swe_common.security import Principal
from swe_gateway import metrics
from swe_gateway.config import RouteLimit
from swe_gateway.edge_auth import rate_identity, role_tier
from swe_gateway.redis_pipe import ScriptPipe
from swe_gateway.settings import RedisFailurePolicy, Settings
from swe_gateway.upstreams import CircuitBreaker

log = structlog.stdlib.get_logger(__name__)

# KEYS: one per limit. ARGV: per limit, emission interval and tolerance in ms.
# (The 1e-3 absorbs float error: 60000 / 0.6 must count as 100000, not 99999.)
# Returns {allowed, remaining_1, reset_ms_1, retry_ms_1, remaining_2, ...}; charges every key
# only when every limit allows, so a refused request costs nothing.
GCRA_LUA = """
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local allowed = 1
local out = {}
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local tolerance = tonumber(ARGV[2 * i])
  -- Work in offsets from now: absolute ms times (~1.7e12) lose the fractions we need.
  local behind = (tonumber(redis.call('GET', key)) or now) - now
  if behind < 0 then behind = 0 end
  local ahead = behind + interval
  if ahead - tolerance > 0 then
    allowed = 0
    out[#out + 1] = 0
    out[#out + 1] = math.ceil(behind)
    out[#out + 1] = math.ceil(ahead - tolerance)
  else
    out[#out + 1] = math.floor((tolerance - ahead) / interval + 1e-3)
    out[#out + 1] = math.ceil(ahead)
    out[#out + 1] = 0
  end
  tats[i] = now + ahead
end
if allowed == 1 then
  for i, key in ipairs(KEYS) do
    redis.call('SET', key, string.format('%.3f', tats[i]), 'PX', math.ceil(tats[i] - now) + 1000)
  end
end
table.insert(out, 1, allowed)
return out
"""


COMMAND_CACHE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class Limit:
    name: str
    key: str
    limit: int
    period: float
    burst: float

    @property
    def interval_ms(self) -> float:
        return self.period * 1000 / self.limit

    @property
    def tolerance_ms(self) -> float:
        return self.interval_ms * max(1, math.ceil(self.limit * self.burst))


class Outcome(NamedTuple):
    """One limit's answer. (Immutable tuples: made for every limit of every request, where a
    frozen dataclass's ``__init__`` cost more than the rest of the decision.)"""

    limit: Limit
    remaining: int
    reset_ms: int
    retry_ms: int


def policy_header(limits: Iterable[Limit]) -> bytes:
    """``RateLimit-Policy``: every limit of the request, fixed by the limits alone (the
    limiter keeps it with the encoded command, per caller)."""
    return ", ".join(f'"{o.name}";q={o.limit};w={int(o.period)}' for o in limits).encode()


class Decision(NamedTuple):
    allowed: bool
    outcomes: tuple[Outcome, ...]
    unavailable: bool = False  # fail-closed while Redis is down
    retry_after: int = 0
    policy: bytes | None = None  # RateLimit-Policy when known in advance (else built here)

    @property
    def binding(self) -> Outcome:
        """The outcome a client should see: the refusing limit, else the one nearest to it."""
        outcomes = self.outcomes
        if len(outcomes) == 1:
            return outcomes[0]
        refused = [o for o in outcomes if o.retry_ms > 0]
        if refused:
            return max(refused, key=lambda o: o.retry_ms)
        return min(outcomes, key=lambda o: o.remaining)

    def headers(self) -> list[tuple[bytes, bytes]]:
        if not self.outcomes:
            return []
        top = self.binding
        remaining_text = str(max(0, top.remaining))
        reset_text = str(max(0, math.ceil(top.reset_ms / 1000)))
        limit, remaining = str(top.limit.limit).encode(), remaining_text.encode()
        reset = reset_text.encode()
        policy = self.policy
        if policy is None:
            policy = policy_header(o.limit for o in self.outcomes)
        current = f'"{top.limit.name}";r={remaining_text};t={reset_text}'.encode()
        headers = [
            (b"x-ratelimit-limit", limit),
            (b"x-ratelimit-remaining", remaining),
            (b"x-ratelimit-reset", reset),
            (b"ratelimit-limit", limit),
            (b"ratelimit-remaining", remaining),
            (b"ratelimit-reset", reset),
            (b"ratelimit-policy", policy),
            (b"ratelimit", current),
        ]
        if not self.allowed:
            seconds = max(1, math.ceil(top.retry_ms / 1000))
            headers.append((b"retry-after", str(seconds).encode()))
        return headers


def refusal(decision: Decision) -> tuple[int, str, str, list[tuple[bytes, bytes]]]:
    """(status, detail, problem slug, headers) for a refused decision: 429 with the limit
    headers and Retry-After, or 503 while Redis is down under the fail-closed policy."""
    if decision.unavailable:
        retry = [(b"retry-after", str(decision.retry_after).encode())]
        return 503, "Rate limiting is unavailable; retry shortly.", "unavailable", retry
    metrics.RATE_LIMITED.labels(decision.binding.limit.name).inc()
    detail = "Too many requests; slow down and retry after the given time."
    return 429, detail, "rate-limited", decision.headers()


class LocalLimiter:
    """The same GCRA in process memory: per instance, used only while Redis is unavailable."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._tats: OrderedDict[str, float] = OrderedDict()
        self._max_keys = max_keys

    def check(self, limits: list[Limit]) -> Decision:
        now = time.monotonic() * 1000
        outcomes, new_tats, allowed = [], [], True
        for limit in limits:
            tat = max(self._tats.get(limit.key, now), now)
            new_tat = tat + limit.interval_ms
            allow_at = new_tat - limit.tolerance_ms
            if now < allow_at:
                allowed = False
                outcomes.append(Outcome(limit, 0, math.ceil(tat - now), math.ceil(allow_at - now)))
            else:
                remaining = math.floor(
                    (limit.tolerance_ms - (new_tat - now)) / limit.interval_ms + 1e-3
                )
                outcomes.append(Outcome(limit, remaining, math.ceil(new_tat - now), 0))
            new_tats.append(new_tat)
        if allowed:
            for limit, tat in zip(limits, new_tats, strict=True):
                self._tats[limit.key] = tat
                self._tats.move_to_end(limit.key)
            while len(self._tats) > self._max_keys:
                self._tats.popitem(last=False)
        return Decision(allowed, tuple(outcomes))


def key_budget(principal: Principal) -> dict[str, int]:
    """An API key's own budget, from its token's claim (set by auth when the key was made):
    window -> requests; a malformed claim counts as none (the owner's budget applies)."""
    claim = principal.claims.get(KEY_BUDGET_CLAIM)
    if not isinstance(claim, dict):
        return {}
    return {
        window: limit
        for window, limit in claim.items()
        if window in WINDOWS and type(limit) is int and limit >= 1
    }


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pipe = ScriptPipe(
            settings.redis_url.get_secret_value(), GCRA_LUA, settings.redis_timeout_seconds
        )
        self.local = LocalLimiter()
        self._commands: dict[tuple[str, ...], tuple[bytes, bytes]] = {}
        self._limits: dict[tuple[str, str, int, float], Limit] = {}
        self._callers: dict[tuple[str, str], list[Limit]] = {}
        self._principals: dict[int, tuple[Principal, list[Limit]]] = {}
        self._last_failure = 0.0
        self.breaker = CircuitBreaker(
            "redis",
            settings.redis_breaker_failures,
            1,
            settings.redis_breaker_cooldown_seconds,
        )

    def limit(self, name: str, identity: str, limit: int, period: float) -> Limit:
        known = self._limits.get((name, identity, limit, period))
        if known is None:
            key = f"{self.settings.rate_limit_prefix}:{name}:{identity}"
            known = Limit(name, key, limit, period, self.settings.rate_limit_burst)
            if len(self._limits) >= COMMAND_CACHE_SIZE:
                self._limits.clear()
            self._limits[(name, identity, limit, period)] = known
        return known

    def limits_for(
        self, principal: Principal | None, client_ip: str, route_limits: Iterable[RouteLimit] = ()
    ) -> list[Limit]:
        """A request's limits: the caller's own windows (by its strongest role, keyed by user
        or API key; anonymous callers by address), then the route's stricter ones (by address,
        or by caller for the expensive routes). A route limit that replaces the caller's leaves
        the caller's budget unspent. One function for every entry (proxy, WebSocket, admin
        API), so they share budgets."""
        limits: list[Limit] = []
        replaces = False
        for extra in route_limits:
            if extra.per == "caller" and principal is not None:
                identity = rate_identity(principal)
            else:
                identity = f"ip:{client_ip}"
            limits.append(self.limit(extra.name, identity, extra.limit, extra.period))
            replaces = replaces or extra.replaces_caller_limit
        if replaces:
            return limits
        own = self.caller_limits(principal, client_ip)
        return [*own, *limits] if limits else own  # the cached list: callers only read it

    def caller_limits(self, principal: Principal | None, client_ip: str) -> list[Limit]:
        """The caller's windows, cached per caller (they follow from its tier and identity:
        an API key's own budget is fixed when the key is made)."""
        if principal is None:
            tier, identity = ANONYMOUS, f"ip:{client_ip}"
        else:
            # The token cache hands out one Principal per token: remember its windows by
            # identity (the entry keeps the principal, so its id cannot be reused meanwhile).
            seen = self._principals.get(id(principal))
            if seen is not None and seen[0] is principal:
                return seen[1]
            tier, identity = role_tier(principal), rate_identity(principal)
        known = self._callers.get((tier, identity))
        if known is None:
            known = self._caller_windows(principal, tier, identity)
        if principal is not None:
            if len(self._principals) >= COMMAND_CACHE_SIZE:
                self._principals.clear()
            self._principals[id(principal)] = (principal, known)
        return known

    def _caller_windows(self, principal: Principal | None, tier: str, identity: str) -> list[Limit]:
        own = key_budget(principal) if principal is not None and principal.api_key_id else {}
        rates = self.settings.rate_limits
        budget = rates.get(tier, rates[ANONYMOUS])
        windows: list[tuple[str, int, float]]
        if isinstance(budget, int):  # one window of rate_limit_period_seconds
            windows = [(tier, budget, self.settings.rate_limit_period_seconds)]
            windows += [(f"key-{w}", n, WINDOWS[w]) for w, n in own.items()]
        else:
            role: dict[str, int] = {str(w): n for w, n in budget.items()}
            if own:  # the key's own windows, none above its owner's role
                merged = {**role, **{w: min(n, role.get(w, n)) for w, n in own.items()}}
                windows = [(f"key-{w}", n, WINDOWS[w]) for w, n in merged.items()]
            else:
                windows = [(f"{tier}-{w}", n, WINDOWS[w]) for w, n in role.items()]
        known = [self.limit(name, identity, n, period) for name, n, period in windows]
        if len(self._callers) >= COMMAND_CACHE_SIZE:
            self._callers.clear()
        self._callers[(tier, identity)] = known
        return known

    async def check(self, limits: list[Limit]) -> Decision:
        if self.breaker.allow():
            started = time.monotonic()
            try:
                decision = await self._check_redis(limits)
            except (RedisError, OSError, TimeoutError) as exc:
                # Calls that were in flight together fail together: count them as one failure,
                # or one slow moment would open the breaker.
                if started >= self._last_failure:
                    self.breaker.record(False)
                    self._last_failure = time.monotonic()
                    log.warning("rate_limit_redis_failed", error=type(exc).__name__)
                else:
                    self.breaker.release()
            else:
                self.breaker.record(True)
                return decision
        return self._fallback(limits)

    async def _check_redis(self, limits: list[Limit]) -> Decision:
        command, policy = self._command(limits)
        raw = await self.pipe.call(command, self.settings.redis_timeout_seconds)
        outcomes = tuple(
            Outcome(limit, int(raw[1 + 3 * i]), int(raw[2 + 3 * i]), int(raw[3 + 3 * i]))
            for i, limit in enumerate(limits)
        )
        return Decision(bool(int(raw[0])), outcomes, policy=policy)

    def _command(self, limits: list[Limit]) -> tuple[bytes, bytes]:
        """The encoded EVALSHA for these limits and their RateLimit-Policy header, kept per
        caller: a caller's limits are fixed by configuration, and encoding them was a visible
        share of the CPU per request."""
        key = tuple([limit.key for limit in limits])  # a limit's numbers follow from its key
        known = self._commands.get(key)
        if known is None:
            args: list[float] = []
            for limit in limits:
                args += (limit.interval_ms, limit.tolerance_ms)
            known = (self.pipe.command([limit.key for limit in limits], args),
                     policy_header(limits))  # fmt: skip
            if len(self._commands) >= COMMAND_CACHE_SIZE:
                self._commands.clear()  # callers come back; a full rebuild is cheap and rare
            self._commands[key] = known
        return known

    def _fallback(self, limits: list[Limit]) -> Decision:
        policy = self.settings.redis_failure_policy
        metrics.REDIS_FALLBACKS.labels(policy.value).inc()
        if policy is RedisFailurePolicy.closed:
            return Decision(False, (), unavailable=True, retry_after=self.breaker.retry_after())
        return self.local.check(limits)
