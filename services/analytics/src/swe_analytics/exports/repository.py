"""Stored events in a range, streamed from a server-side cursor."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from swe_analytics.ingest.repository import AnyRow
from swe_analytics.models import events


async def stream_events(
    conn: AsyncConnection,
    project_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
    chunk_rows: int,
) -> AsyncIterator[Sequence[AnyRow]]:
    """Stored events in a range, chunk by chunk from a server-side cursor."""
    statement = sa.select(
        events.c.event_id,
        events.c.type,
        events.c.time,
        events.c.project_id,
        events.c.subject,
        events.c.source,
        events.c.data,
    ).where(events.c.time >= start, events.c.time < end)
    if project_id is not None:
        statement = statement.where(events.c.project_id == project_id)
    statement = statement.order_by(events.c.time, events.c.id)
    result = await conn.stream(statement.execution_options(yield_per=chunk_rows))
    async for partition in result.partitions(chunk_rows):
        yield partition
