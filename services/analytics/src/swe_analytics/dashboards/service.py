"""Figures over a scope: issues, pull requests, runs, quality, findings; performance."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics.access import repository as access_repository
from swe_analytics.access.repository import Scope
from swe_analytics.access.service import require_project, scope_for
from swe_analytics.dashboards import repository
from swe_analytics.dashboards.repository import Totals
from swe_analytics.dashboards.schemas import (
    AgentFigures,
    AgentIssueFigures,
    AgentTypeFailures,
    Dashboard,
    FindingFigures,
    IssueFigures,
    Percentiles,
    Performance,
    ProjectFigures,
    PullRequestFigures,
    QualityFigures,
    QualityTrend,
    RunFigures,
)
from swe_analytics.projections.merges import SEVERITIES
from swe_analytics.timeseries import repository as series_repository
from swe_common.errors import NotFound
from swe_common.security import Principal


def _count(totals: Totals, metric: str) -> int:
    return totals.get(metric, (0, Decimal(0)))[0]


def _mean(totals: Totals, metric: str, scale: float = 1.0) -> float | None:
    count, total = totals.get(metric, (0, Decimal(0)))
    return float(total) / count / scale if count else None


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def run_figures(totals: Totals) -> RunFigures:
    by_status = {
        name.removeprefix("runs_"): count
        for name, (count, _) in sorted(totals.items())
        if name.startswith("runs_") and name != "runs_total" and count
    }
    completed, failed = by_status.get("completed", 0), by_status.get("failed", 0)
    return RunFigures(
        total=_count(totals, "runs_total"),
        by_status=by_status,
        success_rate=ratio(completed, completed + failed),
        mean_duration_seconds=_mean(totals, "run_duration", 1000.0),
        mean_queue_wait_seconds=_mean(totals, "queue_wait"),
    )


async def quality_figures(
    session: AsyncSession, scope: Scope, totals: Totals, now: datetime, with_trend: bool = True
) -> QualityFigures:
    latest = await repository.latest_quality(session, scope)
    trend = await quality_trend(session, scope, now) if with_trend else None
    return QualityFigures(
        latest=latest[0] if latest else None,
        latest_at=latest[1] if latest else None,
        mean=_mean(totals, "quality_score"),
        trend=trend,
    )


async def quality_trend(session: AsyncSession, scope: Scope, now: datetime) -> QualityTrend:
    week = timedelta(days=7)
    recent = await series_repository.bucket_sum(session, "quality_score", scope, now - week, now)
    before = await series_repository.bucket_sum(
        session, "quality_score", scope, now - 2 * week, now - week
    )
    last = float(recent[1]) / recent[0] if recent[0] else None
    previous = float(before[1]) / before[0] if before[0] else None
    change = last - previous if last is not None and previous is not None else None
    if change is None:
        direction = "unknown"
    else:
        direction = "up" if change > 1e-9 else "down" if change < -1e-9 else "flat"
    return QualityTrend(
        last_7_days=last, previous_7_days=previous, change=change, direction=direction
    )


def finding_figures(totals: Totals) -> FindingFigures:
    by_severity = {s: int(totals.get(f"findings_{s}", (0, Decimal(0)))[1]) for s in SEVERITIES}
    return FindingFigures(
        runs_reported=_count(totals, "findings_reported"),
        total=sum(by_severity.values()),
        by_severity=by_severity,
    )


def _issue_and_pr_figures(totals: Totals) -> tuple[IssueFigures, PullRequestFigures]:
    issues = IssueFigures(
        total=_count(totals, "issues_total"),
        open=_count(totals, "issues_open"),
        resolved=_count(totals, "issues_resolved"),
        mean_time_to_resolve_seconds=_mean(totals, "issues_resolved"),
    )
    prs = PullRequestFigures(
        tracked=_count(totals, "prs_tracked"),
        open=_count(totals, "prs_open"),
        merged=_count(totals, "prs_merged"),
        closed=_count(totals, "prs_closed"),
        reviews_requested=_count(totals, "reviews_requested"),
        reviewed=_count(totals, "prs_reviewed"),
        mean_review_turnaround_seconds=_mean(totals, "review_turnaround"),
    )
    return issues, prs


async def scope_figures(session: AsyncSession, scope: Scope, now: datetime) -> Dashboard:
    totals = await repository.totals(session, scope)
    issues, prs = _issue_and_pr_figures(totals)
    return Dashboard(
        projects=None if scope.project_ids is None else len(scope.project_ids),
        issues=issues,
        pull_requests=prs,
        runs=run_figures(totals),
        quality=await quality_figures(session, scope, totals, now),
        findings=finding_figures(totals),
    )


async def dashboard(
    session: AsyncSession, principal: Principal, now: datetime | None = None
) -> Dashboard:
    scope = await scope_for(session, principal)
    return await scope_figures(session, scope, now or datetime.now(UTC))


async def project_figures(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID
) -> ProjectFigures:
    scope = await require_project(session, principal, project_id)
    figures = await scope_figures(session, scope, datetime.now(UTC))
    return ProjectFigures(project_id=project_id, **figures.model_dump())


async def agent_figures(
    session: AsyncSession, principal: Principal, agent_id: uuid.UUID
) -> AgentFigures:
    project_id = await access_repository.agent_project(session, agent_id)
    if project_id is None:
        raise NotFound(f"Agent {agent_id} does not exist")
    try:
        await require_project(session, principal, project_id)
    except NotFound:
        raise NotFound(f"Agent {agent_id} does not exist") from None
    totals = await repository.agent_totals(session, agent_id)
    latest = await repository.latest_quality(session, Scope(None), agent_id=agent_id)
    open_issues, resolved_issues = await repository.agent_issue_counts(session, agent_id)
    return AgentFigures(
        agent_id=agent_id,
        project_id=project_id,
        runs=run_figures(totals),
        quality=QualityFigures(
            latest=latest[0] if latest else None,
            latest_at=latest[1] if latest else None,
            mean=_mean(totals, "quality_score"),
        ),
        assigned_issues=AgentIssueFigures(open=open_issues, resolved=resolved_issues),
    )


async def performance(
    session: AsyncSession, principal: Principal, start: datetime, end: datetime
) -> Performance:
    scope = await scope_for(session, principal)
    by_type = await repository.failure_rates_by_type(session, scope, start, end)
    completed = sum(row[1] for row in by_type)
    failed = sum(row[2] for row in by_type)
    return Performance(
        start=start,
        end=end,
        runs_finished=sum(row[1] + row[2] + row[3] for row in by_type),
        failure_rate=ratio(failed, completed + failed),
        run_duration_seconds=await _percentiles(session, "run_duration", scope, start, end),
        queue_wait_seconds=await _percentiles(session, "queue_wait", scope, start, end),
        review_turnaround_seconds=await _percentiles(
            session, "review_turnaround", scope, start, end
        ),
        by_agent_type=[
            AgentTypeFailures(
                agent_type=kind,
                completed=c,
                failed=f,
                cancelled=x,
                failure_rate=ratio(f, c + f),
            )
            for kind, c, f, x in by_type
        ],
    )


async def _percentiles(
    session: AsyncSession, metric: str, scope: Scope, start: datetime, end: datetime
) -> Percentiles:
    count, values = await series_repository.percentiles(session, metric, scope, start, end)
    if not values:
        return Percentiles(count=0, p50=None, p90=None, p99=None)
    return Percentiles(count=count, p50=values[0], p90=values[1], p99=values[2])
