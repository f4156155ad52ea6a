"""Queries of the webhook receiver."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from swe_projects.models import Project, WebhookDelivery


async def get_project(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    # No caller scoping: the receiver is authenticated by the project's own signature.
    return await session.scalar(sa.select(Project).where(Project.id == project_id))


async def record_delivery(
    session: AsyncSession, project_id: uuid.UUID, delivery_id: str, event: str
) -> bool:
    """Remember a delivery id; False when it was seen before (a redelivery)."""
    statement = (
        insert(WebhookDelivery)
        .values(project_id=project_id, delivery_id=delivery_id, event=event)
        .on_conflict_do_nothing()
        .returning(WebhookDelivery.delivery_id)
    )
    return (await session.scalar(statement)) is not None


async def prune_deliveries(session: AsyncSession, older_than: datetime) -> int:
    """Forget delivery ids older than GitHub would ever redeliver; returns how many."""
    result = await session.execute(
        sa.delete(WebhookDelivery).where(WebhookDelivery.received_at < older_than)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
