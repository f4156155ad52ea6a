"""Series over the caller's time zone: a metric's points, per-agent performance."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from swe_analytics.params import PREFIX, FromQuery, ProjectQuery, RangeQuery, ToQuery, TzQuery
from swe_analytics.timeseries import service
from swe_analytics.timeseries.schemas import AgentPerformanceSeries, Interval, Metric, TimeSeries
from swe_common.deps import SessionDep
from swe_common.permissions import Permission
from swe_common.security import CurrentPrincipal, api_key_scope, require_permission

router = APIRouter(
    prefix=PREFIX,
    tags=["analytics"],
    dependencies=[api_key_scope("analytics"), require_permission(Permission.ANALYTICS_READ)],
)


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
