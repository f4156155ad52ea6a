"""The analytics domain: storing events, keeping projections, answering figures."""

from __future__ import annotations

import csv
import io
import json
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics import repository
from swe_analytics.projections import (
    MERGES,
    SEVERITIES,
    CounterKey,
    Row,
    StoredEvent,
    as_uuid,
    contribution_delta,
    entity_of,
    project_of,
)
from swe_analytics.repository import AgentBucket, Scope, Totals
from swe_analytics.schemas import (
    AgentFigures,
    AgentIssueFigures,
    AgentPerformanceSeries,
    AgentPoint,
    AgentSeries,
    AgentTypeFailures,
    CustomEventIn,
    Dashboard,
    ExportFormat,
    FindingFigures,
    Interval,
    IssueFigures,
    Metric,
    Percentiles,
    Performance,
    Point,
    ProjectFigures,
    PullRequestFigures,
    QualityFigures,
    QualityTrend,
    RangeName,
    RunFigures,
    TimeSeries,
)
from swe_analytics.settings import Settings
from swe_common.db import Database
from swe_common.errors import AppError, NotFound, TooManyRequests, Unprocessable
from swe_common.events import CloudEvent
from swe_common.security import Principal

log = structlog.stdlib.get_logger(__name__)

CUSTOM_SOURCE = "/swe/analytics/clients"
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


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Content Too Large"


# -- ingest ----------------------------------------------------------------------------------


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


CounterDeltas = dict[tuple[str, CounterKey], tuple[int, Decimal]]
REBUILD_FLUSH_KEYS = 100_000
REBUILD_STATEMENT_TIMEOUT_MS = 600_000


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
                _add_deltas(pending, contribution_delta(kind, old, new))
        await repository.save_rows(session, kind, changed)
    if deltas is None:
        await flush_counters(session, pending)


def _add_deltas(
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
        old = repository.empty_row(repository.ENTITY_TABLES[kind], key)
        new = old
        for event in folded:
            new = MERGES[kind](new, event)
        if new != old:
            to_save[kind].append(new)
            _add_deltas(pending, contribution_delta(kind, old, new))
        if len(to_save[kind]) >= REBUILD_SAVE_ROWS:
            await repository.copy_new_rows(session, kind, to_save.pop(kind))
        if len(pending) > REBUILD_FLUSH_KEYS:
            await repository.stage_counters(session, pending)
            pending.clear()

    async with db.transaction() as session:
        # A rebuild's big statements may outlast the request-sized statement timeout.
        await repository.set_statement_timeout(session, REBUILD_STATEMENT_TIMEOUT_MS)
        await repository.truncate_projections(session)
        await repository.create_counter_stage(session)
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
            await repository.copy_new_rows(session, kind, rows)
        log.info("rebuild_stragglers", events=len(stragglers))
        for start in range(0, len(stragglers), batch_size):
            part = stragglers[start : start + batch_size]
            await apply_events(session, part, deltas=pending, exclusive=True)
        await repository.stage_counters(session, pending)
        await repository.counters_from_stage(session)
        replayed += await repository.count_unrouted_events(session)
        # Fresh statistics, or the planner would plan the first queries for empty tables.
        await repository.analyze_projections(session)
    return replayed


# -- access ----------------------------------------------------------------------------------


def user_id_of(principal: Principal) -> uuid.UUID | None:
    return as_uuid(principal.subject)


async def scope_for(session: AsyncSession, principal: Principal) -> Scope:
    if principal.is_admin:
        return Scope(None)
    user = user_id_of(principal)
    if user is None:
        return Scope(())
    return Scope(tuple(await repository.accessible_projects(session, user)))


async def require_project(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID
) -> Scope:
    """The one-project scope, or 404 when the caller may not see it (or it is unknown)."""
    user = None if principal.is_admin else user_id_of(principal)
    if (principal.is_admin or user is not None) and await repository.project_visible(
        session, project_id, user
    ):
        return Scope((project_id,))
    raise NotFound(f"Project {project_id} does not exist")


# -- figures ---------------------------------------------------------------------------------


def _count(totals: Totals, metric: str) -> int:
    return totals.get(metric, (0, Decimal(0)))[0]


def _mean(totals: Totals, metric: str, scale: float = 1.0) -> float | None:
    count, total = totals.get(metric, (0, Decimal(0)))
    return float(total) / count / scale if count else None


def _ratio(part: int, whole: int) -> float | None:
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
        success_rate=_ratio(completed, completed + failed),
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
    recent = await repository.bucket_sum(session, "quality_score", scope, now - week, now)
    before = await repository.bucket_sum(
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
    project_id = await repository.agent_project(session, agent_id)
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


# -- time series -----------------------------------------------------------------------------


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


# -- agent performance over time -------------------------------------------------------------


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
        owner = await repository.agent_project(session, agent_id)
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
        success_rate=_ratio(bucket.completed, bucket.completed + bucket.failed),
        timed=durations,
        scored=scored,
        mean_duration_seconds=float(duration_ms) / durations / 1000 if durations else None,
        mean_quality_score=float(scores) / scored if scored else None,
    )


# -- performance -----------------------------------------------------------------------------


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
        failure_rate=_ratio(failed, completed + failed),
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
                failure_rate=_ratio(f, c + f),
            )
            for kind, c, f, x in by_type
        ],
    )


async def _percentiles(
    session: AsyncSession, metric: str, scope: Scope, start: datetime, end: datetime
) -> Percentiles:
    count, values = await repository.percentiles(session, metric, scope, start, end)
    if not values:
        return Percentiles(count=0, p50=None, p90=None, p99=None)
    return Percentiles(count=count, p50=values[0], p90=values[1], p99=values[2])


# -- exports ---------------------------------------------------------------------------------

EVENT_COLUMNS = ("event_id", "type", "time", "project_id", "subject", "source", "data")
MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.json: "application/json",
    ExportFormat.ndjson: "application/x-ndjson",
}


def _event_record(row: Any) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "type": row.type,
        "time": row.time.isoformat(),
        "project_id": str(row.project_id) if row.project_id else None,
        "subject": row.subject,
        "source": row.source,
        "data": row.data,
    }


class _Encoder:
    """Turns records into one export format, chunk by chunk."""

    def __init__(self, fmt: ExportFormat, columns: Sequence[str]) -> None:
        self.fmt = fmt
        self.columns = columns
        self.first = True

    def head(self) -> bytes:
        if self.fmt is ExportFormat.csv:
            return self._csv([list(self.columns)])
        return b"[" if self.fmt is ExportFormat.json else b""

    def chunk(self, records: Sequence[dict[str, Any]]) -> bytes:
        if not records:
            return b""
        if self.fmt is ExportFormat.csv:
            return self._csv([[_cell(r[c]) for c in self.columns] for r in records])
        lines = [json.dumps(r, separators=(",", ":"), default=str) for r in records]
        if self.fmt is ExportFormat.ndjson:
            return ("\n".join(lines) + "\n").encode()
        text = ("" if self.first else ",") + "\n" + ",\n".join(lines)
        self.first = False
        return text.encode()

    def tail(self) -> bytes:
        return b"\n]\n" if self.fmt is ExportFormat.json else b""

    @staticmethod
    def _csv(rows: list[list[Any]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        return buffer.getvalue().encode()


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    # Spreadsheet formula injection: a cell starting with = + - @ is shown as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


async def export_events(
    db: Database,
    fmt: ExportFormat,
    project_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
    chunk_rows: int,
) -> AsyncIterator[bytes]:
    """The stored events of a project in a range, encoded as they stream from the database."""
    encoder = _Encoder(fmt, EVENT_COLUMNS)
    yield encoder.head()
    async with db.engine.connect() as conn:
        async for rows in repository.stream_events(conn, project_id, start, end, chunk_rows):
            yield encoder.chunk([_event_record(row) for row in rows])
    yield encoder.tail()


POINT_COLUMNS = ("t", "value", "count", "p50", "p90", "p99")


BREAKDOWN_COLUMNS: dict[Metric, tuple[str, tuple[str, ...]]] = {
    Metric.agent_runs: ("by_status", FINISHED_STATUSES),
    Metric.findings: ("by_severity", SEVERITIES),
}


async def export_series(series: TimeSeries, fmt: ExportFormat) -> AsyncIterator[bytes]:
    """The points, a breakdown (runs by status, findings by severity) as a column per part."""
    field, parts = BREAKDOWN_COLUMNS.get(series.metric, ("", ()))
    encoder = _Encoder(fmt, (*POINT_COLUMNS, *parts))
    yield encoder.head()
    records = []
    for p in series.points:
        record = p.model_dump(mode="json", include=set(POINT_COLUMNS))
        breakdown = getattr(p, field, None) if field else None
        records.append(record | {k: (breakdown or {}).get(k, 0) for k in parts})
    for start in range(0, len(records), 1000):
        yield encoder.chunk(records[start : start + 1000])
    yield encoder.tail()


# -- custom events ---------------------------------------------------------------------------


async def check_rate(redis: Any, settings: Settings, principal: Principal) -> None:
    """A fixed window per principal; Redis trouble lets the event through (and is logged)."""
    window = settings.custom_events_window_seconds
    now = time.time()
    window_start = int(now // window) * window
    key = f"{settings.redis_key_prefix}:custom-events:{principal.subject}:{window_start}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window + 1)
            count, _ = await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("rate_limit_unavailable", error=str(exc))
        return
    if int(count) > settings.custom_events_per_window:
        retry_after = max(1, int(window_start + window - now) + 1)
        raise TooManyRequests(
            f"At most {settings.custom_events_per_window} custom events per {window} s; "
            f"retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


async def record_custom_event(
    session: AsyncSession,
    redis: Any,
    settings: Settings,
    principal: Principal,
    body: CustomEventIn,
) -> CloudEvent:
    try:
        size = len(json.dumps(body.data, separators=(",", ":"), allow_nan=False))
    except ValueError:
        raise Unprocessable(
            "The event's data may not contain NaN or Infinity",
            errors=[{"field": "body.data", "message": "not representable in JSON"}],
        ) from None
    if size > settings.custom_event_max_bytes:
        raise PayloadTooLarge(
            f"The event's data is {size} bytes; the limit is {settings.custom_event_max_bytes}"
        )
    if "\\u0000" in json.dumps(body.data) or "\x00" in (body.subject or ""):
        raise Unprocessable(
            "The event may not contain NUL characters",
            errors=[{"field": "body.data", "message": "contains a NUL character"}],
        )
    if body.project_id is not None:
        await require_project(session, principal, body.project_id)
    await check_rate(redis, settings, principal)
    event = CloudEvent(source=CUSTOM_SOURCE, type=body.type, subject=body.subject, data=body.data)
    # The project is the checked one, never a project_id the client put inside its data.
    row = {**store_row(event, principal.subject[:200]), "project_id": body.project_id}
    await repository.insert_events(session, [row])
    return event
