"""The time series API's request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


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
