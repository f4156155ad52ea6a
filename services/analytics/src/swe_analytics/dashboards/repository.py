"""The dashboards' queries: totals, one agent's runs, the latest score, failure rates."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics.access.repository import Scope, in_scope
from swe_analytics.models import issues, metric_totals, runs

Totals = dict[str, tuple[int, Decimal]]


async def totals(session: AsyncSession, scope: Scope) -> Totals:
    t = metric_totals
    result = await session.execute(
        sa.select(t.c.metric, sa.func.sum(t.c.count), sa.func.sum(t.c.total))
        .where(in_scope(t.c.project_id, scope))
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
        statement = statement.where(in_scope(runs.c.project_id, scope))
    row = (await session.execute(statement)).first()
    return (row[0], row[1]) if row else None


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
        .where(in_scope(r.c.project_id, scope), r.c.finished_at >= start, r.c.finished_at < end)
        .group_by(kind)
        .order_by(kind)
    )
    return [(str(k), int(c), int(f), int(x)) for k, c, f, x in result]
