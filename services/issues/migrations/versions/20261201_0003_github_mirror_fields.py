"""GitHub's author, assignees, state reason, removal and updated_at on mirrored issues; draft,
labels, assignees and updated_at on pull requests; the outcome of each webhook delivery

Revision ID: 0003_github_mirror_fields
Revises: 0002_project_github_tokens
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_github_mirror_fields"
down_revision: str | None = "0002_project_github_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "issues"


def upgrade() -> None:
    op.add_column("issues", sa.Column("github_author", sa.String(100)), schema=SCHEMA)
    op.add_column(
        "issues",
        sa.Column(
            "github_assignees",
            postgresql.ARRAY(sa.String(100)),
            server_default="{}",
            nullable=False,
        ),
        schema=SCHEMA,
    )
    op.add_column("issues", sa.Column("github_state_reason", sa.String(30)), schema=SCHEMA)
    op.add_column("issues", sa.Column("github_removed", sa.String(20)), schema=SCHEMA)
    op.add_column(
        "issues", sa.Column("github_updated_at", sa.DateTime(timezone=True)), schema=SCHEMA
    )
    op.add_column(
        "pull_requests",
        sa.Column("draft", sa.Boolean(), server_default=sa.false(), nullable=False),
        schema=SCHEMA,
    )
    op.add_column(
        "pull_requests",
        sa.Column("labels", postgresql.ARRAY(sa.String(50)), server_default="{}", nullable=False),
        schema=SCHEMA,
    )
    op.add_column(
        "pull_requests",
        sa.Column(
            "assignees", postgresql.ARRAY(sa.String(100)), server_default="{}", nullable=False
        ),
        schema=SCHEMA,
    )
    op.add_column(
        "pull_requests", sa.Column("github_updated_at", sa.DateTime(timezone=True)), schema=SCHEMA
    )
    op.add_column("webhook_deliveries", sa.Column("outcome", sa.String(20)), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column("webhook_deliveries", "outcome", schema=SCHEMA)
    for column in ("github_updated_at", "assignees", "labels", "draft"):
        op.drop_column("pull_requests", column, schema=SCHEMA)
    for column in (
        "github_updated_at",
        "github_removed",
        "github_state_reason",
        "github_assignees",
        "github_author",
    ):
        op.drop_column("issues", column, schema=SCHEMA)
