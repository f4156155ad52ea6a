"""Folding events into their entities' rows and moving the counters by the rows' change."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics.projections import repository
from swe_analytics.projections.merges import (
    MERGES,
    CounterKey,
    StoredEvent,
    contribution_delta,
    entity_of,
)
from swe_analytics.projections.repository import CounterDeltas


async def apply_events(
    session: AsyncSession,
    stored: Sequence[StoredEvent],
    *,
    deltas: CounterDeltas | None = None,
    exclusive: bool = False,
) -> None:
    """Fold events into their entities' rows and move the counters by the rows' change.

    Live ingest locks the rows it changes and writes the counters at once. The rebuild
    (``exclusive``: it holds the projections' tables locked) reads rows without locking and
    passes its own ``deltas`` to add up counter changes across batches before writing them.
    """
    grouped: dict[str, dict[uuid.UUID, list[StoredEvent]]] = defaultdict(lambda: defaultdict(list))
    for event in stored:
        found = entity_of(event.type, event.data)
        if found is not None:
            grouped[found[0]][found[1]].append(event)
    pending: CounterDeltas = {} if deltas is None else deltas
    for kind in sorted(grouped):  # one lock order for every transaction
        entities = grouped[kind]
        if exclusive:
            current = await repository.read_rows(session, kind, list(entities))
        else:
            current = await repository.lock_rows(session, kind, list(entities))
        changed = []
        for key, events in entities.items():
            old = current[key]
            new = old
            for event in events:
                new = MERGES[kind](new, event)
            if new != old:
                changed.append(new)
                add_deltas(pending, contribution_delta(kind, old, new))
        await repository.save_rows(session, kind, changed)
    if deltas is None:
        await flush_counters(session, pending)


def add_deltas(
    pending: CounterDeltas, changes: Iterable[tuple[str, CounterKey, int, Decimal]]
) -> None:
    for scope, metric_key, count, total in changes:
        held = pending.get((scope, metric_key))
        if held is None:
            pending[(scope, metric_key)] = (count, total)
        else:
            pending[(scope, metric_key)] = (held[0] + count, held[1] + total)


async def flush_counters(session: AsyncSession, pending: CounterDeltas) -> None:
    await repository.add_counters(
        session, {k: v for k, v in pending.items() if v[0] != 0 or v[1] != 0}
    )
    pending.clear()
