import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from swe_common.db import Timestamps, UUIDPrimaryKey
from swe_issues.models import Base


class Comment(UUIDPrimaryKey, Timestamps, Base):
    """A comment on an issue or on a pull request (exactly one of the two).

    Deleting a comment deletes the row (no tombstone): its body is all it holds, an author who
    removes what they wrote (a pasted secret, a wrong claim) expects it gone, and the
    ``issues.comment.deleted`` event records that it existed. Deleting the issue or pull
    request deletes its comments with it (the foreign keys cascade)."""

    __tablename__ = "comments"
    __table_args__ = (
        sa.CheckConstraint("(issue_id IS NULL) <> (pull_request_id IS NULL)", name="one_parent"),
        # A parent's comments, oldest first: the list's order and its page.
        sa.Index(
            "ix_comments_issue_id_created_at",
            "issue_id",
            "created_at",
            "id",
            postgresql_where=sa.text("issue_id IS NOT NULL"),
        ),
        sa.Index(
            "ix_comments_pull_request_id_created_at",
            "pull_request_id",
            "created_at",
            "id",
            postgresql_where=sa.text("pull_request_id IS NOT NULL"),
        ),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    issue_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.Uuid, sa.ForeignKey("issues.id", ondelete="CASCADE")
    )
    pull_request_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.Uuid, sa.ForeignKey("pull_requests.id", ondelete="CASCADE")
    )
    author_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    # Who the author was when writing (their token's name), so a list needs no account lookup.
    author_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)

    @property
    def edited(self) -> bool:
        """Changed since it was written (a new comment's two times are the same instant)."""
        updated: datetime = self.updated_at
        return updated > self.created_at
