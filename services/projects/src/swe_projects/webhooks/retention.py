"""Forgetting old delivery ids in the background, so the de-duplication table stays small.

GitHub redelivers only on request and only recent deliveries, so ids older than the retention
period can never come back as duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import structlog
from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from swe_common.db import Database, utcnow
from swe_projects.webhooks import repository

log = structlog.stdlib.get_logger(__name__)
PRUNE_INTERVAL_SECONDS = 3600.0


async def prune_once(db: Database, retention_days: float) -> int:
    async with db.transaction() as session:
        return await repository.prune_deliveries(session, utcnow() - timedelta(days=retention_days))


async def _prune_forever(db: Database, retention_days: float) -> None:
    while True:
        try:
            removed = await prune_once(db, retention_days)
            if removed:
                log.info("webhook_deliveries_pruned", removed=removed)
        except SQLAlchemyError as exc:
            # The database may be briefly away; the next round tries again.
            log.warning("webhook_delivery_prune_failed", error=type(exc).__name__)
        await asyncio.sleep(PRUNE_INTERVAL_SECONDS)


async def start(app: FastAPI) -> None:
    days = app.state.settings.webhook_delivery_retention_days
    app.state.delivery_pruner = asyncio.create_task(_prune_forever(app.state.db, days))


async def stop(app: FastAPI) -> None:
    task: asyncio.Task[None] | None = getattr(app.state, "delivery_pruner", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
