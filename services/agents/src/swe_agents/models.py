"""The agents schema's tables: the projects read model, agents, runs, their log lines and the
diffs reviews looked at."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from swe_common.db import ServiceBase, Timestamps, UUIDPrimaryKey, schema_metadata
from swe_common.events import define_event_tables


class Base(ServiceBase):
    __abstract__ = True
    metadata = schema_metadata("agents")


event_tables = define_event_tables(Base.metadata)

TZ = sa.DateTime(timezone=True)


class Project(Base):
    """What agents needs to know about a project, fed by projects.* events."""

    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False, index=True)
    members: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    repository_url: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    default_branch: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="main")
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    snapshot_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    deleted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)


class Agent(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "agents"
    __table_args__ = (sa.UniqueConstraint("project_id", "name"),)

    project_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    type: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="active")
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, nullable=True)


class Run(UUIDPrimaryKey, Base):
    __tablename__ = "runs"
    __table_args__ = (
        sa.Index("ix_runs_agent_id_queued_at", "agent_id", "queued_at"),
        sa.Index("ix_runs_project_id_status", "project_id", "status"),
        sa.Index("ix_runs_status_lease", "status", "lease_expires_at"),
    )

    agent_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("agents.agents.id", ondelete="CASCADE"), nullable=False
    )
    project_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    agent_type: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="pending")
    exit_reason: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    timeout_seconds: Mapped[float] = mapped_column(sa.Float, nullable=False)
    cancel_requested: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    worker_id: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, nullable=True)
    queued_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=sa.func.now())
    started_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(TZ, nullable=True)
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)


class RunLog(Base):
    __tablename__ = "run_logs"

    run_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("agents.runs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=sa.func.now())
    level: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="info")
    message: Mapped[str] = mapped_column(sa.Text, nullable=False)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)


class RunDiff(Base):
    """The diff a pull request review looked at (bounded, analysis/diffs.py), kept for reading
    beside the review's comments. Apart from the run's result: events carry the result, never
    this."""

    __tablename__ = "run_diffs"

    run_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("agents.runs.id", ondelete="CASCADE"), primary_key=True
    )
    base_sha: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    head_sha: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    truncated: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    files_total: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # {"files": [...], "limits": {...}}: files → hunks → lines, as diffs.ReviewDiff writes it.
    document: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=sa.func.now())
