"""``GET /health/detailed`` (admins only): every registered instance's own ``/health/detailed``
(database latency and migrations, broker, Redis, outbox backlog, queue and DLQ depths, the
agents worker's heartbeat, auth's SMTP server, version and build), asked concurrently with the
admin's own token, and the gateway's own Redis, version and breakers.

The token travels to the services, which check it again (admin role; an API key's exchanged
token also needs ``gateway:admin``), so a service never tells more than its own admin check
allows. An instance that has no detailed report (the web console) is asked ``/health/ready``.
The public ``GET /health`` stays the verdict only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import aiohttp
from fastapi import APIRouter, Request

from swe_common.permissions import Permission
from swe_common.security import Principal, api_key_scope, require_permission
from swe_gateway.about import About
from swe_gateway.upstreams import Instance, Registry

AdminPrincipal = Annotated[Principal, require_permission(Permission.HEALTH_DETAILED)]
RANK = {"ok": 0, "degraded": 1, "down": 2}


def worst(statuses: list[str]) -> str:
    return max(statuses, key=lambda s: RANK.get(s, 2), default="down")


class DetailedHealth:
    def __init__(
        self,
        registry: Registry,
        session: aiohttp.ClientSession,
        redis_ping: Callable[[], Awaitable[Any]],
        about: About | None,
        timeout_seconds: float = 12.0,
    ) -> None:
        self.registry = registry
        self.session = session
        self.redis_ping = redis_ping
        self.about = about
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def report(self, authorization: str) -> dict[str, Any]:
        pools = list(self.registry.pools.values())
        asks = [(pool.name, instance) for pool in pools for instance in pool.instances]
        own, *answers = await asyncio.gather(
            self._gateway(), *(self._ask(instance, authorization) for _, instance in asks)
        )
        services: dict[str, dict[str, Any]] = {
            pool.name: {"breaker": pool.breaker.state.value, "instances": {}} for pool in pools
        }
        for (name, instance), answer in zip(asks, answers, strict=True):
            services[name]["instances"][instance.url] = answer
        for service in services.values():
            statuses = [a["status"] for a in service["instances"].values()]
            service["status"] = worst(statuses) if statuses else "down"
        overall = worst([own["status"], *(s["status"] for s in services.values())])
        return {"status": overall, "gateway": own, "services": services}

    async def _gateway(self) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self.redis_ping(), 2.0)
            redis = {"status": "ok", "latency_ms": _ms(started)}
        except Exception as exc:
            redis = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:200]}
        info = self.about.info.model_dump() if self.about is not None else {}
        # Redis down: the rate limits fall back (see README), the gateway still routes.
        return {
            "status": "ok" if redis["status"] == "ok" else "degraded",
            "version": info.get("version"),
            "build": {"commit": info.get("commit"), "time": info.get("build_time")},
            "checks": {"redis": redis},
        }

    async def _ask(self, instance: Instance, authorization: str) -> dict[str, Any]:
        started = time.perf_counter()
        headers = {"Authorization": authorization, "Accept": "application/json"}
        try:
            async with self.session.get(
                instance.base / "health/detailed", headers=headers, timeout=self.timeout
            ) as response:
                if response.status == 404:
                    return await self._ready(instance, started)
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError, OSError) as exc:
            return {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:200]}
        if response.status != 200 or not isinstance(body, dict):
            return {"status": "down", "error": f"/health/detailed answered {response.status}"}
        body.setdefault("status", "down")
        body["latency_ms"] = _ms(started)
        return body

    async def _ready(self, instance: Instance, started: float) -> dict[str, Any]:
        async with self.session.get(instance.base / "health/ready", timeout=self.timeout) as ready:
            status = "ok" if ready.status == 200 else "down"
        return {"status": status, "detailed": False, "latency_ms": _ms(started)}


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def detailed_health_router(health: DetailedHealth) -> APIRouter:
    router = APIRouter(tags=["health"], dependencies=[api_key_scope("gateway", level="admin")])

    # Not in the merged OpenAPI (the console's client is generated from it; an operator's
    # endpoint is documented in the README and each service's own /docs).
    @router.get("/health/detailed", include_in_schema=False)
    async def detailed(request: Request, _: AdminPrincipal) -> dict[str, Any]:
        # The admin's token (an API key arrives here already exchanged for one).
        return await health.report(request.headers["authorization"])

    return router
