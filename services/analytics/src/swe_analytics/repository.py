"""Every query of the analytics service."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    metric_buckets_daily,
    metric_buckets_hourly,
    metric_totals,
    projects,
    pull_requests,
    reviews,
    runs,
)
from swe_analytics.projections import (
    ALL_PROJECTS,
    ENTITY_KEYS,
    SLOT,
    CounterKey,
    Row,
)

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


def _route(routes: dict[str, str]) -> str:
    """A SQL ``CASE`` on the event type; the names and strings come from the code's tables."""
    whens = " ".join(f"WHEN '{t}' THEN '{v}'" for t, v in routes.items())
    return f"CASE type {whens} END"


async def events_by_entity(
    session: AsyncSession, chunk_rows: int
) -> AsyncIterator[Sequence[sa.Row[Any]]]:
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


async def _copy(
    session: AsyncSession, table: str, columns: Sequence[str], rows: Iterable[Any]
) -> None:
    """COPY rows into a table on the session's own connection (so in its transaction)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    names = ", ".join(f'"{c}"' for c in columns)
    driver: Any = raw.driver_connection
    statement = f"COPY {table} ({names}) FROM STDIN"
    async with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            await copy.write_row(row)


async def copy_new_rows(session: AsyncSession, kind: str, rows: Sequence[Row]) -> None:
    """Insert rows into an emptied table (the rebuild): no conflict to resolve."""
    table = ENTITY_TABLES[kind]
    json_columns = {c.name for c in table.c if isinstance(c.type, JSONB)}
    names = [c.name for c in table.c]
    values = (
        [Jsonb(row[n]) if n in json_columns and row[n] is not None else row[n] for n in names]
        for row in rows
    )
    await _copy(session, f'"{table.schema}"."{table.name}"', names, values)


STAGED_COUNTERS = "rebuild_counters"


async def create_counter_stage(session: AsyncSession) -> None:
    """A scratch table for the rebuild's counter changes, summed once at the end."""
    await session.execute(
        sa.text(
            f"CREATE TEMPORARY TABLE {STAGED_COUNTERS} (metric varchar(100), project_id uuid, "
            "slot timestamptz, count bigint, total numeric) ON COMMIT DROP"
        )
    )


async def stage_counters(session: AsyncSession, deltas: CounterDeltas) -> None:
    rows = (
        (metric, project, slot, count, total)
        for (project, (metric, slot)), (count, total) in deltas.items()
        if count != 0 or total != 0
    )
    await _copy(session, STAGED_COUNTERS, ("metric", "project_id", "slot", "count", "total"), rows)


async def counters_from_stage(session: AsyncSession) -> None:
    """Sum the staged changes into the (emptied) counters, then roll the 15-minute buckets up
    into hours and days, exactly as live ingest keeps them (numeric sums are exact)."""
    nonzero = "HAVING sum(count) <> 0 OR sum(total) <> 0"
    # Every name below is a constant of this module or the table metadata; no value is inlined.
    statements = [
        f"INSERT INTO analytics.metric_totals (metric, project_id, count, total) "  # noqa: S608
        f"SELECT metric, project_id, sum(count), sum(total) FROM {STAGED_COUNTERS} "
        f"WHERE slot IS NULL GROUP BY 1, 2 {nonzero}",
        f"INSERT INTO analytics.metric_buckets (metric, project_id, slot, count, total) "  # noqa: S608
        f"SELECT metric, project_id, slot, sum(count), sum(total) FROM {STAGED_COUNTERS} "
        f"WHERE slot IS NOT NULL GROUP BY 1, 2, 3 {nonzero}",
    ]
    for table, unit in ((metric_buckets_hourly, "hour"), (metric_buckets_daily, "day")):
        statements.append(
            f'INSERT INTO "{table.schema}"."{table.name}" (metric, project_id, slot, count, '  # noqa: S608
            f"total) SELECT metric, project_id, date_trunc('{unit}', slot, 'UTC'), sum(count), "
            f"sum(total) FROM analytics.metric_buckets GROUP BY 1, 2, 3 {nonzero}"
        )
    for statement in statements:
        await session.execute(sa.text(statement))


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
    """Add counter changes to the totals, the 15-minute buckets and their hourly and daily
    roll-ups, in one statement, each table in key order."""
    ordered = sorted(
        deltas.items(), key=lambda item: (item[0][1][0], item[0][0], item[0][1][1] or _EPOCH)
    )
    totals: list[Row] = []
    grains: dict[sa.Table, dict[tuple[str, Any, datetime], list[Any]]] = {
        table: {} for table, _ in GRAINS
    }
    for (project, (metric, slot)), (count, total) in ordered:
        if slot is None:
            totals.append(_counter_row(metric, project, None, count, total))
            continue
        for table, step in GRAINS:
            held = grains[table].setdefault((metric, project, floor_to(slot, step)), [0, 0])
            held[0] += count
            held[1] += total
    tables = {
        table: [
            _counter_row(metric, project, slot, count, total)
            for (metric, project, slot), (count, total) in rows.items()
            if count != 0 or total != 0
        ]
        for table, rows in grains.items()
    }
    if not totals and not any(tables.values()):
        return
    add = "count = {t}.count + excluded.count, total = {t}.total + excluded.total"
    parts = [
        f"{_unnest(metric_totals, 't_')} ON CONFLICT (metric, project_id) "
        f"DO UPDATE SET {add.format(t='metric_totals')}"
    ]
    params = _columns(metric_totals, totals, "t_")
    for n, (table, rows) in enumerate(tables.items()):
        parts.append(
            f"{_unnest(table, f'b{n}_')} ON CONFLICT (metric, project_id, slot) "
            f"DO UPDATE SET {add.format(t=table.name)}"
        )
        params |= _columns(table, rows, f"b{n}_")
    *ctes, last = parts
    statement = "WITH " + ", ".join(f"c{n} AS ({sql})" for n, sql in enumerate(ctes)) + f" {last}"
    await session.execute(sa.text(statement), params)


def _counter_row(
    metric: str, project: Any, slot: datetime | None, count: int, total: Decimal
) -> Row:
    return {"metric": metric, "project_id": project, "slot": slot, "count": count, "total": total}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
# Coarsest first; every grain's slots are aligned to the UTC epoch.
GRAINS: tuple[tuple[sa.Table, timedelta], ...] = (
    (metric_buckets_daily, DAY),
    (metric_buckets_hourly, HOUR),
    (metric_buckets, SLOT),
)


def floor_to(moment: datetime, step: timedelta) -> datetime:
    return moment - (moment - _EPOCH) % step


def ceil_to(moment: datetime, step: timedelta) -> datetime:
    offset = (moment - _EPOCH) % step
    return moment + (step - offset) if offset else moment


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
        in_scope = "b.project_id = CAST(:all_projects AS uuid)"
        params["all_projects"] = ALL_PROJECTS
    else:
        in_scope = "b.project_id = ANY(CAST(:projects AS uuid[]))"
        params["projects"] = list(scope.project_ids)
    parts = []
    for n, (table, ranges) in enumerate(cover(bounds).items()):
        slots, values = _slot_filter(n, ranges, GRAIN_STEPS[table])
        params |= values
        # Names come from the table metadata only; every value is a bound parameter.
        parts.append(
            "SELECT width_bucket(b.slot, CAST(:bounds AS timestamptz[])) AS i, b.count, b.total "  # noqa: S608
            f'FROM "{table.schema}"."{table.name}" b '
            f"WHERE b.metric = :metric AND {in_scope} AND {slots}"
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
            _in_scope(r.c.project_id, scope),
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
            _in_scope(r.c.project_id, scope),
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
