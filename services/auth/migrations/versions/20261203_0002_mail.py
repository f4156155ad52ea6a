"""mail: verified addresses, verification links, notice preferences, project owners, sent mails

Revision ID: 7c3f2a9d1e04
Revises: 49e85ffaea81
Create Date: 2026-12-03 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3f2a9d1e04"
down_revision: str | None = "49e85ffaea81"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("users", sa.Column("email_verified_at", TS, nullable=True), schema="auth")
    op.create_table(
        "email_verifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth.users.id"],
            name=op.f("fk_email_verifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_verifications")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_email_verifications_token_hash")),
        schema="auth",
    )
    op.create_index(
        op.f("ix_email_verifications_user_id"),
        "email_verifications",
        ["user_id"],
        unique=False,
        schema="auth",
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("issue_assigned", sa.Boolean(), nullable=False),
        sa.Column("review_finished", sa.Boolean(), nullable=False),
        sa.Column("run_failed", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["auth.users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_preferences")),
        schema="auth",
    )
    op.create_table(
        "project_owners",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_owners")),
        schema="auth",
    )
    op.create_index(
        op.f("ix_project_owners_owner_id"), "project_owners", ["owner_id"], schema="auth"
    )
    op.create_table(
        "sent_mails",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("sent_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_sent_mails")),
        schema="auth",
    )
    op.create_index(op.f("ix_sent_mails_sent_at"), "sent_mails", ["sent_at"], schema="auth")


def downgrade() -> None:
    op.drop_table("sent_mails", schema="auth")
    op.drop_table("project_owners", schema="auth")
    op.drop_table("notification_preferences", schema="auth")
    op.drop_table("email_verifications", schema="auth")
    op.drop_column("users", "email_verified_at", schema="auth")
