"""issues.assignee_id and pull_requests.assignee_id: the platform account (a person or an
automation account with the agent role) an issue or pull request is assigned to

Revision ID: 0006_assignees
Revises: 0005_issue_status_in_review
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_assignees"
down_revision: str | None = "0005_issue_status_in_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "issues"


def upgrade() -> None:
    for table in ("issues", "pull_requests"):
        op.add_column(table, sa.Column("assignee_id", sa.Uuid(), nullable=True), schema=SCHEMA)
        op.create_index(
            op.f(f"ix_{table}_assignee_id"), table, ["assignee_id"], unique=False, schema=SCHEMA
        )


def downgrade() -> None:
    for table in ("issues", "pull_requests"):
        op.drop_index(op.f(f"ix_{table}_assignee_id"), table_name=table, schema=SCHEMA)
        op.drop_column(table, "assignee_id", schema=SCHEMA)
