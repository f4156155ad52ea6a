"""``/health/live`` and ``/health/ready``.

Readiness runs every dependency check concurrently, each with a short timeout. A failing
*critical* check (the database) answers 503 naming it. Non-critical checks (the broker, for a
service whose events wait safely in its outbox) are reported as ``degraded`` without taking the
instance out of rotation: ejecting every instance while RabbitMQ restarts would turn a broker
blip into an outage, and the outbox already guarantees no event is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from swe_common.errors import problem_response

CheckFn = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class HealthCheck:
    name: str
    check: CheckFn
    critical: bool = True
    timeout_seconds: float = 2.0


async def _run(check: HealthCheck) -> str | None:
    """None when healthy, else a short reason."""
    try:
        result = await asyncio.wait_for(check.check(), check.timeout_seconds)
    except TimeoutError:
        return f"no answer within {check.timeout_seconds}s"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    if result is False:
        return "not connected"
    return None


def health_router(checks: list[HealthCheck]) -> APIRouter:
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live", summary="The process is up")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready", summary="The service can do its work")
    async def ready(request: Request) -> JSONResponse:
        results = await asyncio.gather(*(_run(c) for c in checks))
        report = {c.name: (reason or "ok") for c, reason in zip(checks, results, strict=True)}
        down = [c.name for c, reason in zip(checks, results, strict=True) if reason and c.critical]
        if down:
            return problem_response(
                503,
                title="Service Unavailable",
                detail=f"Not ready: {', '.join(down)} unavailable",
                instance=request.url.path,
                checks=report,
                headers={"Retry-After": "5"},
            )
        degraded = any(reason for reason in results)
        return JSONResponse({"status": "degraded" if degraded else "ok", "checks": report})

    return router
