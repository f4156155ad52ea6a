"""Windows in the caller's time zone and the series over them: counters, percentiles,
breakdowns, and per-agent performance."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics.access import repository as access_repository
from swe_analytics.access.repository import Scope
from swe_analytics.access.service import require_project, scope_for
from swe_analytics.dashboards.service import ratio
from swe_analytics.projections.merges import SEVERITIES
from swe_analytics.timeseries import repository
from swe_analytics.timeseries.repository import AgentBucket
from swe_analytics.timeseries.schemas import (
    AgentPerformanceSeries,
    AgentPoint,
    AgentSeries,
    Interval,
    Metric,
    Point,
    RangeName,
    TimeSeries,
)
from swe_common.errors import NotFound, Unprocessable
from swe_common.security import Principal

MAX_POINTS = 10_000


# Far enough from datetime's limits that flooring and stepping by a week never overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


LATEST = datetime(9000, 1, 1, tzinfo=UTC)


RANGES = {
    RangeName.day: timedelta(days=1),
    RangeName.week: timedelta(days=7),
    RangeName.month: timedelta(days=30),
    RangeName.quarter: timedelta(days=91),
    RangeName.year: timedelta(days=365),
}


PERCENTILE_METRICS = {Metric.run_duration, Metric.review_turnaround, Metric.queue_wait}


FINISHED_STATUSES = ("completed", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class Window:
    zone: ZoneInfo
    interval: Interval
    bounds: list[datetime]  # interval edges in the zone; n edges make n-1 intervals

    @property
    def utc_bounds(self) -> list[datetime]:
        return [b.astimezone(UTC) for b in self.bounds]


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Unprocessable(
            f"Unknown time zone {name!r}; use an IANA name such as Europe/Paris",
            errors=[{"field": "query.tz", "message": "unknown time zone"}],
        ) from None


def _floor(moment: datetime, interval: Interval) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    if interval is Interval.hour:
        return moment
    moment = moment.replace(hour=0)
    if interval is Interval.week:
        moment -= timedelta(days=moment.weekday())
    return moment


def _next(edge: datetime, interval: Interval, zone: ZoneInfo) -> datetime:
    if interval is Interval.hour:
        # Hours step in absolute time (a DST change makes one local hour repeat or vanish).
        return (edge.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    # Days and weeks step in wall-clock time, so a DST day is 23 or 25 hours long.
    step = timedelta(days=7 if interval is Interval.week else 1)
    return (edge.replace(tzinfo=None) + step).replace(tzinfo=zone)


def make_window(
    *,
    range_: RangeName | None,
    start: datetime | None,
    end: datetime | None,
    interval: Interval,
    tz: str,
    now: datetime | None = None,
) -> Window:
    zone = parse_zone(tz)
    start, end = resolve_range(range_, start, end, zone=zone, now=now)
    edge = _floor(start.astimezone(zone), interval)
    bounds = [edge]
    while bounds[-1] < end:
        bounds.append(_next(bounds[-1], interval, zone))
        if len(bounds) > MAX_POINTS + 1:
            raise Unprocessable(
                f"That range at {interval.value} interval is over {MAX_POINTS} points; "
                "choose a longer interval or a shorter range",
                errors=[{"field": "query.interval", "message": "too many points"}],
            )
    return Window(zone=zone, interval=interval, bounds=bounds)


def resolve_range(
    range_: RangeName | None,
    start: datetime | None,
    end: datetime | None,
    *,
    default: RangeName = RangeName.month,
    zone: ZoneInfo | None = None,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """``[from, to)``: explicit bounds win; otherwise the named range ending at ``to``/now."""
    zone = zone or ZoneInfo("UTC")
    end = _aware(end, zone) if end else (now or datetime.now(UTC))
    start = _aware(start, zone) if start else end - RANGES[range_ or default]
    if start >= end:
        raise Unprocessable(
            "'from' must be before 'to'",
            errors=[{"field": "query.from", "message": "must be before 'to'"}],
        )
    if not (start >= EARLIEST and end <= LATEST):
        raise Unprocessable(
            f"Times must lie between {EARLIEST.year} and {LATEST.year}",
            errors=[{"field": "query.from", "message": "out of range"}],
        )
    if end - start > timedelta(days=3660):
        raise Unprocessable(
            "The range may span at most ten years",
            errors=[{"field": "query.from", "message": "range too long"}],
        )
    return start, end


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    # A time without an offset is read in the requested zone.
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def _unit(metric: Metric) -> str:
    if metric in PERCENTILE_METRICS:
        return "seconds"
    return "score" if metric is Metric.quality_score else "count"


async def timeseries(
    session: AsyncSession,
    principal: Principal,
    metric: Metric,
    window: Window,
    project_id: uuid.UUID | None = None,
) -> TimeSeries:
    if project_id is not None:
        scope = await require_project(session, principal, project_id)
    else:
        scope = await scope_for(session, principal)
    points = await series_points(session, scope, metric, window)
    return TimeSeries(
        metric=metric,
        interval=window.interval,
        tz=window.zone.key,
        start=window.bounds[0],
        end=window.bounds[-1],
        unit=_unit(metric),
        points=points,
    )


async def series_points(
    session: AsyncSession, scope: Scope, metric: Metric, window: Window
) -> list[Point]:
    bounds = window.utc_bounds
    if metric in PERCENTILE_METRICS:
        found = await repository.percentile_series(session, metric.value, scope, bounds)
        return [_percentile_point(t, found.get(i)) for i, t in enumerate(window.bounds[:-1], 1)]
    if metric is Metric.agent_runs:
        return await _runs_by_status(session, scope, window)
    if metric is Metric.findings:
        return await _findings_by_severity(session, scope, window)
    sums = await repository.bucket_series(session, metric.value, scope, bounds)
    points = []
    for i, t in enumerate(window.bounds[:-1], 1):
        count, total = sums.get(i, (0, Decimal(0)))
        if metric is Metric.quality_score:
            value = float(total) / count if count else None
        else:
            value = float(count)
        points.append(Point(t=t, value=value, count=count))
    return points


def _percentile_point(t: datetime, found: tuple[int, list[float]] | None) -> Point:
    if found is None:
        return Point(t=t, value=None, count=0)
    count, (p50, p90, p99) = found
    return Point(t=t, value=p50, count=count, p50=p50, p90=p90, p99=p99)


async def _runs_by_status(session: AsyncSession, scope: Scope, window: Window) -> list[Point]:
    per_status = {
        status: await repository.bucket_series(session, f"runs_{status}", scope, window.utc_bounds)
        for status in FINISHED_STATUSES
    }
    points = []
    for i, t in enumerate(window.bounds[:-1], 1):
        by_status = {s: per_status[s].get(i, (0, Decimal(0)))[0] for s in FINISHED_STATUSES}
        total = sum(by_status.values())
        points.append(Point(t=t, value=float(total), count=total, by_status=by_status))
    return points


async def _findings_by_severity(session: AsyncSession, scope: Scope, window: Window) -> list[Point]:
    """Findings reported by the runs that finished in each interval, per severity; ``count`` is
    the number of those runs that reported findings (zero or more)."""
    bounds = window.utc_bounds
    reported = await repository.bucket_series(session, "findings_reported", scope, bounds)
    per_severity = {
        s: await repository.bucket_series(session, f"findings_{s}", scope, bounds)
        for s in SEVERITIES
    }
    points = []
    for i, t in enumerate(window.bounds[:-1], 1):
        by_severity = {s: int(per_severity[s].get(i, (0, Decimal(0)))[1]) for s in SEVERITIES}
        runs = reported.get(i, (0, Decimal(0)))[0]
        total = sum(by_severity.values())
        points.append(Point(t=t, value=float(total), count=runs, by_severity=by_severity))
    return points


async def agent_performance(
    session: AsyncSession,
    principal: Principal,
    window: Window,
    *,
    project_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    limit: int = 20,
) -> AgentPerformanceSeries:
    """Per agent and interval: finished runs, success rate, mean duration and mean score, for
    the busiest ``limit`` agents of the caller's projects (or one project, or one agent)."""
    if agent_id is not None:
        owner = await access_repository.agent_project(session, agent_id)
        if owner is None or (project_id is not None and owner != project_id):
            raise NotFound(f"Agent {agent_id} does not exist")
        try:
            scope = await require_project(session, principal, owner)
        except NotFound:
            raise NotFound(f"Agent {agent_id} does not exist") from None
    elif project_id is not None:
        scope = await require_project(session, principal, project_id)
    else:
        scope = await scope_for(session, principal)
    bounds = window.utc_bounds
    agents = await repository.busiest_agents(
        session, scope, bounds[0], bounds[-1], limit, agent_id=agent_id
    )
    if agent_id is not None and not agents:  # no run in the range: still its (empty) series
        agents = [repository.AgentInfo(agent_id, owner, None, None, 0)]
    found = await repository.agent_series(session, scope, [a.agent_id for a in agents], bounds)
    by_agent: dict[uuid.UUID, dict[int, AgentBucket]] = defaultdict(dict)
    for bucket in found:
        by_agent[bucket.agent_id][bucket.i] = bucket
    return AgentPerformanceSeries(
        interval=window.interval,
        tz=window.zone.key,
        start=window.bounds[0],
        end=window.bounds[-1],
        agents=[
            AgentSeries(
                agent_id=a.agent_id,
                project_id=a.project_id,
                agent_type=a.agent_type,
                name=a.name,
                runs=a.runs,
                points=[
                    _agent_point(t, by_agent[a.agent_id].get(i))
                    for i, t in enumerate(window.bounds[:-1], 1)
                ],
            )
            for a in agents
        ],
    )


def _agent_point(t: datetime, bucket: AgentBucket | None) -> AgentPoint:
    if bucket is None:
        return AgentPoint(
            t=t,
            runs=0,
            completed=0,
            failed=0,
            cancelled=0,
            success_rate=None,
            timed=0,
            mean_duration_seconds=None,
            scored=0,
            mean_quality_score=None,
        )
    durations, duration_ms = bucket.duration
    scored, scores = bucket.quality
    return AgentPoint(
        t=t,
        runs=bucket.runs,
        completed=bucket.completed,
        failed=bucket.failed,
        cancelled=bucket.cancelled,
        success_rate=ratio(bucket.completed, bucket.completed + bucket.failed),
        timed=durations,
        scored=scored,
        mean_duration_seconds=float(duration_ms) / durations / 1000 if durations else None,
        mean_quality_score=float(scores) / scored if scored else None,
    )
