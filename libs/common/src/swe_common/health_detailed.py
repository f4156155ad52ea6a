"""``GET /health/detailed``: what an operator needs to know about one service process, for admins
only (the role ``admin``; an API key also needs ``gateway:admin``). The gateway's own
``/health/detailed`` asks every instance for this with the admin's token and puts the answers
together; the public ``/health/live`` and ``/health/ready`` stay minimal.

Each check runs concurrently within its timeout and answers ``status`` (``ok``, ``degraded``,
``down``) with its details: the database's latency and whether its migrations are at head, the
broker, Redis, the outbox backlog and its oldest row's age, every watched queue's depth and
DLQ depth, and what the service adds (the agents worker's heartbeat, auth's SMTP server). The
report is ``down`` when a critical check is down, ``degraded`` when any check is not ``ok``. It
answers 200 either way: readiness is the probes' business, this is the operator's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter

from swe_common.db import Database
from swe_common.events.queue_metrics import QueueWatcher
from swe_common.events.relay import OutboxRelay
from swe_common.permissions import Permission
from swe_common.security import Principal, api_key_scope, require_permission

Detail = dict[str, Any]
DetailFn = Callable[[], Awaitable[Detail]]

# An outbox row older than this means events are late: the report says degraded.
OUTBOX_LATE_SECONDS = 60.0


@dataclass(frozen=True)
class DetailCheck:
    name: str
    check: DetailFn
    critical: bool = False
    timeout_seconds: float = 3.0


async def run_check(check: DetailCheck) -> Detail:
    started = time.perf_counter()
    try:
        detail = dict(await asyncio.wait_for(check.check(), check.timeout_seconds))
    except TimeoutError:
        detail = {"status": "down", "error": f"no answer within {check.timeout_seconds}s"}
    except Exception as exc:
        detail = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:200]}
    detail.setdefault("status", "ok")
    detail.setdefault("latency_ms", round((time.perf_counter() - started) * 1000, 2))
    return detail


def overall(checks: Sequence[DetailCheck], details: Sequence[Detail]) -> str:
    if any(d["status"] == "down" and c.critical for c, d in zip(checks, details, strict=True)):
        return "down"
    return "ok" if all(d["status"] == "ok" for d in details) else "degraded"


async def report(checks: Sequence[DetailCheck], about: Detail) -> Detail:
    details = await asyncio.gather(*(run_check(c) for c in checks))
    return {
        **about,
        "status": overall(checks, details),
        "checks": {c.name: d for c, d in zip(checks, details, strict=True)},
    }


AdminPrincipal = Annotated[Principal, require_permission(Permission.HEALTH_DETAILED)]


def detailed_health_router(checks: Callable[[], Sequence[DetailCheck]], about: Detail) -> APIRouter:
    router = APIRouter(
        prefix="/health",
        tags=["health"],
        dependencies=[api_key_scope("gateway", level="admin")],
    )

    @router.get(
        "/detailed",
        summary="Admins: database, migrations, broker, Redis, outbox, queues, build",
        responses={401: {"description": "No valid token"}, 403: {"description": "Not an admin"}},
    )
    async def detailed(_: AdminPrincipal) -> Detail:
        return await report(checks(), about)

    return router


# -- the common checks ------------------------------------------------------------------------


@cache
def migration_heads(service: str) -> tuple[str, ...] | None:
    """The head revisions of the service's migrations, read once: from the source checkout
    (``services/<name>/migrations``) or the image (``/app/migrations`` beside service.toml)."""
    from alembic.script import ScriptDirectory

    for directory in _migration_dirs(service):
        if (directory / "env.py").is_file():
            return tuple(sorted(ScriptDirectory(str(directory)).get_heads()))
    return None


def _migration_dirs(service: str) -> list[Path]:
    found = []
    try:
        module = __import__(f"swe_{service}")
        package = Path(module.__file__ or "").resolve()
        found += [parent / "migrations" for parent in package.parents[:4]]
    except ImportError:
        pass
    if (Path.cwd() / "service.toml").is_file():
        found.append(Path.cwd() / "migrations")
    return found


def database_check(db: Database, service: str) -> DetailCheck:
    version_table = sa.table("alembic_version", sa.column("version_num"), schema=db.schema)
    current = sa.select(version_table.c.version_num)

    async def check() -> Detail:
        started = time.perf_counter()
        await db.ping()
        latency = round((time.perf_counter() - started) * 1000, 2)
        detail: Detail = {"latency_ms": latency}
        # Read once, off the event loop (alembic imports every revision file).
        heads = await asyncio.to_thread(migration_heads, service)
        if heads is None:
            return detail
        async with db.reader() as session:
            try:
                revisions = tuple(sorted((await session.scalars(current)).all()))
            except sa.exc.ProgrammingError:
                revisions = ()
        at_head = revisions == heads
        detail["migrations"] = {"current": list(revisions), "head": list(heads), "at_head": at_head}
        if not at_head:
            detail["status"] = "degraded"
        return detail

    # The first report reads the migrations (seconds on a loaded host); later ones do not.
    return DetailCheck("database", check, critical=True, timeout_seconds=10.0)


def broker_check(is_connected: Callable[[], bool]) -> DetailCheck:
    async def check() -> Detail:
        return {"status": "ok" if is_connected() else "down", "connected": is_connected()}

    return DetailCheck("broker", check)


def redis_check(redis: Any) -> DetailCheck:
    async def check() -> Detail:
        started = time.perf_counter()
        await redis.ping()
        return {"latency_ms": round((time.perf_counter() - started) * 1000, 2)}

    return DetailCheck("redis", check)


def outbox_check(relay: OutboxRelay) -> DetailCheck:
    async def check() -> Detail:
        backlog = await relay.update_backlog()
        age = round(relay.oldest_age_seconds(), 3)
        late = age > OUTBOX_LATE_SECONDS
        return {
            "status": "degraded" if late else "ok",
            "backlog": backlog,
            "oldest_unpublished_age_seconds": age,
            "relay_listening": relay.listening,
        }

    return DetailCheck("outbox", check)


def queues_check(watcher: QueueWatcher) -> DetailCheck:
    """Each watched queue's depth (the consumer's lag) and its DLQ's, read now."""

    async def check() -> Detail:
        depths = await watcher.refresh()
        parked = sorted(q for q, d in depths.items() if d.dead_letters)
        missing = sorted(q for q, d in depths.items() if d.messages is None)
        detail: Detail = {"items": {q: d.as_dict() for q, d in depths.items()}}
        if parked:
            detail["dead_lettered"] = parked
        if missing:
            detail["not_declared"] = missing
        if parked or missing:
            detail["status"] = "degraded"
        return detail

    return DetailCheck("queues", check, timeout_seconds=watcher.timeout_seconds)
