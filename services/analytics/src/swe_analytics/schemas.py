"""The analytics API's request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from swe_common.types import Name, RequestModel

CUSTOM_EVENT_TYPE = r"^custom\.[a-z][a-z0-9_]{0,62}\.[a-z][a-z0-9_]{0,62}$"


class RangeName(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"
    year = "year"


class Interval(StrEnum):
    hour = "hour"
    day = "day"
    week = "week"


class Metric(StrEnum):
    issues_opened = "issues_opened"
    issues_resolved = "issues_resolved"
    prs_tracked = "prs_tracked"
    prs_reviewed = "prs_reviewed"
    agent_runs = "agent_runs"
    runs_started = "runs_started"
    runs_completed = "runs_completed"
    runs_failed = "runs_failed"
    runs_cancelled = "runs_cancelled"
    quality_score = "quality_score"
    run_duration = "run_duration"
    review_turnaround = "review_turnaround"
    queue_wait = "queue_wait"
    findings = "findings"


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    ndjson = "ndjson"


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


class Point(BaseModel):
    t: datetime = Field(description="Start of the interval, in the requested time zone")
    value: float | None = Field(description="Count, mean or median, by metric")
    count: int
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    by_status: dict[str, int] | None = None
    by_severity: dict[str, int] | None = None


class TimeSeries(BaseModel):
    metric: Metric
    interval: Interval
    tz: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    unit: str
    points: list[Point]

    model_config = {"populate_by_name": True}


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


class AgentPoint(BaseModel):
    t: datetime = Field(description="Start of the interval, in the requested time zone")
    runs: int = Field(description="Runs that finished in the interval")
    completed: int
    failed: int
    cancelled: int
    success_rate: float | None = Field(description="completed / (completed + failed)")
    timed: int = Field(description="Runs with a duration (the mean's weight)")
    mean_duration_seconds: float | None
    scored: int = Field(description="Runs with a quality score (the mean's weight)")
    mean_quality_score: float | None


class AgentSeries(BaseModel):
    agent_id: uuid.UUID
    project_id: uuid.UUID | None
    agent_type: str | None
    name: str | None
    runs: int = Field(description="Runs finished over the whole range")
    points: list[AgentPoint]


class AgentPerformanceSeries(BaseModel):
    interval: Interval
    tz: str
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    agents: list[AgentSeries] = Field(description="Most runs first")

    model_config = {"populate_by_name": True}


class CustomEventIn(RequestModel):
    type: str = Field(pattern=CUSTOM_EVENT_TYPE, max_length=130, examples=["custom.button.clicked"])
    subject: Name | None = None
    project_id: uuid.UUID | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class CustomEventOut(BaseModel):
    id: str
    type: str
    time: datetime
