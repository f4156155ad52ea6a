"""The gateway's ASGI app: ``uvicorn --factory swe_gateway.main:create_app``.

A raw ASGI dispatcher: the gateway's own paths (admin API, health, metrics, docs) go to a
small FastAPI app; everything else takes the proxy's hot path without any framework routing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import aiohttp.web
import redis.asyncio as aioredis
import structlog
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from swe_common import tracing
from swe_common.context import clean_id, new_request_id, request_id_var
from swe_common.docs_pages import ASSET_PREFIX
from swe_common.errors import INTERNAL_ERROR_DETAIL, send_problem
from swe_common.logging import AccessLogger, configure_logging
from swe_common.metrics import CountedRedis
from swe_common.middleware import BodyLimitMiddleware
from swe_common.security import InvalidToken, follow_revocations
from swe_common.tasks import cancel_and_wait
from swe_common.tracing import setup_tracing
from swe_gateway import about, spans
from swe_gateway.admin import AggregateHealth, OpenApiMerger, build_admin_app, caller_of
from swe_gateway.config import GatewayConfig, load_config
from swe_gateway.edge_auth import CredentialsUnavailable, EdgeAuth
from swe_gateway.http_util import (
    SECURITY_HEADERS,
    Networks,
    client_chain,
    header,
)
from swe_gateway.metrics import InProgress, serve_metrics
from swe_gateway.proxy import Call, Proxy
from swe_gateway.ratelimit import RateLimiter, refusal
from swe_gateway.settings import Settings
from swe_gateway.shared_registry import SharedRegistry
from swe_gateway.upstream_client import UpstreamClient
from swe_gateway.upstreams import Registry
from swe_gateway.websocket import deny, proxy_websocket

log = structlog.stdlib.get_logger("swe.gateway")

# /metrics is not among them: it has its own listener (metrics.serve_metrics), off this port.
OWN_PATHS = frozenset(
    {
        "/health",
        "/health/live",
        "/health/ready",
        "/health/detailed",
        "/docs",
        "/redoc",
        "/openapi.json",
        "/asyncapi.yaml",
        "/info",
    }
)
DOCS_ASSETS = ASSET_PREFIX + "/"
OWN_PREFIX = "/api/v1/gateway/"
QUIET_PATHS = frozenset({"/health/live", "/health/ready"})
# Headers aiohttp would invent on the paths it still serves (WebSockets, health checks, the
# API-key exchange, the OpenAPI merge); the client's own (or none) go upstream instead.
SKIP_AUTO = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


@dataclass(frozen=True, slots=True)
class Parts:
    """What the gateway's requests use, each part built with its collaborators by
    ``build_parts``, inside the event loop (the HTTP clients need a running one)."""

    redis: aioredis.Redis
    session: aiohttp.ClientSession  # WebSockets, health checks, API-key exchange, OpenAPI merge
    client: UpstreamClient  # the hot path's upstream requests
    registry: Registry
    auth: EdgeAuth
    limiter: RateLimiter
    proxy: Proxy
    admin: ASGIApp
    shared: SharedRegistry  # the registry's runtime changes, shared through Redis

    async def close(self) -> None:
        await self.shared.stop()
        await self.registry.stop()
        self.client.close()
        await self.session.close()
        jwks_close: Callable[[], Awaitable[Any]] | None = getattr(self.auth.jwks, "close", None)
        if jwks_close is not None:
            await jwks_close()
        self.limiter.pipe.close()
        await self.redis.aclose()


def build_parts(settings: Settings, config: GatewayConfig) -> Parts:
    redis = CountedRedis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        # No client-side retries: a slow Redis must cost one timeout, not four.
        retry=Retry(NoBackoff(), 0),
        decode_responses=True,
    )
    connector = aiohttp.TCPConnector(
        limit=0,
        limit_per_host=settings.pool_size_per_host,
        keepalive_timeout=settings.upstream_keepalive_seconds,
    )
    session = aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),  # never keep one client's cookies for another
        auto_decompress=False,  # pass bodies through exactly as encoded
        timeout=aiohttp.ClientTimeout(total=None),
        skip_auto_headers=SKIP_AUTO,  # set once here: per request it costs a set per call
    )
    client = UpstreamClient(
        max_connections=settings.pool_size_per_host,
        keepalive_seconds=settings.upstream_keepalive_seconds,
    )
    registry = Registry(config.services, settings)
    shared = SharedRegistry(settings, config, registry)
    auth = EdgeAuth(settings, redis, registry.pools.get("auth"), session)
    limiter = RateLimiter(settings)
    proxy = Proxy(settings, config, registry, auth, limiter, session, client)
    merger = OpenApiMerger(registry, settings.openapi_cache_seconds, session)
    health = AggregateHealth(registry, session)
    # The admin API takes small JSON bodies only; anyone can reach it (401 comes after
    # FastAPI has read the body), so the public paths' limit applies.
    admin = BodyLimitMiddleware(
        build_admin_app(auth, registry, merger, health, redis.ping, shared, about.load(settings)),
        settings.public_max_body_bytes,
    )
    return Parts(redis, session, client, registry, auth, limiter, proxy, admin, shared)


class Gateway:
    """One request: the gateway's own paths, or the proxy's hot path."""

    def __init__(self, settings: Settings, config: GatewayConfig, parts: Parts) -> None:
        self.settings = settings
        self.config = config
        self.parts = parts
        self.auth = parts.auth
        self.limiter = parts.limiter
        self.proxy = parts.proxy
        self.admin = parts.admin
        self.trusted = Networks(settings.trusted_proxies)
        self.allow = Networks(settings.ip_allow)
        self.deny = Networks(settings.ip_deny)
        self.in_progress = InProgress()  # swe_http_requests_in_progress
        # The access line (on in production) rendered directly: structlog's path through the
        # standard library's logging was the largest share of a request's CPU.
        self._access_log = AccessLogger("swe.gateway.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].endswith("/") and len(scope["path"]) > 1:
            scope = without_trailing_slash(scope)
        call = self._call(scope)
        request_id = call.request_id
        reset = request_id_var.set(request_id)
        started = time.perf_counter()
        route_label, upstream, status = "-", "-", 0
        span = None
        if tracing.enabled() and scope["type"] == "http" and scope["path"] not in QUIET_PATHS:
            span, span_token = spans.start(scope, call.method, request_id, call.client_ip)
            call.span = span if span.is_recording() else None
            call.traceparent = spans.traceparent(span)
        in_progress = self.in_progress
        in_progress.count += 1
        try:
            if self._ip_refused(call.client_ip):
                status = await self._refuse_ip(scope, call, send)
            elif has_dot_segment(scope["path"]):
                # An upstream that resolves "/public/../private" would see a path the gateway
                # never authorised: refuse such paths instead of guessing how each resolves.
                detail = "Paths with '.' or '..' segments are not accepted."
                status = await self.proxy._problem(send, call, 400, detail, "bad-path")
            elif scope["path"] in OWN_PATHS or scope["path"].startswith((OWN_PREFIX, DOCS_ASSETS)):
                route_label, status = "gateway", await self._own(call, receive, send)
            else:
                route = self.config.route_for(scope["path"])
                if route is None or (scope["type"] == "websocket" and route.methods):
                    status = await self._not_found(scope, call, send)
                else:
                    route_label, upstream = route.prefix or "/", route.service
                    if scope["type"] == "websocket":
                        status = await proxy_websocket(self.proxy, call, route, receive, send)
                    else:
                        status = await self.proxy.handle(call, route, receive, send)
        except Exception:
            log.exception("unhandled_error", path=scope["path"], request_id=request_id)
            status = 500
            if scope["type"] == "http":
                # The server refuses a second start once an answer has begun (RuntimeError); it
                # then cuts the connection, the only honest signal left mid-answer.
                with contextlib.suppress(RuntimeError):
                    await send_problem(
                        send,
                        500,
                        detail=INTERNAL_ERROR_DETAIL,
                        slug="internal",
                        instance=scope["path"],
                    )
        finally:
            in_progress.count -= 1
            request_id_var.reset(reset)
            self.proxy.requests.inc(route_label, status, upstream)
            if self.settings.access_log and scope["path"] not in QUIET_PATHS:
                self._access_log.info(
                    "request",
                    method=call.method,
                    path=scope["path"],
                    status=status,
                    upstream=upstream,
                    request_id=request_id,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                )
            if span is not None:
                spans.end(span, span_token, call.method, status, route_label, upstream)

    def _call(self, scope: Scope) -> Call:
        # One pass over the headers for the five the gateway reads (the first of each counts).
        raw_id = forwarded = host = forwarded_host = proto = None
        for name, value in scope["headers"]:
            if name == b"host":
                if host is None:
                    host = value
            elif name == b"x-request-id":
                if raw_id is None:
                    raw_id = value
            elif name == b"x-forwarded-for":
                if forwarded is None:
                    forwarded = value
            elif name == b"x-forwarded-host":
                if forwarded_host is None:
                    forwarded_host = value
            elif name == b"x-forwarded-proto" and proto is None:
                proto = value
        request_id = clean_id(raw_id.decode("latin-1") if raw_id else None) or new_request_id()
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        trusted = bool(self.trusted) and peer in self.trusted
        client_ip, forwarded_for = client_chain(peer, forwarded, self.trusted)
        if not trusted:
            proto = forwarded_host = None
        host = forwarded_host or host
        scheme = scope.get("scheme", "http")
        return Call(
            scope=scope,
            method=scope.get("method", "GET"),
            path=scope["path"],
            request_id=request_id,
            client_ip=client_ip,
            forwarded_for=forwarded_for,
            forwarded_proto=proto.decode("latin-1") if proto else scheme.replace("ws", "http"),
            forwarded_host=host.decode("latin-1") if host else "",
        )

    def _ip_refused(self, address: str) -> bool:
        if self.deny and address in self.deny:
            return True
        return bool(self.allow) and address not in self.allow

    async def _refuse_ip(self, scope: Scope, call: Call, send: Send) -> int:
        if scope["type"] == "websocket":
            await deny(scope, send, 403, "Your address may not use this API.", "forbidden")
            return 403
        return await self.proxy._problem(
            send, call, 403, "Your address may not use this API.", "forbidden"
        )

    async def _not_found(self, scope: Scope, call: Call, send: Send) -> int:
        detail = f"No service serves {scope['path']}"
        if scope["type"] == "websocket":
            await deny(scope, send, 404, detail, "not-found")
            return 404
        return await self.proxy._problem(send, call, 404, detail, "not-found")

    async def _own(self, call: Call, receive: Receive, send: Send) -> int:
        scope = call.scope
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1008})
            return 404
        api_key = header(scope, b"x-api-key")
        if api_key and header(scope, b"authorization") is None:
            exchanged = await self._with_exchanged_key(call, api_key.decode("latin-1"), send)
            if exchanged is None:
                return 401
            scope = exchanged
        limit_headers: list[tuple[bytes, bytes]] = []
        if self.settings.rate_limit_enabled and scope["path"].startswith(OWN_PREFIX):
            # The admin API spends the caller's own budget, as a proxied request would. Without
            # valid credentials it is not charged: the admin app answers 401 (or 503) at once.
            principal = await caller_of(self.auth, scope)
            if principal is not None:
                limits = self.limiter.limits_for(principal, call.client_ip)
                decision = await self.limiter.check(limits)
                if not decision.allowed:
                    return await self.proxy._problem(send, call, *refusal(decision))
                limit_headers = decision.headers()
        status = 0
        echoed = (b"x-request-id", call.request_id.encode())

        async def decorated(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in SECURITY_HEADERS if h[0] not in present]
                message["headers"] = [*message.get("headers", []), *extra, echoed, *limit_headers]
            await send(message)

        await self.admin(scope, receive, decorated)
        return status

    async def _with_exchanged_key(self, call: Call, api_key: str, send: Send) -> Scope | None:
        try:
            token = await self.auth.exchange_api_key(api_key)
        except (InvalidToken, CredentialsUnavailable):
            await self.proxy._problem(send, call, 401, "The API key is not valid.", "unauthorized")
            return None
        headers = [(k, v) for k, v in call.scope["headers"] if k != b"x-api-key"]
        headers.append((b"authorization", f"Bearer {token}".encode()))
        return {**call.scope, "headers": headers}


class GatewayApp:
    """The ASGI app uvicorn runs: it builds the gateway's parts at lifespan start-up (inside
    the event loop) and hands every request to the gateway built from them."""

    def __init__(self, settings: Settings, config: GatewayConfig) -> None:
        self.settings = settings
        self.config = config
        self.gateway: Gateway | None = None
        self.metrics_server: aiohttp.web.AppRunner | None = None
        self.revocation_feed: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gateway = self.gateway
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif gateway is None:  # uvicorn takes no request before start-up has completed
            raise RuntimeError("the gateway has not started")
        else:
            await gateway(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("startup_failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        parts = build_parts(self.settings, self.config)
        try:
            # The runtime changes before the first request (Redis down: the file's for now;
            # the follower keeps trying and applies them once it can read them).
            await asyncio.wait_for(parts.shared.refresh(), 2.0)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("shared_registry_unavailable_at_start", error=type(exc).__name__)
        parts.shared.start()
        parts.registry.start(parts.session)
        # Auth announces every revocation: cached tokens are re-checked at their next use, so
        # a revoked token or API key is refused by the next request, and
        # revocation_recheck_seconds only bounds an announcement missed while Redis is away.
        # On the shared registry's client: a subscription waits longer than the hot path's
        # 50 ms socket timeout.
        self.revocation_feed = asyncio.create_task(
            follow_revocations(parts.shared.redis, parts.auth.tokens), name="revocation-feed"
        )
        self.gateway = Gateway(self.settings, self.config, parts)
        self.metrics_server = await serve_metrics(
            self.settings.metrics_host, self.settings.metrics_port, self.settings.workers
        )
        # The hot path allocates many short-lived objects and few cycles: with the default
        # thresholds the cyclic GC took ~20% of the CPU under load. Freeze what start-up built
        # (never collectable garbage) and collect young objects less often.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
        log.info(
            "gateway_started",
            port=self.settings.port,
            metrics=f"{self.settings.metrics_host}:{self.settings.metrics_port}",
            services={n: len(p.instances) for n, p in parts.registry.pools.items()},
        )

    async def shutdown(self) -> None:
        if self.revocation_feed is not None:
            await cancel_and_wait([self.revocation_feed])
        if self.metrics_server is not None:
            await self.metrics_server.cleanup()
        if self.gateway is not None:
            await self.gateway.parts.close()


def without_trailing_slash(scope: Scope) -> Scope:
    """``/a/b/`` is ``/a/b`` for routing, public paths, limits and the upstream alike: a path
    that differs only by the slash must not escape a route limit (the login one) or reach a
    service that would answer it differently."""
    path = scope["path"].rstrip("/") or "/"
    raw = scope.get("raw_path")
    raw = (raw.rstrip(b"/") or b"/") if raw else path.encode()
    return {**scope, "path": path, "raw_path": raw}


def has_dot_segment(path: str) -> bool:
    """``/.`` or ``/..`` as a whole segment (the path is already percent-decoded)."""
    if "/." not in path:
        return False
    return any(segment in (".", "..") for segment in path.split("/"))


def create_app(settings: Settings | None = None) -> ASGIApp:
    settings = settings or Settings.load()
    configure_logging(settings)
    setup_tracing(settings)  # off unless OTEL_EXPORTER_OTLP_ENDPOINT is set
    gateway = GatewayApp(settings, load_config(settings))
    if not settings.cors_origins:
        return gateway
    # Preflights are answered here, before the gateway: no token, no rate limit, no upstream.
    # Every other answer (401, 429 and 503 problems included) passes through it and gets the
    # CORS headers, so a browser can read why it was refused.
    return CORSMiddleware(
        gateway,
        allow_origins=settings.cors_origins,
        # Credentials only with named origins: with "*" Starlette would echo any origin back
        # together with Allow-Credentials, letting every site make credentialed calls.
        allow_credentials="*" not in settings.cors_origins,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=[
            "X-Request-ID",
            "Location",
            "Retry-After",
            "WWW-Authenticate",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "RateLimit-Policy",
            "RateLimit",
        ],
    )
