"""runs keep the findings their result reported, by severity

Revision ID: 5b2e8c41d9a0
Revises: 3f9a1c2d8e47
Create Date: 2026-12-03 07:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5b2e8c41d9a0"
down_revision: str | None = "3f9a1c2d8e47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null for runs stored before; `swe-analytics rebuild` fills them from the event store.
    op.add_column(
        "runs",
        sa.Column("findings", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="analytics",
    )


def downgrade() -> None:
    op.drop_column("runs", "findings", schema="analytics")
