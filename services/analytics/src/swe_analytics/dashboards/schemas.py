"""The dashboards' response models."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class IssueFigures(BaseModel):
    total: int
    open: int
    resolved: int
    mean_time_to_resolve_seconds: float | None


class PullRequestFigures(BaseModel):
    tracked: int
    open: int
    merged: int
    closed: int
    reviews_requested: int
    reviewed: int
    mean_review_turnaround_seconds: float | None


class RunFigures(BaseModel):
    total: int
    by_status: dict[str, int]
    success_rate: float | None = Field(
        description="completed / (completed + failed); cancelled runs are left out"
    )
    mean_duration_seconds: float | None
    mean_queue_wait_seconds: float | None = None


class QualityTrend(BaseModel):
    last_7_days: float | None
    previous_7_days: float | None
    change: float | None
    direction: str = Field(description="up, down, flat or unknown")


class QualityFigures(BaseModel):
    latest: float | None
    latest_at: datetime | None
    mean: float | None
    trend: QualityTrend | None = None


class FindingFigures(BaseModel):
    runs_reported: int = Field(description="Finished runs whose result counted findings")
    total: int
    by_severity: dict[str, int] = Field(description="critical, high, medium, low, info")


class Dashboard(BaseModel):
    projects: int | None = Field(description="Projects covered; null means all (admin)")
    issues: IssueFigures
    pull_requests: PullRequestFigures
    runs: RunFigures
    quality: QualityFigures
    findings: FindingFigures


class ProjectFigures(Dashboard):
    project_id: uuid.UUID


class AgentIssueFigures(BaseModel):
    open: int
    resolved: int


class AgentFigures(BaseModel):
    agent_id: uuid.UUID
    project_id: uuid.UUID
    runs: RunFigures
    quality: QualityFigures
    assigned_issues: AgentIssueFigures


class Percentiles(BaseModel):
    count: int
    p50: float | None
    p90: float | None
    p99: float | None


class AgentTypeFailures(BaseModel):
    agent_type: str
    completed: int
    failed: int
    cancelled: int
    failure_rate: float | None


class Performance(BaseModel):
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    runs_finished: int
    failure_rate: float | None = Field(description="failed / (completed + failed)")
    run_duration_seconds: Percentiles
    queue_wait_seconds: Percentiles
    review_turnaround_seconds: Percentiles
    by_agent_type: list[AgentTypeFailures]

    model_config = {"populate_by_name": True}
