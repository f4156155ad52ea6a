"""api keys: their own request budget at the gateway (window -> requests)

Revision ID: 3b8e61c0d2a7
Revises: 7c3f2a9d1e04
Create Date: 2026-12-03 10:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3b8e61c0d2a7"
down_revision: str | None = "7c3f2a9d1e04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("rate_limits", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="auth",
    )


def downgrade() -> None:
    op.drop_column("api_keys", "rate_limits", schema="auth")
