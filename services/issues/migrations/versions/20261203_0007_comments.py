"""comments: comments on issues and pull requests (one parent each, removed with it)

Revision ID: 0007_comments
Revises: 0006_assignees
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_comments"
down_revision: str | None = "0006_assignees"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "issues"


def upgrade() -> None:
    op.create_table(
        "comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("issue_id", sa.Uuid(), nullable=True),
        sa.Column("pull_request_id", sa.Uuid(), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "(issue_id IS NULL) <> (pull_request_id IS NULL)", name=op.f("ck_comments_one_parent")
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            [f"{SCHEMA}.issues.id"],
            name=op.f("fk_comments_issue_id_issues"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pull_request_id"],
            [f"{SCHEMA}.pull_requests.id"],
            name=op.f("fk_comments_pull_request_id_pull_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_comments_issue_id_created_at",
        "comments",
        ["issue_id", "created_at", "id"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("issue_id IS NOT NULL"),
    )
    op.create_index(
        "ix_comments_pull_request_id_created_at",
        "comments",
        ["pull_request_id", "created_at", "id"],
        unique=False,
        schema=SCHEMA,
        postgresql_where=sa.text("pull_request_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_comments_pull_request_id_created_at", table_name="comments", schema=SCHEMA)
    op.drop_index("ix_comments_issue_id_created_at", table_name="comments", schema=SCHEMA)
    op.drop_table("comments", schema=SCHEMA)
