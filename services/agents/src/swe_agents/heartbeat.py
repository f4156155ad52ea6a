"""Workers' heartbeats for operators: each worker writes the time of its reaper's last round
(it had just reached the database and the queue) into one Redis hash; the API's
``/health/detailed`` reads them. A worker silent for ``STALE_AFTER`` reaper rounds counts as
gone, and its entry is dropped after an hour."""

from __future__ import annotations

import time
from typing import cast

from fastapi import FastAPI
from redis.asyncio import Redis

from swe_agents.settings import Settings
from swe_common.health_detailed import Detail, DetailCheck

STALE_AFTER = 3  # reaper rounds
FORGET_AFTER_SECONDS = 3600.0


def heartbeats_key(prefix: str) -> str:
    return f"{prefix}:worker-heartbeats"


async def beat(redis: Redis, prefix: str, worker_id: str) -> None:
    await redis.hset(heartbeats_key(prefix), worker_id, repr(time.time()))


async def workers(redis: Redis, settings: Settings) -> Detail:
    """The workers' heartbeat ages; degraded when none is live."""
    key = heartbeats_key(settings.redis_prefix)
    now = time.time()
    stale_after = STALE_AFTER * settings.reaper_interval_seconds
    # The client decodes responses (swe_common.app.redis_client): names and values are str.
    beats = cast("dict[str, str]", await redis.hgetall(key))
    items, gone = {}, []
    for worker_id, value in sorted(beats.items()):
        try:
            age = max(0.0, now - float(value))
        except ValueError:
            age = FORGET_AFTER_SECONDS + 1
        if age > FORGET_AFTER_SECONDS:
            gone.append(worker_id)
            continue
        items[worker_id] = {"last_heartbeat_age_seconds": round(age, 1), "live": age <= stale_after}
    if gone:
        await redis.hdel(key, *gone)
    live = sum(1 for item in items.values() if item["live"])
    return {"status": "ok" if live else "degraded", "live": live, "items": items}


def worker_check(app: FastAPI) -> DetailCheck:
    settings: Settings = app.state.settings

    async def check() -> Detail:
        return await workers(app.state.redis, settings)

    return DetailCheck("worker", check)
