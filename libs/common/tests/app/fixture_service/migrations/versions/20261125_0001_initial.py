"""initial

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from swe_common.events import create_event_tables, drop_event_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("things", sa.Column("id", sa.Integer, primary_key=True), schema="migtest")
    create_event_tables(op, "migtest")


def downgrade() -> None:
    drop_event_tables(op, "migtest")
    op.drop_table("things", schema="migtest")
