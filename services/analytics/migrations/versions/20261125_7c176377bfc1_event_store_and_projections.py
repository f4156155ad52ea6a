"""event store and projections

Revision ID: 7c176377bfc1
Revises:
Create Date: 2026-11-25 13:08:43.918844
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from swe_common.events import create_event_tables, drop_event_tables

revision: str = "7c176377bfc1"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The event store is append-only: projections are rebuilt from it, so a changed or deleted row
# would silently change history. TRUNCATE (an operator's explicit act) is not a row change.
APPEND_ONLY_FUNCTION = """
CREATE FUNCTION analytics.refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'analytics.events is append-only (% refused)', TG_OP;
END $$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON analytics.events
FOR EACH ROW EXECUTE FUNCTION analytics.refuse_event_change()
"""


def upgrade() -> None:
    create_event_tables(op, "analytics")
    op.create_table(
        "agents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(length=100), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("as_of_event", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_agents_project_id"), "agents", ["project_id"], unique=False, schema="analytics"
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("principal", sa.String(length=200), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
        schema="analytics",
    )
    op.create_index(
        "ix_events_project_id_time",
        "events",
        ["project_id", "time"],
        unique=False,
        schema="analytics",
    )
    op.create_index(
        "ix_events_type_time", "events", ["type", "time"], unique=False, schema="analytics"
    )
    op.create_table(
        "issues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=50), nullable=True),
        sa.Column("priority", sa.String(length=50), nullable=True),
        sa.Column("assigned_agent_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("as_of_event", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issues")),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_issues_assigned_agent_id"),
        "issues",
        ["assigned_agent_id"],
        unique=False,
        schema="analytics",
    )
    op.create_index(
        op.f("ix_issues_project_id"), "issues", ["project_id"], unique=False, schema="analytics"
    )
    op.create_table(
        "metric_buckets",
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "project_id", "slot", name=op.f("pk_metric_buckets")),
        schema="analytics",
    )
    op.create_table(
        "metric_totals",
        sa.Column("metric", sa.String(length=100), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "project_id", name=op.f("pk_metric_totals")),
        schema="analytics",
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "members",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("as_of_event", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_projects_owner_id"), "projects", ["owner_id"], unique=False, schema="analytics"
    )
    op.create_table(
        "pull_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(length=50), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("as_of_event", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_requests")),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_pull_requests_project_id"),
        "pull_requests",
        ["project_id"],
        unique=False,
        schema="analytics",
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("pull_request_id", sa.Uuid(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approval", sa.String(length=50), nullable=True),
        sa.Column("quality_score", sa.Float(), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("as_of_event", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        schema="analytics",
    )
    op.create_index(
        "ix_reviews_project_id_reviewed_at",
        "reviews",
        ["project_id", "reviewed_at"],
        unique=False,
        schema="analytics",
    )
    op.create_index(
        "ix_reviews_reviewed_at", "reviews", ["reviewed_at"], unique=False, schema="analytics"
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("agent_type", sa.String(length=100), nullable=True),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=50), nullable=True),
        sa.Column("exit_reason", sa.String(length=200), nullable=True),
        sa.Column("trigger_kind", sa.String(length=50), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("quality_score", sa.Float(), nullable=True),
        sa.Column("rank", sa.SmallInteger(), nullable=True),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.Column("as_of_event", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        schema="analytics",
    )
    op.create_index(
        op.f("ix_runs_agent_id"), "runs", ["agent_id"], unique=False, schema="analytics"
    )
    op.create_index(
        "ix_runs_finished_at", "runs", ["finished_at"], unique=False, schema="analytics"
    )
    op.create_index(
        "ix_runs_project_id_finished_at",
        "runs",
        ["project_id", "finished_at"],
        unique=False,
        schema="analytics",
    )
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS events_append_only ON analytics.events")
    op.execute("DROP FUNCTION IF EXISTS analytics.refuse_event_change()")
    op.drop_index("ix_runs_project_id_finished_at", table_name="runs", schema="analytics")
    op.drop_index("ix_runs_finished_at", table_name="runs", schema="analytics")
    op.drop_index(op.f("ix_runs_agent_id"), table_name="runs", schema="analytics")
    op.drop_table("runs", schema="analytics")
    op.drop_index("ix_reviews_reviewed_at", table_name="reviews", schema="analytics")
    op.drop_index("ix_reviews_project_id_reviewed_at", table_name="reviews", schema="analytics")
    op.drop_table("reviews", schema="analytics")
    op.drop_index(
        op.f("ix_pull_requests_project_id"), table_name="pull_requests", schema="analytics"
    )
    op.drop_table("pull_requests", schema="analytics")
    op.drop_index(op.f("ix_projects_owner_id"), table_name="projects", schema="analytics")
    op.drop_table("projects", schema="analytics")
    op.drop_table("metric_totals", schema="analytics")
    op.drop_table("metric_buckets", schema="analytics")
    op.drop_index(op.f("ix_issues_project_id"), table_name="issues", schema="analytics")
    op.drop_index(op.f("ix_issues_assigned_agent_id"), table_name="issues", schema="analytics")
    op.drop_table("issues", schema="analytics")
    op.drop_index("ix_events_type_time", table_name="events", schema="analytics")
    op.drop_index("ix_events_project_id_time", table_name="events", schema="analytics")
    op.drop_table("events", schema="analytics")
    op.drop_index(op.f("ix_agents_project_id"), table_name="agents", schema="analytics")
    op.drop_table("agents", schema="analytics")
    drop_event_tables(op, "analytics")
