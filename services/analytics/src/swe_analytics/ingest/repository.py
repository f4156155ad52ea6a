"""The append-only event store: inserts (idempotent by event id) and the rebuild's reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics.models import events
from swe_analytics.projections.merges import ENTITY_KEYS

# A fetched row of any width (Row is generic over its columns' types).
AnyRow = sa.Row[*tuple[Any, ...]]


async def insert_events(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Store events; the ids of those not stored before (the event id is unique)."""
    if not rows:
        return set()
    statement = (
        pg_insert(events)
        .on_conflict_do_nothing(index_elements=[events.c.event_id])
        .returning(events.c.event_id)
    )
    result = await session.execute(statement, list(rows))
    return set(result.scalars().all())


def _route(routes: dict[str, str]) -> str:
    """A SQL ``CASE`` on the event type; the names and strings come from the code's tables."""
    whens = " ".join(f"WHEN '{t}' THEN '{v}'" for t, v in routes.items())
    return f"CASE type {whens} END"


async def events_by_entity(
    session: AsyncSession, chunk_rows: int
) -> AsyncIterator[Sequence[AnyRow]]:
    """Every stored event that routes to an entity, in (project, kind, entity key, id) order,
    chunk by chunk from a server-side cursor: one entity's events come one after the other (as
    long as they agree on the project and spell the key alike), so the rebuild folds each
    entity once without reading any row back."""
    kinds = _route({t: kind for t, (kind, _) in ENTITY_KEYS.items()})
    keys = _route({t: key for t, (_, key) in ENTITY_KEYS.items()})
    statement = (
        sa.select(events.c.event_id, events.c.type, events.c.time, events.c.data)
        .where(events.c.type.in_(list(ENTITY_KEYS)))
        .order_by(
            events.c.project_id,
            sa.literal_column(kinds),
            events.c.data.op("->>")(sa.literal_column(keys)),
            events.c.id,
        )
    )
    result = await session.stream(statement.execution_options(yield_per=chunk_rows))
    async for partition in result.partitions(chunk_rows):
        yield partition


async def count_unrouted_events(session: AsyncSession) -> int:
    found = await session.scalar(
        sa.select(sa.func.count()).where(events.c.type.not_in(list(ENTITY_KEYS)))
    )
    return int(found or 0)
