"""Per-project GitHub tokens, sealed at rest.

Revision ID: 0002_project_github_tokens
Revises: 4848ac5f1935
Create Date: 2026-11-25 15:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_project_github_tokens"
down_revision: str | None = "4848ac5f1935"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_github_tokens",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_github_tokens")),
        schema="issues",
    )


def downgrade() -> None:
    op.drop_table("project_github_tokens", schema="issues")
