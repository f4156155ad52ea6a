"""The agents schema's tables: the projects read model, agents, runs, their log lines and the
diffs reviews looked at."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, query_expression

from swe_common.db import ServiceBase, Timestamps, UUIDPrimaryKey, schema_metadata
from swe_common.events import define_event_tables
from swe_common.projects_read_model import ProjectReadModelMixin


class Base(ServiceBase):
    __abstract__ = True
    metadata = schema_metadata("agents")


event_tables = define_event_tables(Base.metadata)

TZ = sa.DateTime(timezone=True)


class Project(ProjectReadModelMixin, Base):
    """What agents needs to know about a project, fed by projects.* events and the request
    fallback: the common read model (``swe_common.projects_read_model``), in agents' schema."""

    __tablename__ = "projects"


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
    # Filled only by the queries that ask for them (a list that leaves the result unloaded).
    score: Mapped[float | None] = query_expression()
    agent_name: Mapped[str | None] = query_expression()


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


class RunNotification(Base):
    """One run status change (queued, running, completed, failed, cancelled) or delivery of an
    issue_resolver run's pull request (opened or failed), written in the
    transaction that makes it, for the per-user notification stream (``/ws/notifications``).

    Rows are numbered in commit order (the insert takes a transaction lock, see
    ``repository.add_notification``), so "every row after N" is exact: a client resuming from
    the last id it kept misses nothing."""

    __tablename__ = "run_notifications"
    __table_args__ = (
        sa.Index("ix_run_notifications_project_id_id", "project_id", "id"),
        sa.Index("ix_run_notifications_at", "at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    agent_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    project_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    # The run as ``service.run_payload`` gives it, and the agent's name at the time; a
    # delivery adds ``kind: "delivery"`` and ``delivery`` (what became of the pull request).
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    at: Mapped[datetime] = mapped_column(TZ, nullable=False, server_default=sa.func.now())


class RunSource(Base):
    """Source lines around an analysis run's findings, read from the run's working copy while
    it existed (bounded, ``analysis/snippets.py``): a window of lines of one file."""

    __tablename__ = "run_sources"

    run_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("agents.runs.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    start_line: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    end_line: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # The window's lines, each cut at snippets.MAX_LINE_CHARS characters.
    lines: Mapped[list[str]] = mapped_column(JSONB, nullable=False)
    truncated: Mapped[list[int]] = mapped_column(JSONB, nullable=False, default=list)
