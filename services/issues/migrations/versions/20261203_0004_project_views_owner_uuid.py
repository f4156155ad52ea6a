"""project_views.owner_id becomes a UUID (the common projects read model's type), null only on
the tombstone of a project never seen alive here

Revision ID: 0004_project_views_owner_uuid
Revises: 0003_github_mirror_fields
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_project_views_owner_uuid"
down_revision: str | None = "0003_github_mirror_fields"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "issues"
UUID_TEXT = "'^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$'"


def upgrade() -> None:
    # Owners are UUIDs; the only other value held is "" on a tombstone whose owner was unknown.
    op.alter_column(
        "project_views",
        "owner_id",
        type_=sa.Uuid(),
        existing_type=sa.String(100),
        nullable=True,
        existing_nullable=False,
        postgresql_using=f"CASE WHEN owner_id ~ {UUID_TEXT} THEN owner_id::uuid END",
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.alter_column(
        "project_views",
        "owner_id",
        type_=sa.String(100),
        existing_type=sa.Uuid(),
        nullable=False,
        existing_nullable=True,
        postgresql_using="COALESCE(owner_id::text, '')",
        schema=SCHEMA,
    )
