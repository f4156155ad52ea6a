"""Every query of the analytics service."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from swe_analytics.models import (
    PROJECTION_TABLES,
    agents,
    events,
    issues,
    metric_buckets,
    metric_totals,
    projects,
    pull_requests,
    reviews,
    runs,
)
from swe_analytics.projections import ALL_PROJECTS, CounterKey, Row, StoredEvent

ENTITY_TABLES: dict[str, sa.Table] = {
    "projects": projects,
    "agents": agents,
    "issues": issues,
    "pull_requests": pull_requests,
    "reviews": reviews,
    "runs": runs,
}

Totals = dict[str, tuple[int, Decimal]]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which projects a question covers: ``None`` is every project (admins)."""

    project_ids: tuple[uuid.UUID, ...] | None

    @property
    def is_all(self) -> bool:
        return self.project_ids is None


# -- the store -------------------------------------------------------------------------------


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


async def events_after(
    session: AsyncSession, last_id: int, limit: int
) -> list[tuple[int, StoredEvent]]:
    result = await session.execute(
        sa.select(events.c.id, events.c.event_id, events.c.type, events.c.time, events.c.data)
        .where(events.c.id > last_id)
        .order_by(events.c.id)
        .limit(limit)
    )
    return [(r.id, StoredEvent(r.event_id, r.type, r.time, r.data)) for r in result]


async def stream_events(
    conn: AsyncConnection,
    project_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
    chunk_rows: int,
) -> AsyncIterator[Sequence[sa.Row[Any]]]:
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


# -- projections: rows and counters ----------------------------------------------------------


def _array_type(column: sa.Column[Any]) -> str:
    return f"{column.type.compile(dialect=postgresql.dialect())}[]"


def _unnest(table: sa.Table, prefix: str = "") -> str:
    """``INSERT INTO table (cols) SELECT * FROM unnest(:col arrays)``: one statement for any
    number of rows (executemany would send one statement per row)."""
    names = ", ".join(f'"{c.name}"' for c in table.c)
    arrays = ", ".join(f"CAST(:{prefix}{c.name} AS {_array_type(c)})" for c in table.c)
    # Built from the table's own metadata only; every value travels as a bound array.
    return f'INSERT INTO "{table.schema}"."{table.name}" ({names}) SELECT * FROM unnest({arrays})'  # noqa: S608


def _columns(table: sa.Table, rows: Sequence[Row], prefix: str = "") -> dict[str, list[Any]]:
    params = {}
    for column in table.c:
        values = [row[column.name] for row in rows]
        if isinstance(column.type, JSONB):
            values = [Jsonb(v) if v is not None else None for v in values]
        params[prefix + column.name] = values
    return params


async def lock_rows(session: AsyncSession, kind: str, keys: Sequence[uuid.UUID]) -> dict[Any, Row]:
    """The current rows of ``keys``, locked; missing ones are created empty first.

    The no-op upsert creates a missing row or locks an existing one, so two transactions
    touching one entity serialise on it and neither computes its counter change from a row
    the other is about to replace. Keys go in sorted, so locks are taken in one order.
    """
    table = ENTITY_TABLES[kind]
    result = await session.execute(
        sa.text(
            f'INSERT INTO "{table.schema}"."{table.name}" (id) '
            "SELECT unnest(CAST(:ids AS uuid[])) "
            "ON CONFLICT (id) DO UPDATE SET id = excluded.id RETURNING *"
        ),
        {"ids": sorted(set(keys))},
    )
    return {row.id: dict(row._mapping) for row in result}


async def read_rows(session: AsyncSession, kind: str, keys: Sequence[uuid.UUID]) -> dict[Any, Row]:
    """The rows of ``keys`` without locking (the rebuild holds the whole table), with an empty
    row for each key not stored yet."""
    table = ENTITY_TABLES[kind]
    result = await session.execute(
        sa.select(table).where(table.c.id == sa.any_(sa.cast(list(keys), sa.ARRAY(sa.Uuid))))
    )
    found = {row.id: dict(row._mapping) for row in result}
    return {key: found.get(key) or empty_row(table, key) for key in keys}


def empty_row(table: sa.Table, key: uuid.UUID) -> Row:
    """What the lock's placeholder insert stores: the id, server defaults, else null."""
    defaults: dict[str, Any] = {"deleted": False, "members": {}}
    return {c.name: defaults.get(c.name) for c in table.c} | {"id": key}


async def save_rows(session: AsyncSession, kind: str, rows: Sequence[Row]) -> None:
    if not rows:
        return
    table = ENTITY_TABLES[kind]
    updates = ", ".join(f'"{c.name}" = excluded."{c.name}"' for c in table.c if c.name != "id")
    await session.execute(
        sa.text(f"{_unnest(table)} ON CONFLICT (id) DO UPDATE SET {updates}"),
        _columns(table, rows),
    )


CounterDeltas = dict[tuple[str, CounterKey], tuple[int, Decimal]]


async def add_counters(session: AsyncSession, deltas: CounterDeltas) -> None:
    """Add counter changes to the totals and buckets, in one statement, in key order."""
    ordered = sorted(
        deltas.items(), key=lambda item: (item[0][1][0], item[0][0], item[0][1][1] or _EPOCH)
    )
    totals: list[Row] = []
    buckets: list[Row] = []
    for (project, (metric, slot)), (count, total) in ordered:
        row = {
            "metric": metric,
            "project_id": project,
            "slot": slot,
            "count": count,
            "total": total,
        }
        (totals if slot is None else buckets).append(row)
    if not totals and not buckets:
        return
    add = "count = {t}.count + excluded.count, total = {t}.total + excluded.total"
    totals_sql = (
        f"{_unnest(metric_totals, 't_')} ON CONFLICT (metric, project_id) "
        f"DO UPDATE SET {add.format(t='metric_totals')}"
    )
    buckets_sql = (
        f"{_unnest(metric_buckets, 'b_')} ON CONFLICT (metric, project_id, slot) "
        f"DO UPDATE SET {add.format(t='metric_buckets')}"
    )
    statement = f"WITH totals AS ({totals_sql}) {buckets_sql}"
    await session.execute(
        sa.text(statement),
        {**_columns(metric_totals, totals, "t_"), **_columns(metric_buckets, buckets, "b_")},
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def truncate_projections(session: AsyncSession) -> None:
    names = ", ".join(f'"{t.schema}"."{t.name}"' for t in PROJECTION_TABLES)
    await session.execute(sa.text(f"TRUNCATE {names}"))


async def set_statement_timeout(session: AsyncSession, milliseconds: int) -> None:
    """For the rest of the current transaction only."""
    await session.execute(
        sa.text("SELECT set_config('statement_timeout', :value, true)"),
        {"value": str(int(milliseconds))},
    )


async def analyze_projections(session: AsyncSession) -> None:
    for table in PROJECTION_TABLES:
        await session.execute(sa.text(f'ANALYZE "{table.schema}"."{table.name}"'))


# -- access ----------------------------------------------------------------------------------


def _member_of(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    present = projects.c.members[str(user_id)]["present"].astext == "true"
    return sa.or_(projects.c.owner_id == user_id, present)


async def accessible_projects(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    result = await session.execute(
        sa.select(projects.c.id).where(~projects.c.deleted, _member_of(user_id))
    )
    return list(result.scalars().all())


async def project_visible(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID | None
) -> bool:
    """Whether the project is known (and, for a user, theirs); ``user_id=None`` is an admin."""
    statement = sa.select(projects.c.id).where(projects.c.id == project_id, ~projects.c.deleted)
    if user_id is not None:
        statement = statement.where(_member_of(user_id))
    return (await session.scalar(statement)) is not None


async def agent_project(session: AsyncSession, agent_id: uuid.UUID) -> uuid.UUID | None:
    """The project an agent belongs to, from its definition or else from its runs."""
    found = await session.scalar(
        sa.select(agents.c.project_id).where(agents.c.id == agent_id, ~agents.c.deleted)
    )
    if found is not None:
        return found  # type: ignore[no-any-return]
    return await session.scalar(  # type: ignore[no-any-return]
        sa.select(runs.c.project_id)
        .where(runs.c.agent_id == agent_id, runs.c.project_id.is_not(None))
        .limit(1)
    )


# -- figures ---------------------------------------------------------------------------------


def _in_scope(column: sa.ColumnElement[Any], scope: Scope) -> sa.ColumnElement[bool]:
    if scope.project_ids is None:
        return sa.true()
    return column == sa.any_(sa.cast(list(scope.project_ids), sa.ARRAY(sa.Uuid)))


async def totals(session: AsyncSession, scope: Scope) -> Totals:
    t = metric_totals
    result = await session.execute(
        sa.select(t.c.metric, sa.func.sum(t.c.count), sa.func.sum(t.c.total))
        .where(_in_scope(t.c.project_id, scope))
        .group_by(t.c.metric)
    )
    return {metric: (int(count), Decimal(total)) for metric, count, total in result}


async def agent_totals(session: AsyncSession, agent_id: uuid.UUID) -> Totals:
    """The run totals of one agent, in the shape of ``metric_totals`` (one agent's runs are
    few, so they are counted from its rows)."""
    r = runs
    status = sa.case(
        (r.c.status.in_(["queued", "running", "completed", "failed", "cancelled"]), r.c.status),
        else_="other",
    )
    result = await session.execute(
        sa.select(sa.literal("runs_") + status, sa.func.count(), sa.literal(0))
        .where(r.c.agent_id == agent_id)
        .group_by(status)
        .union_all(
            sa.select(sa.literal("runs_total"), sa.func.count(), sa.literal(0)).where(
                r.c.agent_id == agent_id
            ),
            sa.select(
                sa.literal("run_duration"),
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(r.c.duration_ms), 0),
            ).where(
                r.c.agent_id == agent_id, r.c.finished_at.is_not(None), r.c.duration_ms.is_not(None)
            ),
            sa.select(
                sa.literal("quality_score"),
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(sa.cast(r.c.quality_score, sa.Numeric)), 0),
            ).where(
                r.c.agent_id == agent_id,
                r.c.finished_at.is_not(None),
                r.c.quality_score.is_not(None),
            ),
        )
    )
    return {metric: (int(count), Decimal(total)) for metric, count, total in result if count}


async def agent_issue_counts(session: AsyncSession, agent_id: uuid.UUID) -> tuple[int, int]:
    """(open, resolved) issues assigned to an agent."""
    i = issues
    row = (
        await session.execute(
            sa.select(
                sa.func.count().filter(~i.c.status.in_(["resolved", "closed"])),
                sa.func.count().filter(i.c.resolved_at.is_not(None)),
            ).where(i.c.assigned_agent_id == agent_id, ~i.c.deleted, i.c.created_at.is_not(None))
        )
    ).one()
    return int(row[0]), int(row[1])


async def latest_quality(
    session: AsyncSession, scope: Scope, agent_id: uuid.UUID | None = None
) -> tuple[float, datetime] | None:
    statement = (
        sa.select(runs.c.quality_score, runs.c.finished_at)
        .where(runs.c.finished_at.is_not(None), runs.c.quality_score.is_not(None))
        .order_by(runs.c.finished_at.desc(), runs.c.id.desc())
        .limit(1)
    )
    if agent_id is not None:
        statement = statement.where(runs.c.agent_id == agent_id)
    else:
        statement = statement.where(_in_scope(runs.c.project_id, scope))
    row = (await session.execute(statement)).first()
    return (row[0], row[1]) if row else None


def _bucket_scope(scope: Scope) -> sa.ColumnElement[bool]:
    if scope.project_ids is None:
        return metric_buckets.c.project_id == ALL_PROJECTS
    return _in_scope(metric_buckets.c.project_id, scope)


async def bucket_sum(
    session: AsyncSession, metric: str, scope: Scope, start: datetime, end: datetime
) -> tuple[int, Decimal]:
    b = metric_buckets
    row = (
        await session.execute(
            sa.select(
                sa.func.coalesce(sa.func.sum(b.c.count), 0),
                sa.func.coalesce(sa.func.sum(b.c.total), 0),
            ).where(b.c.metric == metric, _bucket_scope(scope), b.c.slot >= start, b.c.slot < end)
        )
    ).one()
    return int(row[0]), Decimal(row[1])


async def bucket_series(
    session: AsyncSession, metric: str, scope: Scope, bounds: Sequence[datetime]
) -> dict[int, tuple[int, Decimal]]:
    """Counter sums per interval: index i covers ``bounds[i-1] <= slot < bounds[i]``."""
    b = metric_buckets
    index = sa.func.width_bucket(
        b.c.slot, sa.cast(list(bounds), sa.ARRAY(sa.DateTime(timezone=True)))
    )
    result = await session.execute(
        sa.select(index, sa.func.sum(b.c.count), sa.func.sum(b.c.total))
        .where(
            b.c.metric == metric, _bucket_scope(scope), b.c.slot >= bounds[0], b.c.slot < bounds[-1]
        )
        .group_by(index)
    )
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
            _in_scope(table.c.project_id, scope),
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


async def failure_rates_by_type(
    session: AsyncSession, scope: Scope, start: datetime, end: datetime
) -> list[tuple[str, int, int, int]]:
    """(agent type, completed, failed, cancelled) of runs finished in the range."""
    r = runs
    kind = sa.func.coalesce(r.c.agent_type, "unknown")
    result = await session.execute(
        sa.select(
            kind,
            sa.func.count().filter(r.c.status == "completed"),
            sa.func.count().filter(r.c.status == "failed"),
            sa.func.count().filter(r.c.status == "cancelled"),
        )
        .where(_in_scope(r.c.project_id, scope), r.c.finished_at >= start, r.c.finished_at < end)
        .group_by(kind)
        .order_by(kind)
    )
    return [(str(k), int(c), int(f), int(x)) for k, c, f, x in result]
