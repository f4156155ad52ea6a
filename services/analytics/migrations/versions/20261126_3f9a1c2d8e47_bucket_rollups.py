"""hourly and daily roll-ups of the 15-minute metric buckets

Revision ID: 3f9a1c2d8e47
Revises: 7c176377bfc1
Create Date: 2026-11-26 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f9a1c2d8e47"
down_revision: str | None = "7c176377bfc1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUPS = (("metric_buckets_hourly", "hour"), ("metric_buckets_daily", "day"))


def upgrade() -> None:
    for name, unit in ROLLUPS:
        op.create_table(
            name,
            sa.Column("metric", sa.String(length=100), nullable=False),
            sa.Column("project_id", sa.Uuid(), nullable=False),
            sa.Column("slot", sa.DateTime(timezone=True), nullable=False),
            sa.Column("count", sa.BigInteger(), nullable=False),
            sa.Column("total", sa.Numeric(), nullable=False),
            sa.PrimaryKeyConstraint("metric", "project_id", "slot", name=op.f(f"pk_{name}")),
            schema="analytics",
        )
        # Backfill from the 15-minute buckets, truncating in UTC whatever the session's zone.
        op.execute(
            f"INSERT INTO analytics.{name} (metric, project_id, slot, count, total) "  # noqa: S608
            f"SELECT metric, project_id, date_trunc('{unit}', slot, 'UTC'), sum(count), "
            "sum(total) FROM analytics.metric_buckets GROUP BY 1, 2, 3"
        )


def downgrade() -> None:
    for name, _ in ROLLUPS:
        op.drop_table(name, schema="analytics")
