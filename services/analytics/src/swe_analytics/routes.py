"""HTTP routes of the analytics service, under ``/api/v1/analytics``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import StringConstraints

from swe_analytics import service
from swe_analytics.schemas import (
    AgentFigures,
    AgentPerformanceSeries,
    CustomEventIn,
    CustomEventOut,
    Dashboard,
    ExportFormat,
    Interval,
    Metric,
    Performance,
    ProjectFigures,
    RangeName,
    TimeSeries,
)
from swe_analytics.settings import Settings
from swe_common.deps import RedisDep, SessionDep, SettingsDep
from swe_common.errors import Forbidden, Unprocessable
from swe_common.security import CurrentPrincipal, api_key_scope
from swe_common.types import NulFree

router = APIRouter(
    prefix="/api/v1/analytics", tags=["analytics"], dependencies=[api_key_scope("analytics")]
)

RangeQuery = Annotated[
    RangeName | None, Query(alias="range", description="A window ending now (default month)")
]
FromQuery = Annotated[
    datetime | None, Query(alias="from", description="Start (ISO 8601); overrides range")
]
ToQuery = Annotated[datetime | None, Query(alias="to", description="End (ISO 8601); default now")]
TzQuery = Annotated[
    Annotated[str, StringConstraints(max_length=64), NulFree()],
    Query(description="IANA time zone for bucketing"),
]
ProjectQuery = Annotated[uuid.UUID | None, Query(description="One project (default: all yours)")]


@router.get("/dashboard", response_model=Dashboard)
async def get_dashboard(session: SessionDep, principal: CurrentPrincipal) -> Dashboard:
    """Figures over every project the caller can see (all of them for admins)."""
    return await service.dashboard(session, principal)


@router.get("/projects/{project_id}", response_model=ProjectFigures)
async def get_project(
    project_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> ProjectFigures:
    return await service.project_figures(session, principal, project_id)


@router.get("/agents/{agent_id}", response_model=AgentFigures)
async def get_agent(
    agent_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> AgentFigures:
    return await service.agent_figures(session, principal, agent_id)


@router.get("/timeseries/{metric}", response_model=TimeSeries, response_model_by_alias=True)
async def get_timeseries(
    metric: Metric,
    session: SessionDep,
    principal: CurrentPrincipal,
    range_: RangeQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    interval: Interval = Interval.day,
    tz: TzQuery = "UTC",
    project_id: ProjectQuery = None,
) -> TimeSeries:
    """One value per interval, gaps filled with zeros (or null for means and percentiles)."""
    window = service.make_window(range_=range_, start=start, end=end, interval=interval, tz=tz)
    return await service.timeseries(session, principal, metric, window, project_id)


@router.get(
    "/agent-performance", response_model=AgentPerformanceSeries, response_model_by_alias=True
)
async def get_agent_performance(
    session: SessionDep,
    principal: CurrentPrincipal,
    range_: RangeQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    interval: Interval = Interval.day,
    tz: TzQuery = "UTC",
    project_id: ProjectQuery = None,
    agent_id: Annotated[uuid.UUID | None, Query(description="One agent")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many agents")] = 20,
) -> AgentPerformanceSeries:
    """Per agent and interval: finished runs by status, success rate, mean duration and mean
    quality score; the agents with the most runs in the range first."""
    window = service.make_window(range_=range_, start=start, end=end, interval=interval, tz=tz)
    return await service.agent_performance(
        session, principal, window, project_id=project_id, agent_id=agent_id, limit=limit
    )


@router.get("/performance", response_model=Performance, response_model_by_alias=True)
async def get_performance(
    session: SessionDep,
    principal: CurrentPrincipal,
    range_: RangeQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> Performance:
    """Run durations, queue wait, review turnaround percentiles and failure rates."""
    low, high = service.resolve_range(range_, start, end, default=RangeName.week)
    return await service.performance(session, principal, low, high)


@router.get("/export", response_class=StreamingResponse)
async def export(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    format_: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.csv,
    metric: Annotated[Metric | None, Query(description="Export a metric's series")] = None,
    project_id: ProjectQuery = None,
    range_: RangeQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    interval: Interval = Interval.day,
    tz: TzQuery = "UTC",
) -> StreamingResponse:
    """A metric's series, or (without ``metric``) the raw events of a project, streamed.

    ``json`` is one JSON array written element by element; ``ndjson`` one event per line.
    """
    window = service.make_window(range_=range_, start=start, end=end, interval=interval, tz=tz)
    name = f"analytics-{metric.value if metric else 'events'}.{format_.value}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if metric is not None:
        series = await service.timeseries(session, principal, metric, window, project_id)
        body = service.export_series(series, format_)
    else:
        if project_id is None and not principal.is_admin:
            raise Unprocessable(
                "Exporting events needs a project_id",
                errors=[{"field": "query.project_id", "message": "required"}],
            )
        if project_id is not None:
            await service.require_project(session, principal, project_id)
        settings = cast(Settings, request.app.state.settings)
        low, high = service.resolve_range(range_, start, end, default=RangeName.month)
        body = service.export_events(
            request.app.state.db, format_, project_id, low, high, settings.export_chunk_rows
        )
    return StreamingResponse(body, media_type=service.MEDIA_TYPES[format_], headers=headers)


async def _body_size_cap(request: Request, settings: SettingsDep) -> None:
    # Refuse an oversized body before reading it; the data cap is checked after parsing.
    limit = cast(Settings, settings).custom_event_max_bytes * 2 + 4096
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise service.PayloadTooLarge(f"The request body is over {limit} bytes")


@router.post(
    "/events",
    response_model=CustomEventOut,
    status_code=202,
    dependencies=[Depends(_body_size_cap)],
)
async def post_event(
    body: CustomEventIn,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
) -> CustomEventOut:
    """Store a client's own event (``custom.<entity>.<verb>``); rate-limited per caller."""
    if principal.is_readonly:
        raise Forbidden("Read-only callers cannot record events")
    event = await service.record_custom_event(
        session, redis, cast(Settings, settings), principal, body
    )
    return CustomEventOut(id=event.id, type=event.type, time=event.time)
