import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from swe_common.db import Timestamps, UUIDPrimaryKey, utcnow
from swe_issues.models import Base


class PullRequest(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "pull_requests"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "number"),
        sa.CheckConstraint("state IN ('open', 'closed', 'merged')", name="state"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False, index=True)
    number: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    author: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    state: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="open")
    base_ref: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="")
    head_ref: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="")
    base_sha: Mapped[str | None] = mapped_column(sa.String(64))
    head_sha: Mapped[str | None] = mapped_column(sa.String(64))
    review_status: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="none")
    url: Mapped[str | None] = mapped_column(sa.Text)
    tracked_by: Mapped[str | None] = mapped_column(sa.String(100))
    draft: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    labels: Mapped[list[str]] = mapped_column(
        ARRAY(sa.String(50)), nullable=False, default=list, server_default="{}"
    )
    assignees: Mapped[list[str]] = mapped_column(
        ARRAY(sa.String(100)), nullable=False, default=list, server_default="{}"
    )
    # The platform account the pull request is assigned to (``assignees`` are GitHub logins);
    # an agent-role caller changes only the pull requests assigned to it.
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, index=True)
    # GitHub's updated_at of the state mirrored: an older delivery never rolls it back.
    github_updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Review(UUIDPrimaryKey, Base):
    __tablename__ = "reviews"

    pull_request_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid, sa.ForeignKey("pull_requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    project_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    level: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="pending")
    requested_by: Mapped[str | None] = mapped_column(sa.String(100))
    head_sha: Mapped[str | None] = mapped_column(sa.String(64))
    run_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    approval: Mapped[str | None] = mapped_column(sa.String(40))
    summary: Mapped[str | None] = mapped_column(sa.Text)
    quality_score: Mapped[float | None] = mapped_column(sa.Float)
    comments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    findings_by_severity: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(sa.Text)
    requested_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow
    )
    completed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
