"""Counter sums per interval from the coarsest buckets that fit, percentiles and per-agent
figures from the run and review rows."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics.access.repository import Scope, in_scope
from swe_analytics.models import agents, reviews, runs
from swe_analytics.projections.merges import ALL_PROJECTS, SLOT
from swe_analytics.projections.repository import GRAINS, ceil_to, floor_to

Ranges = list[tuple[datetime, datetime]]


def cover(bounds: Sequence[datetime]) -> dict[sa.Table, Ranges]:
    """The slots of each grain that together hold exactly the 15-minute slots ``s`` with
    ``bounds[0] <= s < bounds[-1]``, never a coarse slot that straddles an interior edge: as
    merged ``[from, to)`` ranges per bucket table, coarsest slots first."""
    edges = [ceil_to(b.astimezone(UTC), SLOT) for b in bounds]
    pieces: dict[sa.Table, Ranges] = {table: [] for table, _ in GRAINS}
    for start, end in itertools.pairwise(edges):
        if start < end:
            _split(start, end, 0, pieces)
    return {table: _merged(ranges) for table, ranges in pieces.items() if ranges}


def _split(start: datetime, end: datetime, level: int, pieces: dict[sa.Table, Ranges]) -> None:
    table, step = GRAINS[level]
    if level == len(GRAINS) - 1:
        pieces[table].append((start, end))
        return
    inner_start, inner_end = ceil_to(start, step), floor_to(end, step)
    if inner_start >= inner_end:
        _split(start, end, level + 1, pieces)
        return
    pieces[table].append((inner_start, inner_end))
    if start < inner_start:
        _split(start, inner_start, level + 1, pieces)
    if inner_end < end:
        _split(inner_end, end, level + 1, pieces)


GRAIN_STEPS = dict(GRAINS)


def _slot_filter(n: int, ranges: Ranges, step: timedelta) -> tuple[str, dict[str, Any]]:
    """The SQL condition that picks the slots of ``ranges`` (one grain), with its parameters.

    Plain values, so the planner estimates well and walks the primary key: the span of the
    ranges (with a ``width_bucket`` test when there are several: the ranges are disjoint and
    not adjacent, so a slot inside one falls in an odd bucket of their edges) when they fill
    most of it, else the few slots themselves.
    """
    first, last = ranges[0][0], ranges[-1][1]
    wanted = sum((end - start) // step for start, end in ranges)
    if 2 * wanted < (last - first) // step:
        slots = [start + k * step for start, end in ranges for k in range((end - start) // step)]
        return f"b.slot = ANY(CAST(:slots_{n} AS timestamptz[]))", {f"slots_{n}": slots}
    params: dict[str, Any] = {f"first_{n}": first, f"last_{n}": last}
    condition = f"b.slot >= :first_{n} AND b.slot < :last_{n}"
    if len(ranges) > 1:
        params[f"edges_{n}"] = [edge for pair in ranges for edge in pair]
        condition += f" AND width_bucket(b.slot, CAST(:edges_{n} AS timestamptz[])) % 2 = 1"
    return condition, params


def _merged(ranges: Ranges) -> Ranges:
    merged: Ranges = []
    for start, end in sorted(ranges):
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


async def bucket_sum(
    session: AsyncSession, metric: str, scope: Scope, start: datetime, end: datetime
) -> tuple[int, Decimal]:
    found = await bucket_series(session, metric, scope, [start, end])
    return found.get(1, (0, Decimal(0)))


async def bucket_series(
    session: AsyncSession, metric: str, scope: Scope, bounds: Sequence[datetime]
) -> dict[int, tuple[int, Decimal]]:
    """Counter sums per interval: index i covers ``bounds[i-1] <= slot < bounds[i]``.

    Each interval is read from the coarsest buckets that fit inside it (see :func:`cover`);
    admins read the platform-wide buckets.
    """
    params: dict[str, Any] = {"metric": metric, "bounds": list(bounds)}
    if scope.project_ids is None:
        scoped = "b.project_id = CAST(:all_projects AS uuid)"
        params["all_projects"] = ALL_PROJECTS
    else:
        scoped = "b.project_id = ANY(CAST(:projects AS uuid[]))"
        params["projects"] = list(scope.project_ids)
    parts = []
    for n, (table, ranges) in enumerate(cover(bounds).items()):
        slots, values = _slot_filter(n, ranges, GRAIN_STEPS[table])
        params |= values
        # Names come from the table metadata only; every value is a bound parameter.
        parts.append(
            "SELECT width_bucket(b.slot, CAST(:bounds AS timestamptz[])) AS i, b.count, b.total "  # noqa: S608
            f'FROM "{table.schema}"."{table.name}" b '
            f"WHERE b.metric = :metric AND {scoped} AND {slots}"
        )
    if not parts:
        return {}
    union = " UNION ALL ".join(parts)
    statement = f"SELECT i, sum(count), sum(total) FROM ({union}) AS found GROUP BY i"  # noqa: S608
    result = await session.execute(sa.text(statement), params)
    return {int(i): (int(c), Decimal(t)) for i, c, t in result}


PERCENTILE_SOURCES: dict[str, tuple[sa.Table, str, Any]] = {
    # metric: (table, time column, value in seconds)
    "run_duration": (runs, "finished_at", runs.c.duration_ms / 1000.0),
    "review_turnaround": (
        reviews,
        "reviewed_at",
        sa.func.extract("epoch", reviews.c.reviewed_at - reviews.c.requested_at),
    ),
    "queue_wait": (
        runs,
        "started_at",
        sa.func.extract("epoch", runs.c.started_at - runs.c.queued_at),
    ),
}


PERCENTILES = (0.5, 0.9, 0.99)


async def percentile_series(
    session: AsyncSession, metric: str, scope: Scope, bounds: Sequence[datetime]
) -> dict[int, tuple[int, list[float]]]:
    table, time_name, value = PERCENTILE_SOURCES[metric]
    moment = table.c[time_name]
    index = sa.func.width_bucket(
        moment, sa.cast(list(bounds), sa.ARRAY(sa.DateTime(timezone=True)))
    )
    result = await session.execute(
        sa.select(
            index,
            sa.func.count(),
            sa.func.percentile_cont(sa.cast(list(PERCENTILES), sa.ARRAY(sa.Float))).within_group(
                value
            ),
        )
        .where(
            in_scope(table.c.project_id, scope),
            moment >= bounds[0],
            moment < bounds[-1],
            value.is_not(None),
        )
        .group_by(index)
    )
    return {int(i): (int(n), [float(v) for v in values]) for i, n, values in result}


async def percentiles(
    session: AsyncSession, metric: str, scope: Scope, start: datetime, end: datetime
) -> tuple[int, list[float] | None]:
    found = await percentile_series(session, metric, scope, [start, end])
    count, values = found.get(1, (0, None))
    return count, values


@dataclass(frozen=True, slots=True)
class AgentBucket:
    """One agent's runs that finished in one interval (``i`` as in :func:`bucket_series`)."""

    agent_id: uuid.UUID
    i: int
    completed: int
    failed: int
    cancelled: int
    runs: int
    duration: tuple[int, Decimal]  # (runs with a duration, sum of milliseconds)
    quality: tuple[int, Decimal]  # (runs with a score, sum of scores)


@dataclass(frozen=True, slots=True)
class AgentInfo:
    agent_id: uuid.UUID
    project_id: uuid.UUID | None
    agent_type: str | None
    name: str | None
    runs: int


async def busiest_agents(
    session: AsyncSession,
    scope: Scope,
    start: datetime,
    end: datetime,
    limit: int,
    agent_id: uuid.UUID | None = None,
) -> list[AgentInfo]:
    """The agents with the most runs finished in ``[start, end)``, with their definitions."""
    r, a = runs, agents
    counted = (
        sa.select(r.c.agent_id, sa.func.count().label("n"))
        .where(
            in_scope(r.c.project_id, scope),
            r.c.agent_id.is_not(None),
            r.c.finished_at >= start,
            r.c.finished_at < end,
        )
        .group_by(r.c.agent_id)
    )
    if agent_id is not None:
        counted = counted.where(r.c.agent_id == agent_id)
    top = counted.subquery()
    result = await session.execute(
        sa.select(
            top.c.agent_id,
            top.c.n,
            a.c.project_id,
            a.c.name,
            # The definition's type, else the one the runs carried.
            sa.func.coalesce(
                a.c.type,
                sa.select(r.c.agent_type)
                .where(r.c.agent_id == top.c.agent_id, r.c.agent_type.is_not(None))
                .limit(1)
                .scalar_subquery(),
            ),
        )
        .outerjoin(a, a.c.id == top.c.agent_id)
        .order_by(top.c.n.desc(), top.c.agent_id)
        .limit(limit)
    )
    return [
        AgentInfo(agent_id=k, project_id=p, agent_type=t, name=name, runs=int(n))
        for k, n, p, name, t in result
    ]


async def agent_series(
    session: AsyncSession,
    scope: Scope,
    agent_ids: Sequence[uuid.UUID],
    bounds: Sequence[datetime],
) -> list[AgentBucket]:
    """Finished runs per agent and interval, counted from the run rows."""
    if not agent_ids:
        return []
    r = runs
    index = sa.func.width_bucket(
        r.c.finished_at, sa.cast(list(bounds), sa.ARRAY(sa.DateTime(timezone=True)))
    )
    has_duration = r.c.duration_ms.is_not(None)
    has_score = r.c.quality_score.is_not(None)
    result = await session.execute(
        sa.select(
            r.c.agent_id,
            index,
            sa.func.count().filter(r.c.status == "completed"),
            sa.func.count().filter(r.c.status == "failed"),
            sa.func.count().filter(r.c.status == "cancelled"),
            sa.func.count(),
            sa.func.count().filter(has_duration),
            sa.func.coalesce(sa.func.sum(r.c.duration_ms), 0),
            sa.func.count().filter(has_score),
            sa.func.coalesce(sa.func.sum(sa.cast(r.c.quality_score, sa.Numeric)), 0),
        )
        .where(
            r.c.agent_id == sa.any_(sa.cast(list(agent_ids), sa.ARRAY(sa.Uuid))),
            in_scope(r.c.project_id, scope),
            r.c.finished_at >= bounds[0],
            r.c.finished_at < bounds[-1],
        )
        .group_by(r.c.agent_id, index)
    )
    return [
        AgentBucket(
            agent_id=agent,
            i=int(i),
            completed=int(c),
            failed=int(f),
            cancelled=int(x),
            runs=int(n),
            duration=(int(nd), Decimal(d)),
            quality=(int(nq), Decimal(q)),
        )
        for agent, i, c, f, x, n, nd, d, nq, q in result
    ]
