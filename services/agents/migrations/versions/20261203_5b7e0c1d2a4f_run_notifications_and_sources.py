"""run_notifications (the per-user stream of run status changes) and run_sources (source lines
around an analysis run's findings)

Revision ID: 5b7e0c1d2a4f
Revises: 32886800a3e2
Create Date: 2026-12-03 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b7e0c1d2a4f"
down_revision: str | None = "32886800a3e2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_notifications",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_notifications")),
        schema="agents",
    )
    op.create_index(
        "ix_run_notifications_project_id_id",
        "run_notifications",
        ["project_id", "id"],
        unique=False,
        schema="agents",
    )
    op.create_index(
        "ix_run_notifications_at", "run_notifications", ["at"], unique=False, schema="agents"
    )
    op.create_table(
        "run_sources",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("start_line", sa.Integer(), nullable=False),
        sa.Column("end_line", sa.Integer(), nullable=False),
        sa.Column("lines", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("truncated", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["agents.runs.id"],
            name=op.f("fk_run_sources_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "path", "start_line", name=op.f("pk_run_sources")),
        schema="agents",
    )


def downgrade() -> None:
    op.drop_table("run_sources", schema="agents")
    op.drop_index("ix_run_notifications_at", table_name="run_notifications", schema="agents")
    op.drop_index(
        "ix_run_notifications_project_id_id", table_name="run_notifications", schema="agents"
    )
    op.drop_table("run_notifications", schema="agents")
