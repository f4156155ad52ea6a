"""The projects read model becomes the common one (swe_common.projects_read_model): a
tombstone (deleted_at) instead of a flag a late snapshot cleared, the snapshot's time as
snapshot_updated_at, the project's name, synced_at, and an owner that is null only on the
tombstone of a project never seen alive here

Revision ID: 7d3a9f1e6c20
Revises: 5b7e0c1d2a4f
Create Date: 2026-12-03 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d3a9f1e6c20"
down_revision: str | None = "5b7e0c1d2a4f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "agents"


def upgrade() -> None:
    op.alter_column("projects", "snapshot_at", new_column_name="snapshot_updated_at", schema=SCHEMA)
    op.add_column(
        "projects",
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.execute("UPDATE agents.projects SET deleted_at = now() WHERE deleted")
    op.drop_column("projects", "deleted", schema=SCHEMA)
    op.add_column(
        "projects",
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        schema=SCHEMA,
    )
    op.add_column(
        "projects",
        sa.Column(
            "synced_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=SCHEMA,
    )
    op.alter_column("projects", "owner_id", existing_type=sa.Uuid(), nullable=True, schema=SCHEMA)


def downgrade() -> None:
    op.execute("DELETE FROM agents.projects WHERE owner_id IS NULL")
    op.alter_column("projects", "owner_id", existing_type=sa.Uuid(), nullable=False, schema=SCHEMA)
    op.drop_column("projects", "synced_at", schema=SCHEMA)
    op.drop_column("projects", "name", schema=SCHEMA)
    op.add_column(
        "projects",
        sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()),
        schema=SCHEMA,
    )
    op.execute("UPDATE agents.projects SET deleted = deleted_at IS NOT NULL")
    op.drop_column("projects", "deleted_at", schema=SCHEMA)
    op.alter_column("projects", "snapshot_updated_at", new_column_name="snapshot_at", schema=SCHEMA)
