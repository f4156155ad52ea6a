"""The app factory: a service's ``main.py`` names its routers, events and checks; this wires
logging, tracing, request ids, problem+json errors, the database, Redis, token verification,
the event runtime (outbox relay and consumers), health, metrics and CORS.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware

from swe_common import heap
from swe_common.db import Database
from swe_common.docs_pages import docs_router
from swe_common.errors import install_error_handlers
from swe_common.events import EventRuntime, EventTables, Subscription
from swe_common.health import HealthCheck, health_router
from swe_common.health_detailed import (
    DetailCheck,
    broker_check,
    database_check,
    detailed_health_router,
    outbox_check,
    queues_check,
    redis_check,
)
from swe_common.logging import configure_logging, get_logger
from swe_common.metrics import CountedRedis, http_metrics, metrics_router, register_engine
from swe_common.middleware import QUIET_PATHS, RouteMiddleware, ServiceMiddleware
from swe_common.route_facts import install as install_route_facts
from swe_common.security import (
    CachingTokenVerifier,
    JWKSClient,
    TokenVerifier,
    follow_revocations,
    redis_revocation_check,
    scope_guards,
)
from swe_common.settings import ServiceSettings
from swe_common.tasks import cancel_and_wait
from swe_common.tracing import fastapi_telemetry, setup_tracing

Hook = Callable[[FastAPI], Awaitable[None]]
log = get_logger(__name__)


@dataclass
class ServiceSpec:
    """What a service contributes; everything else is the platform's."""

    settings: ServiceSettings
    title: str
    routers: Sequence[APIRouter]
    version: str = "0.1.0"
    description: str = ""
    event_tables: EventTables | None = None
    subscriptions: Sequence[Subscription] = ()
    use_redis: bool = False
    verify_tokens: bool = True
    checks: Sequence[HealthCheck] = ()
    # What /health/detailed (admins) reports besides the database, broker, Redis, outbox and
    # queues: built from the running app, e.g. the agents worker's heartbeat, auth's SMTP.
    detail_checks: Sequence[Callable[[FastAPI], DetailCheck]] = ()
    on_startup: Sequence[Hook] = ()
    on_shutdown: Sequence[Hook] = ()
    openapi_tags: list[dict[str, Any]] = field(default_factory=list)
    # Path patterns (``*`` = one segment) that take bodies larger or smaller than the
    # service's MAX_BODY_BYTES, e.g. {"/api/v1/projects/*/webhooks/github": 25 * 1024 * 1024}.
    body_limits: Mapping[str, int] = field(default_factory=dict)
    # Queues besides the consumers' whose depth (and DLQ depth) /metrics and /health/detailed
    # report, e.g. agents' run queue.
    watched_queues: Sequence[str] = ()


def redis_client(settings: ServiceSettings) -> aioredis.Redis:
    # Short timeouts: a slow Redis must fail fast, not hold requests.
    return CountedRedis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=0.25,
        socket_connect_timeout=0.25,
        decode_responses=True,
    )


def create_service_app(spec: ServiceSpec) -> FastAPI:
    settings = spec.settings
    configure_logging(settings)
    # Path and query parameters read with their route-only facts worked out once (FastAPI
    # re-derived them on every request: most of a list page's parameter handling).
    install_route_facts()
    setup_tracing(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings)
        app.state.db = db
        app.state.detail_checks = None  # built again from this run's parts (_detail_checks)
        app.state.redis = redis_client(settings) if spec.use_redis else None
        jwks: JWKSClient | None = None
        if spec.verify_tokens and getattr(app.state, "token_verifier", None) is None:
            jwks = JWKSClient(settings.jwks_url)
            # Verified tokens are kept for their lifetime; a kept token's revocation is
            # re-checked at most revocation_recheck_seconds apart (as at the gateway).
            app.state.token_verifier = CachingTokenVerifier(
                TokenVerifier(
                    jwks,
                    issuer=settings.jwt_issuer,
                    audience=settings.jwt_audience,
                    is_revoked=(
                        redis_revocation_check(app.state.redis, fail_open=True)
                        if app.state.redis
                        else None
                    ),
                ),
                size=settings.token_cache_size,
                recheck_seconds=settings.revocation_recheck_seconds,
            )
        events = EventRuntime(
            settings, db, spec.event_tables, spec.subscriptions, watched_queues=spec.watched_queues
        )
        app.state.events = events
        register_engine(settings.service_name, db.engine)
        await events.start()
        for hook in spec.on_startup:
            await hook(app)
        feed: asyncio.Task[None] | None = None
        verifier = getattr(app.state, "token_verifier", None)
        if app.state.redis is not None and isinstance(verifier, CachingTokenVerifier):
            # Auth's announcements make the cache re-check at once (revocation_recheck_seconds
            # only bounds a missed one): a revoked token is refused by the next request.
            feed = asyncio.create_task(
                follow_revocations(app.state.redis, verifier), name="revocation-feed"
            )
        # What start-up made stays until exit: out of the collector's passes (swe_common.heap).
        heap.settle()
        log.info("service_started", port=settings.port, environment=settings.environment)
        try:
            yield
        finally:
            if feed is not None:
                await cancel_and_wait([feed])
            for hook in reversed(spec.on_shutdown):
                await hook(app)
            await events.stop()
            if jwks is not None:
                await jwks.close()
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await db.dispose()

    app = FastAPI(
        title=spec.title,
        version=spec.version,
        description=spec.description,
        lifespan=lifespan,
        openapi_tags=spec.openapi_tags or None,
        # A redirect would carry this instance's own address to the client; the slash is
        # dropped before routing instead (ServiceMiddleware).
        redirect_slashes=False,
        # /docs and /redoc with their assets served locally (swe_common.docs_pages), no CDN.
        docs_url=None,
        redoc_url=None,
        # A server span per request when tracing is on (swe_common.tracing), none when off.
        telemetry=fastapi_telemetry(QUIET_PATHS),
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in spec.routers:
        _require_scope_guards(router)
        app.include_router(router)
    app.include_router(health_router(_checks(app, spec)))
    app.include_router(detailed_health_router(lambda: _detail_checks(app, spec), _about(spec)))
    app.include_router(docs_router("/openapi.json", spec.title))
    app.include_router(metrics_router())
    metrics = http_metrics(settings.service_name.replace("-", "_"))
    cors = bool(settings.cors_origins)
    if cors:
        # CORS answers preflights itself: behind it, as before, no NUL check and no metrics.
        app.add_middleware(RouteMiddleware, metrics=metrics)
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    # Requests in progress, the trailing slash, the request context and the body limit (inside
    # the request context: its 413 carries the request id, outside everything that parses a
    # body), then (without CORS) NUL refusal and the request metrics: one layer.
    app.add_middleware(
        ServiceMiddleware,
        max_bytes=settings.max_body_bytes,
        per_path=spec.body_limits,
        metrics=metrics,
        inner=not cors,
    )
    return app


def _require_scope_guards(router: APIRouter) -> None:
    """Refuse to build a service with a route an API key could reach unchecked: every router
    carries ``dependencies=[api_key_scope(<family>)]`` (see ``swe_common.security``)."""
    unguarded = [getattr(route, "path", "?") for route in router.routes if not scope_guards(route)]
    if unguarded:
        raise RuntimeError(
            f"routes without an API-key scope guard: {', '.join(unguarded)}; give their "
            "router dependencies=[api_key_scope(...)]"
        )


def _about(spec: ServiceSpec) -> dict[str, Any]:
    settings = spec.settings
    try:
        package_version = version(f"swe-{settings.service_name}")
    except PackageNotFoundError:
        package_version = spec.version
    return {
        "service": settings.service_name,
        "version": package_version,
        "build": {"commit": settings.build_commit or None, "time": settings.build_time or None},
        "environment": settings.environment.value,
        "instance": socket.gethostname(),
    }


def _detail_checks(app: FastAPI, spec: ServiceSpec) -> list[DetailCheck]:
    """Built once, at the first /health/detailed (they need what the lifespan made)."""
    state = app.state
    built: list[DetailCheck] | None = getattr(state, "detail_checks", None)
    if built is not None:
        return built
    events = state.events
    checks = [database_check(state.db, spec.settings.service_name)]
    if spec.event_tables is not None or spec.subscriptions:
        checks.append(broker_check(lambda: bool(events.is_connected)))
    if state.redis is not None:
        checks.append(redis_check(state.redis))
    if events.relay is not None:
        checks.append(outbox_check(events.relay))
    if events.queue_watcher.queues:
        checks.append(queues_check(events.queue_watcher))
    state.detail_checks = [*checks, *(build(app) for build in spec.detail_checks)]
    return list(state.detail_checks)


def _checks(app: FastAPI, spec: ServiceSpec) -> list[HealthCheck]:
    async def database() -> None:
        await app.state.db.ping()

    async def broker() -> bool:
        return bool(app.state.events.is_connected)

    async def redis() -> None:
        await app.state.redis.ping()

    checks = [HealthCheck("database", database)]
    if spec.event_tables is not None or spec.subscriptions:
        checks.append(HealthCheck("broker", broker, critical=False))
    if spec.use_redis:
        checks.append(HealthCheck("redis", redis, critical=False))
    return [*checks, *spec.checks]
