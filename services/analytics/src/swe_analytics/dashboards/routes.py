"""Figures over the caller's projects, one project, one agent; performance percentiles."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from swe_analytics.dashboards import service
from swe_analytics.dashboards.schemas import AgentFigures, Dashboard, Performance, ProjectFigures
from swe_analytics.params import PREFIX, FromQuery, RangeQuery, ToQuery
from swe_analytics.timeseries.schemas import RangeName
from swe_analytics.timeseries.service import resolve_range
from swe_common.deps import SessionDep
from swe_common.permissions import Permission
from swe_common.security import CurrentPrincipal, api_key_scope, require_permission

router = APIRouter(
    prefix=PREFIX,
    tags=["analytics"],
    dependencies=[api_key_scope("analytics"), require_permission(Permission.ANALYTICS_READ)],
)


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


@router.get("/performance", response_model=Performance, response_model_by_alias=True)
async def get_performance(
    session: SessionDep,
    principal: CurrentPrincipal,
    range_: RangeQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
) -> Performance:
    """Run durations, queue wait, review turnaround percentiles and failure rates."""
    low, high = resolve_range(range_, start, end, default=RangeName.week)
    return await service.performance(session, principal, low, high)
