"""issues.status may be in_review: a draft pull request with an agent's patch awaits review

Revision ID: 0005_issue_status_in_review
Revises: 0004_project_views_owner_uuid
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_issue_status_in_review"
down_revision: str | None = "0004_project_views_owner_uuid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "issues"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_issues_status"), "issues", schema=SCHEMA, type_="check")
    op.create_check_constraint(
        op.f("ck_issues_status"),
        "issues",
        "status IN ('open', 'in_progress', 'in_review', 'resolved', 'closed')",
        schema=SCHEMA,
    )


def downgrade() -> None:
    # An issue in review goes back to in_progress: the older schema has no other place for it.
    op.execute("UPDATE issues.issues SET status = 'in_progress' WHERE status = 'in_review'")
    op.drop_constraint(op.f("ck_issues_status"), "issues", schema=SCHEMA, type_="check")
    op.create_check_constraint(
        op.f("ck_issues_status"),
        "issues",
        "status IN ('open', 'in_progress', 'resolved', 'closed')",
        schema=SCHEMA,
    )
