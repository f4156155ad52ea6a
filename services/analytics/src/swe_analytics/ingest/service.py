"""Storing consumed events and folding them into the projections; the rebuild from the store."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics.ingest import repository
from swe_analytics.projections import repository as projections_repository
from swe_analytics.projections.merges import (
    MERGES,
    Row,
    StoredEvent,
    contribution_delta,
    entity_of,
    project_of,
)
from swe_analytics.projections.repository import CounterDeltas
from swe_analytics.projections.service import add_deltas, apply_events
from swe_common.db import Database
from swe_common.events import CloudEvent

log = structlog.stdlib.get_logger(__name__)


def store_row(event: CloudEvent, principal: str | None = None) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "type": event.type,
        "source": event.source[:500],
        "subject": event.subject[:200] if event.subject else None,
        "project_id": project_of(event.type, event.data),
        "time": event.time if event.time.tzinfo else event.time.replace(tzinfo=UTC),
        "principal": principal,
        "data": event.data,
    }


async def ingest(
    session: AsyncSession, batch: Sequence[CloudEvent], principal: str | None = None
) -> int:
    """Store events and update the projections in the caller's transaction.

    An event already in the store changes nothing, so ingest is idempotent by event id.
    """
    unique = list({event.id: event for event in batch}.values())
    fresh = await repository.insert_events(session, [store_row(e, principal) for e in unique])
    stored = [
        StoredEvent(e.id, e.type, store_row(e)["time"], e.data) for e in unique if e.id in fresh
    ]
    await apply_events(session, stored)
    return len(stored)


async def handle_event(session: AsyncSession, event: CloudEvent) -> None:
    """The consumer's handler for every subscribed type."""
    await ingest(session, [event])


async def handle_events(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """The consumer's batch handler: the same as ``handle_event`` on each, in one transaction."""
    await ingest(session, events)


REBUILD_FLUSH_KEYS = 100_000


REBUILD_STATEMENT_TIMEOUT_MS = 600_000


REBUILD_SAVE_ROWS = 5_000


async def rebuild(db: Database, batch_size: int) -> int:
    """Empty the projections and replay the whole store, in one transaction.

    TRUNCATE locks the projections, so readers and live ingest wait for the rebuilt figures
    rather than seeing half of them; an event stored meanwhile is applied after the rebuild.
    The replay runs the same merges and contributions as live ingest, so the figures match.

    The store is read entity by entity (:func:`repository.events_by_entity`): each entity's
    row is folded from its events in memory and COPYed once, with no read back; the rows'
    contributions are staged and summed into the counters by one statement per table at the
    end. An event whose entity was already written (its key spelt differently, or its events
    disagreeing on the project) is kept aside and applied at the end through the live merge
    path.
    """
    replayed = 0
    pending: CounterDeltas = {}
    done: set[tuple[str, uuid.UUID]] = set()
    stragglers: list[StoredEvent] = []
    to_save: dict[str, list[Row]] = defaultdict(list)
    current: tuple[str, uuid.UUID] | None = None
    folded: list[StoredEvent] = []

    async def finish() -> None:
        if current is None:
            return
        kind, key = current
        done.add(current)
        old = projections_repository.empty_row(projections_repository.ENTITY_TABLES[kind], key)
        new = old
        for event in folded:
            new = MERGES[kind](new, event)
        if new != old:
            to_save[kind].append(new)
            add_deltas(pending, contribution_delta(kind, old, new))
        if len(to_save[kind]) >= REBUILD_SAVE_ROWS:
            await projections_repository.copy_new_rows(session, kind, to_save.pop(kind))
        if len(pending) > REBUILD_FLUSH_KEYS:
            await projections_repository.stage_counters(session, pending)
            pending.clear()

    async with db.transaction() as session:
        # A rebuild's big statements may outlast the request-sized statement timeout.
        await projections_repository.set_statement_timeout(session, REBUILD_STATEMENT_TIMEOUT_MS)
        await projections_repository.truncate_projections(session)
        await projections_repository.create_counter_stage(session)
        async for chunk in repository.events_by_entity(session, batch_size):
            for row in chunk:
                event = StoredEvent(row.event_id, row.type, row.time, row.data)
                found = entity_of(event.type, event.data)
                if found is None:  # a malformed key: stored, but no entity to fold into
                    pass
                elif found == current:
                    folded.append(event)
                elif found in done:
                    stragglers.append(event)
                else:
                    await finish()
                    current, folded = found, [event]
            replayed += len(chunk)
            log.info("rebuild_progress", replayed=replayed)
        await finish()
        for kind, rows in to_save.items():
            await projections_repository.copy_new_rows(session, kind, rows)
        log.info("rebuild_stragglers", events=len(stragglers))
        for start in range(0, len(stragglers), batch_size):
            part = stragglers[start : start + batch_size]
            await apply_events(session, part, deltas=pending, exclusive=True)
        await projections_repository.stage_counters(session, pending)
        await projections_repository.counters_from_stage(session)
        replayed += await repository.count_unrouted_events(session)
        # Fresh statistics, or the planner would plan the first queries for empty tables.
        await projections_repository.analyze_projections(session)
    return replayed
