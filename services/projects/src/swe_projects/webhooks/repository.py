"""Queries of the webhook receiver."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.github_webhooks import Subject
from swe_projects.models import Project, WebhookDelivery, WebhookWatermark


async def get_project(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    # No caller scoping: the receiver is authenticated by the project's own signature.
    return await session.scalar(sa.select(Project).where(Project.id == project_id))


async def record_delivery(
    session: AsyncSession,
    project_id: uuid.UUID,
    delivery_id: str,
    event: str,
    action: str | None,
    status: str,
) -> bool:
    """Remember a delivery id; False when it was seen before (a redelivery)."""
    statement = (
        insert(WebhookDelivery)
        .values(
            project_id=project_id,
            delivery_id=delivery_id,
            event=event,
            action=action,
            status=status,
        )
        .on_conflict_do_nothing()
        .returning(WebhookDelivery.delivery_id)
    )
    return (await session.scalar(statement)) is not None


async def set_delivery_status(
    session: AsyncSession, project_id: uuid.UUID, delivery_id: str, status: str
) -> None:
    await session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.project_id == project_id, WebhookDelivery.delivery_id == delivery_id)
        .values(status=status)
    )


async def advance_watermark(session: AsyncSession, project_id: uuid.UUID, subject: Subject) -> bool:
    """Move the object's watermark up to ``subject``; False (nothing changed) when the
    delivery is older than the one held: an earlier ``updated_at``, or a state that a final
    one (merged, deleted, transferred) can never go back to. Equal times count as current:
    GitHub's times have one-second steps, and one change often sends several actions."""
    table = WebhookWatermark.__table__
    statement = insert(WebhookWatermark).values(
        project_id=project_id,
        kind=subject.kind,
        number=subject.number,
        updated_at=subject.updated_at,
        final=subject.final,
    )
    incoming = statement.excluded
    upsert = statement.on_conflict_do_update(
        index_elements=[table.c.project_id, table.c.kind, table.c.number],
        set_={
            "updated_at": sa.func.greatest(table.c.updated_at, incoming.updated_at),
            "final": table.c.final | incoming.final,
        },
        # The row is locked while this runs: concurrent deliveries of one object serialise.
        where=sa.and_(
            incoming.updated_at >= table.c.updated_at, sa.or_(~table.c.final, incoming.final)
        ),
    ).returning(sa.literal(1))
    return (await session.scalar(upsert)) is not None


async def prune_deliveries(session: AsyncSession, older_than: datetime) -> int:
    """Forget delivery ids older than GitHub would ever redeliver; returns how many."""
    result = await session.execute(
        sa.delete(WebhookDelivery).where(WebhookDelivery.received_at < older_than)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
