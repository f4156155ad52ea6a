from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from swe_common.db import utcnow
from swe_issues.models import Base


class ProjectGitHubToken(Base):
    """A project's own GitHub token for sync (else the global one), sealed at rest."""

    __tablename__ = "project_github_tokens"

    project_id: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    sealed: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    updated_by: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow
    )
