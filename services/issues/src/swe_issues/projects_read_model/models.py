"""The local copy of what this service needs to know about projects (fed by projects.*)."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from swe_common.db import utcnow
from swe_issues.models import Base


class ProjectView(Base):
    __tablename__ = "project_views"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    owner_id: Mapped[str] = mapped_column(sa.String(100), nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    # [{"user_id": "...", "role": "maintainer|viewer"}]; queried with JSONB containment.
    members: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    repository_url: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    default_branch: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="main")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    # The snapshot's own updated_at: an older snapshot than this one is ignored.
    snapshot_updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # A tombstone, so that a late created/updated event cannot bring a deleted project back.
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    synced_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )


sa.Index("ix_project_views_members", ProjectView.members, postgresql_using="gin")
