"""The projects schema's tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from swe_common.db import ServiceBase, Timestamps, UUIDPrimaryKey, schema_metadata, utcnow
from swe_common.events import define_event_tables


class Base(ServiceBase):
    __abstract__ = True
    metadata = schema_metadata("projects")


event_tables = define_event_tables(Base.metadata)


class Project(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "projects"
    __table_args__ = (sa.UniqueConstraint("owner_id", "name"),)

    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    repository_url: Mapped[str] = mapped_column(sa.String(2048), nullable=False)
    default_branch: Mapped[str] = mapped_column(sa.String(255), nullable=False, default="main")
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False, index=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    # AES-GCM ciphertext (see crypto.py); the plain secret is shown once and never stored.
    webhook_secret_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    webhook_secret_rotated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow
    )

    members: Mapped[list[ProjectMember]] = relationship(
        back_populates="project",
        lazy="raise",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ProjectMember.created_at",
    )


class ProjectMember(Base):
    __tablename__ = "project_members"

    project_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("projects.projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, index=True)
    role: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow, server_default=sa.func.now()
    )

    project: Mapped[Project] = relationship(back_populates="members", lazy="raise")


class WebhookDelivery(Base):
    """GitHub deliveries received, by id (so a redelivery is not processed twice), with what
    became of each."""

    __tablename__ = "webhook_deliveries"

    project_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("projects.projects.id", ondelete="CASCADE"), primary_key=True
    )
    delivery_id: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    action: Mapped[str | None] = mapped_column(sa.String(100))
    # accepted | stale | ignored (null: recorded before outcomes were kept).
    status: Mapped[str | None] = mapped_column(sa.String(20))
    received_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True),
        nullable=False,
        default=utcnow,
        server_default=sa.func.now(),
        index=True,
    )


class WebhookWatermark(Base):
    """The newest state of each GitHub issue or pull request a delivery was accepted for: a
    delivery describing an older state (late, or redelivered by hand) is answered "stale"."""

    __tablename__ = "webhook_watermarks"

    project_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("projects.projects.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(sa.String(20), primary_key=True)  # issue | pull_request
    number: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    # Merged, deleted or transferred away: no later delivery can undo it.
    final: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
