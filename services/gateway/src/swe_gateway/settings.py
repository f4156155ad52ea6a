"""Gateway settings: ``GATEWAY_<FIELD>``, then ``SWE_<FIELD>``, then the default."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import SettingsConfigDict

from swe_common.rate_budgets import (
    DEFAULT_ROLE_BUDGETS,
    Budget,
    Requests,
    default_role_budgets,
)
from swe_common.settings import ServiceSettings


class RedisFailurePolicy(StrEnum):
    open = "open"  # keep serving, limited by the in-process limiter
    closed = "closed"  # refuse with 503 until Redis answers again


MAX_WEIGHT = 1000


class UpstreamInstance(BaseModel):
    """One upstream instance: its base URL and its share of the service's requests.

    ``weight`` 0 drains the instance: it stays registered and health-checked but gets no new
    requests. A plain URL string is accepted wherever an instance is, with weight 1.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://", max_length=300)
    weight: int = Field(default=1, ge=0, le=MAX_WEIGHT)


class RouteLimitSetting(BaseModel):
    """``GATEWAY_ROUTE_LIMITS='{"agent-start": {"limit": 5}}'``: a named ``[[limits]]`` entry's
    numbers, replacing the routes file's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: Requests | None = None
    period: float | None = Field(default=None, gt=0, le=86_400)


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    service_name: str = "gateway"
    port: int = 8000
    workers: int = Field(default=1, ge=1, le=64)

    # Routes and instances: a TOML file (the packaged routes.toml by default), with instances
    # overridable as JSON, e.g. GATEWAY_UPSTREAMS='{"auth": ["http://127.0.0.1:9001"]}', where
    # an instance may also be {"url": "http://127.0.0.1:9002", "weight": 3}.
    routes_file: str | None = None
    upstreams: dict[str, list[str | UpstreamInstance]] = Field(default_factory=dict)

    access_log: bool = True
    # Prometheus metrics on their own listener, not the public port (loopback by default; a
    # container sets 0.0.0.0 and keeps the port off its published ones).
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(default=9000, ge=1, le=65535)
    trusted_proxies: list[str] = Field(default_factory=list)
    ip_allow: list[str] = Field(default_factory=list)
    ip_deny: list[str] = Field(default_factory=list)
    # Request bodies: a route may set its own (routes.toml ``max_body_bytes``), and
    # ``[[body_limits]]`` set one for paths (the GitHub webhook: 25 MiB); public paths, which
    # anyone may call, are capped at ``public_max_body_bytes``.
    max_body_bytes: int = Field(default=1024 * 1024, ge=0)
    public_max_body_bytes: int = Field(default=64 * 1024, ge=0)
    # A client must send a request's head within this time, and its body without pausing
    # longer than the idle time between two chunks (else 408 and the connection is closed).
    request_head_timeout_seconds: float = Field(default=10.0, gt=0)
    request_body_idle_seconds: float = Field(default=30.0, gt=0)

    # Rate limits per caller, by its strongest role ("anonymous": per client address), each a
    # budget of windows counted together, e.g. {"user": {"minute": 60, "hour": 1000}}
    # (swe_common.rate_budgets; SWE_RATE_LIMITS sets the gateway's and auth's at once). A role
    # named replaces that role's windows, the others keep their defaults. A plain number
    # ({"user": 600}) is one window of rate_limit_period_seconds.
    rate_limit_enabled: bool = True
    rate_limit_period_seconds: float = Field(default=60.0, gt=0)
    rate_limits: dict[str, Requests | Budget] = Field(default_factory=default_role_budgets)
    # Burst allowance as a multiple of each window's quota spread over the window: a burst of
    # 1.0 lets the whole window's quota arrive at once.
    rate_limit_burst: float = Field(default=1.0, gt=0)
    # The numbers of named per-route limits ([[limits]] in the routes file: agent starts,
    # exports, GitHub syncs, login...), replacing the file's.
    route_limits: dict[str, RouteLimitSetting] = Field(default_factory=dict)
    rate_limit_prefix: str = "swe:gateway:rl"
    redis_timeout_seconds: float = Field(default=0.05, gt=0, le=0.05)
    redis_failure_policy: RedisFailurePolicy = RedisFailurePolicy.open
    redis_breaker_failures: int = Field(default=3, ge=1)
    redis_breaker_cooldown_seconds: float = Field(default=5.0, gt=0)

    # The registry's runtime changes (admin API), shared by every gateway instance through
    # Redis: a change is published at once, and each instance also re-reads the state every
    # registry_reconcile_seconds, so a missed message still converges.
    registry_prefix: str = "swe:gateway:registry"
    registry_reconcile_seconds: float = Field(default=5.0, gt=0, le=300)

    # The token cache (token_cache_size) is ServiceSettings'. The gateway re-checks a cached
    # token's revocation at most this often (the services behind it re-check every request).
    revocation_recheck_seconds: float = Field(default=1.0, ge=0, le=60)
    # How often an open WebSocket re-checks that its token, session and user still stand.
    websocket_revocation_check_seconds: float = Field(default=2.0, gt=0, le=60)
    api_key_refresh_margin_seconds: float = Field(default=30.0, ge=0)

    # Resilience.
    breaker_failures: int = Field(default=5, ge=1)
    breaker_min_requests: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = Field(default=30.0, gt=0)
    ejection_failures: int = Field(default=3, ge=1)
    ejection_base_seconds: float = Field(default=10.0, gt=0)
    ejection_max_seconds: float = Field(default=300.0, gt=0)
    # At most this share of a service's instances (rounded down) is ejected at once, and never
    # the last available one whatever the share (Envoy's max_ejection_percent).
    ejection_max_percent: int = Field(default=50, ge=0, le=100)
    health_check_interval_seconds: float = Field(default=5.0, gt=0)
    health_check_timeout_seconds: float = Field(default=2.0, gt=0)
    # A readiness check that times out counts only after this many in a row: an instance that
    # is slow under load is still serving, and ejecting the only one would turn it into an
    # outage. An answer other than 200, or a refused connection, counts at once.
    health_check_timeouts_to_eject: int = Field(default=3, ge=1)
    retry_attempts: int = Field(default=2, ge=0, le=5)
    retry_backoff_seconds: float = Field(default=0.05, ge=0)
    retry_budget_ratio: float = Field(default=0.2, ge=0, le=1)
    retry_budget_min_tokens: float = Field(default=10.0, ge=0)
    connect_timeout_seconds: float = Field(default=2.0, gt=0)
    default_timeout_seconds: float = Field(default=30.0, gt=0)
    pool_size_per_host: int = Field(default=256, ge=1)
    # Below uvicorn's 5 s keep-alive: a pooled connection is never reused just as the upstream
    # closes it (a POST on such a connection fails and is not retried).
    upstream_keepalive_seconds: float = Field(default=4.0, gt=0)
    openapi_cache_seconds: float = Field(default=60.0, gt=0)
    # GET /info: an image sets these at build time; a source checkout reads its git commit.
    build_commit: str = ""
    build_time: str = ""
    # GET /asyncapi.yaml: the events' contract (docs/asyncapi.yaml of the checkout by default).
    asyncapi_file: str = ""

    @field_validator("rate_limits", mode="after")
    @classmethod
    def _over_defaults(cls, value: dict[str, int | Budget]) -> dict[str, int | Budget]:
        return {**DEFAULT_ROLE_BUDGETS, **value}
