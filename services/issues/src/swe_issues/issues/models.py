import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from swe_common.db import Timestamps, UUIDPrimaryKey
from swe_issues.models import Base


class Issue(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "issues"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "github_number"),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'in_review', 'resolved', 'closed')", name="status"
        ),
        sa.CheckConstraint("priority IN ('low', 'medium', 'high', 'critical')", name="priority"),
        sa.Index(None, "project_id", "status"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="open")
    priority: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="medium")
    labels: Mapped[list[str]] = mapped_column(
        ARRAY(sa.String(50)), nullable=False, default=list, server_default="{}"
    )
    assigned_agent_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    # The platform account (a person, or an automation account with the agent role) the issue
    # is assigned to; an agent-role caller changes only the issues assigned to it.
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    created_by: Mapped[str | None] = mapped_column(sa.String(100))
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    pull_request_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    resolved_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Set for issues that mirror a GitHub issue (webhook or sync).
    github_number: Mapped[int | None] = mapped_column(sa.Integer)
    github_url: Mapped[str | None] = mapped_column(sa.Text)
    github_author: Mapped[str | None] = mapped_column(sa.String(100))
    github_assignees: Mapped[list[str]] = mapped_column(
        ARRAY(sa.String(100)), nullable=False, default=list, server_default="{}"
    )
    # GitHub's own: completed | not_planned | reopened | duplicate.
    github_state_reason: Mapped[str | None] = mapped_column(sa.String(30))
    # deleted | transferred: the GitHub issue is gone from the repository for good.
    github_removed: Mapped[str | None] = mapped_column(sa.String(20))
    # GitHub's updated_at of the state mirrored: an older delivery never rolls it back.
    github_updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
