"""The gateway's own endpoints, off the hot path: admin API, health, merged docs.

``GET /health`` is public and says only ``ok`` or ``degraded``; which service is down, its
instances' addresses and its breaker's state are for admins (``/api/v1/gateway/admin/health``).
Metrics have their own listener (``metrics.serve_metrics``)."""

from __future__ import annotations

import asyncio
import copy
import time
from typing import Annotated, Any

import aiohttp
from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY
from pydantic import Field, StringConstraints
from starlette.types import Scope

from swe_common.docs_pages import docs_router
from swe_common.errors import (
    NotFound,
    ServiceUnavailable,
    Unprocessable,
    install_error_handlers,
)
from swe_common.health import HealthCheck, health_router
from swe_common.middleware import RejectNulMiddleware
from swe_common.permissions import Permission
from swe_common.security import InvalidToken, Principal, api_key_scope, require_permission
from swe_common.tracing import NO_TELEMETRY
from swe_common.types import Name, NulFree, RequestModel
from swe_gateway.about import About, about_router
from swe_gateway.edge_auth import CredentialsUnavailable, EdgeAuth
from swe_gateway.health_detailed import DetailedHealth, detailed_health_router
from swe_gateway.settings import MAX_WEIGHT, UpstreamInstance
from swe_gateway.shared_registry import SharedRegistry
from swe_gateway.single_flight import SingleFlight
from swe_gateway.upstreams import Registry, ServicePool, make_instance

AdminPrincipal = Annotated[Principal, require_permission(Permission.GATEWAY_ADMIN)]


class CachedVerifier:
    """What ``swe_common.security.get_principal`` calls: the edge's cached verification."""

    def __init__(self, auth: EdgeAuth) -> None:
        self.auth = auth

    async def verify(self, token: str) -> Principal:
        try:
            return await self.auth.authenticate(token)
        except CredentialsUnavailable:
            raise ServiceUnavailable("Credentials cannot be checked right now") from None


InstanceUrl = Annotated[str, StringConstraints(pattern=r"^https?://", max_length=300), NulFree()]


class InstanceIn(RequestModel):
    url: InstanceUrl = Field(examples=["http://127.0.0.1:8011"])
    weight: int | None = Field(
        default=None,
        ge=0,
        le=MAX_WEIGHT,
        description="Share of the service's requests (default 1 for a new instance); "
        "0 drains it. Given for a registered instance, changes its weight.",
    )


class NewInstance(RequestModel):
    url: InstanceUrl = Field(examples=["http://127.0.0.1:8011"])
    weight: int = Field(default=1, ge=0, le=MAX_WEIGHT, description="0 registers it drained")


RoutePrefix = Annotated[
    str,
    StringConstraints(pattern=r"^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$", max_length=200),
    NulFree(),
]
ServiceName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,39}$", max_length=40),
    NulFree(),
]


class RouteIn(RequestModel):
    prefix: RoutePrefix = Field(
        examples=["/api/v1/reports"],
        description="Requests under this path prefix (whole segments) go to the service",
    )
    timeout: float | None = Field(
        default=None, gt=0, le=3600, description="Seconds (default GATEWAY_DEFAULT_TIMEOUT_SECONDS)"
    )


class ServiceIn(RequestModel):
    instances: list[NewInstance] = Field(max_length=100)
    routes: list[RouteIn] = Field(
        default_factory=list,
        max_length=20,
        description="Only for a service the routes file does not define",
    )


async def caller_of(auth: EdgeAuth, scope: Scope) -> Principal | None:
    """The principal behind a request's bearer token (an API key is already exchanged), or
    None without valid credentials: the admin app itself then answers 401 or 503."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            try:
                return await auth.authenticate(token.strip())
            except (InvalidToken, CredentialsUnavailable):
                return None
    return None


class OpenApiMerger:
    """Every service's ``/openapi.json`` merged into one, cached for a short while."""

    def __init__(self, registry: Registry, ttl: float, session: aiohttp.ClientSession) -> None:
        self.registry = registry
        self.ttl = ttl
        self.session = session
        self._cached: tuple[float, dict[str, Any]] | None = None

    async def document(self, own: dict[str, Any]) -> dict[str, Any]:
        if self._cached and time.monotonic() - self._cached[0] < self.ttl:
            return self._cached[1]
        pools = list(self.registry.pools.values())
        docs = await asyncio.gather(*(self._fetch(pool) for pool in pools))
        merged = copy.deepcopy(own)
        merged["info"] = {"title": "SWE platform API", "version": own["info"]["version"]}
        for pool, doc in zip(pools, docs, strict=True):
            if doc is not None:
                _merge(merged, doc, pool.name)
        self._cached = (time.monotonic(), merged)
        return merged

    async def _fetch(self, pool: ServicePool) -> dict[str, Any] | None:
        instance = pool.pick()
        if instance is None:
            return None
        try:
            timeout = aiohttp.ClientTimeout(total=2)
            async with self.session.get(instance.base / "openapi.json", timeout=timeout) as resp:
                if resp.status != 200:
                    return None
                doc = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return None
        return doc if isinstance(doc, dict) and isinstance(doc.get("paths"), dict) else None


def _merge(target: dict[str, Any], doc: dict[str, Any], service: str) -> None:
    """Add a service's paths and schemas; a schema name already taken with another shape is
    renamed ``<service>__<name>`` and every reference to it in that document rewritten."""
    schemas = target.setdefault("components", {}).setdefault("schemas", {})
    theirs = doc.get("components", {}).get("schemas", {})
    renames = {
        name: f"{service}__{name}"
        for name, schema in theirs.items()
        if name in schemas and schemas[name] != schema
    }
    if renames:
        doc = _rewrite_refs(doc, renames)
        theirs = doc.get("components", {}).get("schemas", {})
    for name, schema in theirs.items():
        schemas[renames.get(name, name)] = schema
    for path, item in doc.get("paths", {}).items():
        if path.startswith(("/health", "/metrics")):
            continue  # each service's own probes are not reachable through the gateway
        target.setdefault("paths", {})[path] = item


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    prefix = "#/components/schemas/"
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(prefix):
                name = value[len(prefix) :]
                out[key] = prefix + renames.get(name, name)
            elif key == "schemas" and isinstance(value, dict):
                out[key] = {renames.get(k, k): _rewrite_refs(v, renames) for k, v in value.items()}
            else:
                out[key] = _rewrite_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


def admin_router(registry: Registry, report: AggregateHealth, shared: SharedRegistry) -> APIRouter:
    # An admin's API key reaches these only with the gateway:admin scope. Every change goes
    # through the shared registry (Redis), so every gateway instance makes it within seconds.
    router = APIRouter(
        prefix="/api/v1/gateway/admin",
        tags=["gateway admin"],
        dependencies=[api_key_scope("gateway", level="admin")],
    )

    def pool_or_404(name: str) -> ServicePool:
        pool = registry.pools.get(name)
        if pool is None:
            raise NotFound(f"No service named {name!r}", service=name)
        return pool

    def described(name: str) -> dict[str, Any]:
        return {**pool_or_404(name).describe(), **shared.describe(name)}

    @router.get("/services", summary="Services, instances, health and breaker state")
    async def services(_: AdminPrincipal) -> dict[str, Any]:
        return {"items": [described(name) for name in list(registry.pools)]}

    @router.get("/services/{name}", summary="One service")
    async def service(name: Name, _: AdminPrincipal) -> dict[str, Any]:
        return described(name)

    @router.put(
        "/services/{name}",
        status_code=201,
        summary="Register a service with its routes and instances (every gateway instance)",
        responses={
            200: {"description": "Already registered: its routes and instances replaced"},
            409: {"description": "A prefix is another service's, or a file service's routes"},
        },
    )
    async def put_service(
        name: ServiceName, body: ServiceIn, response: Response, _: AdminPrincipal
    ) -> dict[str, Any]:
        instances = [
            UpstreamInstance(url=_normalised(i.url, f"instances.{n}.url"), weight=i.weight)
            for n, i in enumerate(body.instances)
        ]
        routes = [(r.prefix.rstrip("/"), r.timeout) for r in body.routes]
        if not await shared.put_service(name, instances, routes):
            response.status_code = 200
        return described(name)

    @router.delete(
        "/services/{name}",
        status_code=204,
        summary="Drop a service's runtime changes: a registered one leaves, a file one returns "
        "to the file's instances",
    )
    async def forget_service(name: Name, _: AdminPrincipal) -> Response:
        await shared.forget(name)
        return Response(status_code=204)

    @router.post(
        "/services/{name}/instances",
        status_code=201,
        summary="Register an instance, or change a registered one's weight",
        responses={200: {"description": "Already registered; weight updated if given"}},
    )
    async def register(
        name: Name, body: InstanceIn, response: Response, _: AdminPrincipal
    ) -> dict[str, Any]:
        url = _normalised(body.url, "url")
        if not await shared.set_instance(name, url, body.weight):
            response.status_code = 200
        instance = pool_or_404(name).find(url)
        if instance is None:  # removed by another admin in between
            raise NotFound(f"{name} has no instance {url}")
        return instance.describe()

    @router.delete("/services/{name}/instances", status_code=204, summary="Deregister one")
    async def deregister(name: Name, url: InstanceUrl, _: AdminPrincipal) -> Response:
        await shared.remove_instance(name, _normalised(url, "url"))
        return Response(status_code=204)

    @router.post("/services/{name}/breaker/reset", summary="Close the service's breaker")
    async def reset(name: Name, _: AdminPrincipal) -> dict[str, Any]:
        await shared.reset_breaker(name)
        return described(name)

    @router.get("/health", summary="Every service's readiness: ready instances and breaker state")
    async def health(_: AdminPrincipal) -> dict[str, Any]:
        return await report.get()

    @router.get("/metrics", summary="A summary of the gateway's counters")
    async def summary(_: AdminPrincipal) -> dict[str, Any]:
        return _metrics_summary()

    return router


def _normalised(url: str, field: str) -> str:
    """The URL as the registry keys it (no trailing slash), or 422 naming the field."""
    try:
        return make_instance(url).url
    except ValueError as exc:
        raise Unprocessable(str(exc), errors=[{"field": field, "message": str(exc)}]) from None


def _metrics_summary() -> dict[str, Any]:
    wanted = {
        "swe_gateway_requests": "requests",
        "swe_gateway_rate_limited": "rate_limited",
        "swe_gateway_retries": "retries",
        "swe_gateway_auth_rejections": "auth_rejections",
        "swe_gateway_rate_limit_fallback": "rate_limit_fallbacks",
        "swe_gateway_breaker_state": "breaker_state",
    }
    out: dict[str, Any] = {}
    for family in REGISTRY.collect():
        key = wanted.get(family.name)
        if key is None:
            continue
        rows = out.setdefault(key, [])
        for sample in family.samples:
            if sample.name.endswith(("_total", "_state")):
                rows.append({"labels": sample.labels, "value": sample.value})
    return out


class AggregateHealth:
    """``GET /health``: every instance's readiness, checked live. Callers within ``max_age``
    seconds share one round of checks and its answer: the path is public, and a flood of it
    must not turn into a flood of readiness checks (each a database round trip) on every
    upstream instance."""

    def __init__(
        self, registry: Registry, session: aiohttp.ClientSession, max_age: float = 1.0
    ) -> None:
        self.registry = registry
        self.session = session
        self.max_age = max_age
        self._report: dict[str, Any] | None = None
        self._at = 0.0
        self._round: SingleFlight[dict[str, Any]] = SingleFlight()

    async def get(self) -> dict[str, Any]:
        if self._report is not None and time.monotonic() - self._at < self.max_age:
            return self._report
        return await self._round.run(None, self._check)

    async def _check(self) -> dict[str, Any]:
        pools = list(self.registry.pools.values())
        results = await asyncio.gather(
            *(self.registry.check(self.session, i) for p in pools for i in p.instances)
        )
        services, it = {}, iter(results)
        for pool in pools:
            ready = [inst.url for inst in pool.instances if next(it)]
            services[pool.name] = {
                "status": "ok" if ready else "down",
                "ready_instances": ready,
                "instances": len(pool.instances),
                "breaker": pool.breaker.state.value,
            }
        healthy = all(item["status"] == "ok" for item in services.values())
        self._report = {"status": "ok" if healthy else "degraded", "services": services}
        self._at = time.monotonic()
        return self._report


def build_admin_app(
    auth: EdgeAuth,
    registry: Registry,
    merger: OpenApiMerger,
    report: AggregateHealth,
    redis_ping: Any,
    shared: SharedRegistry,
    about: About | None = None,
) -> FastAPI:
    app = FastAPI(
        title="SWE platform: gateway",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # The gateway's own span (spans.py) covers these requests.
        telemetry=NO_TELEMETRY,
    )
    app.state.token_verifier = CachedVerifier(auth)
    install_error_handlers(app)
    app.add_middleware(RejectNulMiddleware)
    app.include_router(admin_router(registry, report, shared))
    app.include_router(health_router([HealthCheck("redis", redis_ping, critical=False)]))
    detailed = DetailedHealth(registry, report.session, redis_ping, about)
    app.include_router(detailed_health_router(detailed))

    @app.get("/health", tags=["health"], summary="ok when every service is ready, else degraded")
    async def aggregate() -> JSONResponse:
        # Public: the verdict only. Details (services, instance URLs, breakers) are admin-only.
        return JSONResponse({"status": (await report.get())["status"]})

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(await merger.document(app.openapi()))

    # /docs, /redoc and their assets, served here (swe_common.docs_pages): no CDN.
    app.include_router(docs_router("/openapi.json", "SWE platform API"))
    if about is not None:
        app.include_router(about_router(about))
    return app
