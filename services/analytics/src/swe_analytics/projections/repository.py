"""The projections' rows and counters: locked reads, upserts, counter additions at three grains,
and the rebuild's bulk paths (COPY, a staging table for counter changes)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics.models import (
    PROJECTION_TABLES,
    agents,
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
from swe_analytics.projections.merges import SLOT, CounterKey, Row

ENTITY_TABLES: dict[str, sa.Table] = {
    "projects": projects,
    "agents": agents,
    "issues": issues,
    "pull_requests": pull_requests,
    "reviews": reviews,
    "runs": runs,
}


CounterDeltas = dict[tuple[str, CounterKey], tuple[int, Decimal]]


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


# SQLAlchemy's dialect constructors carry no annotations.
_POSTGRESQL = postgresql.dialect()  # type: ignore[no-untyped-call]


def _array_type(column: sa.Column[Any]) -> str:
    return f"{column.type.compile(dialect=_POSTGRESQL)}[]"


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
