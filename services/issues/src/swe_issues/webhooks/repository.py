"""Queries on webhook deliveries."""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from swe_issues.webhooks.models import WebhookDelivery
from swe_issues.webhooks.schemas import WebhookReceived


async def record_delivery(session: AsyncSession, delivery: WebhookReceived) -> bool:
    """Remember a delivery id; False when it was already there (a redelivery)."""
    inserted = await session.execute(
        pg_insert(WebhookDelivery)
        .values(
            delivery_id=delivery.delivery_id,
            project_id=str(delivery.project_id),
            event=delivery.event,
            action=delivery.action,
            outcome="applied",
        )
        .on_conflict_do_nothing()
        .returning(sa.literal(1))
    )
    return inserted.first() is not None


async def set_outcome(session: AsyncSession, delivery_id: str, outcome: str) -> None:
    await session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.delivery_id == delivery_id)
        .values(outcome=outcome)
    )
