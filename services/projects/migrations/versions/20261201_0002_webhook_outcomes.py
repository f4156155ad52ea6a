"""webhook deliveries keep their action and outcome; watermarks of GitHub objects

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "projects"


def upgrade() -> None:
    op.add_column("webhook_deliveries", sa.Column("action", sa.String(100)), schema=SCHEMA)
    op.add_column("webhook_deliveries", sa.Column("status", sa.String(20)), schema=SCHEMA)
    op.create_table(
        "webhook_watermarks",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            [f"{SCHEMA}.projects.id"],
            name="fk_webhook_watermarks_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "kind", "number", name="pk_webhook_watermarks"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("webhook_watermarks", schema=SCHEMA)
    op.drop_column("webhook_deliveries", "status", schema=SCHEMA)
    op.drop_column("webhook_deliveries", "action", schema=SCHEMA)
