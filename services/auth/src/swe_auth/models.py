"""The auth schema's tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from swe_common.db import ServiceBase, Timestamps, UUIDPrimaryKey, schema_metadata
from swe_common.events import define_event_tables

TS = sa.DateTime(timezone=True)


class Base(ServiceBase):
    __abstract__ = True
    metadata = schema_metadata("auth")


event_tables = define_event_tables(Base.metadata)


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"
    __table_args__ = (
        # Usernames and emails are unique regardless of case.
        sa.Index("uq_users_username_lower", sa.func.lower(sa.text("username")), unique=True),
        sa.Index("uq_users_email_lower", sa.func.lower(sa.text("email")), unique=True),
    )

    email: Mapped[str] = mapped_column(sa.String(320), nullable=False)
    username: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    full_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    # None for accounts that only sign in through GitHub.
    password_hash: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    roles: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=lambda: ["user"])
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    admin_locked: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    locked_until: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    failed_logins: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    failed_window_start: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    # Access tokens issued before this epoch second are revoked (password change, log out all).
    tokens_not_before: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    github_id: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True, unique=True)
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(sa.LargeBinary, nullable=True)
    totp_enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    # The last accepted TOTP time step: a code is good once.
    totp_last_step: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    last_login_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    # Set when the owner followed the verification link mailed to this address (cleared when
    # the address changes).
    email_verified_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class SigningKey(Base):
    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="ES256")
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    private_key_encrypted: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    # Set when a newer key took over; the public key stays published until its tokens expire.
    retired_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class RefreshFamily(Base):
    """One login session: every refresh token rotated from one login shares it."""

    __tablename__ = "refresh_families"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    last_used_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    user_agent: Mapped[str] = mapped_column(sa.String(512), nullable=False, default="")
    ip: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    # The newest access token of this session, denylisted when the session is revoked.
    access_jti: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    access_expires_at: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    family_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("auth.refresh_families.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    rotated_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class RevokedToken(Base):
    """Revoked access-token ids: the truth behind the Redis denylist."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False)
    expires_at: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, index=True)
    revoked_at: Mapped[datetime] = mapped_column(TS, nullable=False)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(sa.String(32), nullable=False, unique=True)
    secret_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSONB, nullable=False, default=list)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    # The key's own request budget at the gateway (window -> requests), at most its owner's;
    # None: the owner's role budget, counted for the key alone.
    rate_limits: Mapped[dict[str, int] | None] = mapped_column(JSONB, nullable=True)


class PasswordReset(Base):
    __tablename__ = "password_resets"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_user_id_at", "user_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    action: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    outcome: Mapped[str] = mapped_column(sa.String(16), nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, nullable=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, nullable=True)
    ip: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    user_agent: Mapped[str] = mapped_column(sa.String(512), nullable=False, default="")
    at: Mapped[datetime] = mapped_column(TS, nullable=False, index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)


class EmailVerification(Base):
    """A single-use link proving control of one address of one user (stored as SHA-256)."""

    __tablename__ = "email_verifications"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The address the link was sent to: verifying it after a later change verifies nothing.
    email: Mapped[str] = mapped_column(sa.String(320), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(TS, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class NotificationPreferences(Base):
    """Which opt-in notices a user wants by mail (no row: none)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("auth.users.id", ondelete="CASCADE"), primary_key=True
    )
    issue_assigned: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    review_finished: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    run_failed: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    updated_at: Mapped[datetime] = mapped_column(TS, nullable=False)


class ProjectOwner(Base):
    """Read model fed by projects' events: who owns a project, for the notices about it."""

    __tablename__ = "project_owners"

    project_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, nullable=False, index=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    # The snapshot's updated_at: an older snapshot arriving late changes nothing.
    updated_at: Mapped[datetime] = mapped_column(TS, nullable=False)


class SentMail(Base):
    """One row per event a mail went out for, committed as soon as the SMTP server took it, so
    a redelivered event sends no second mail."""

    __tablename__ = "sent_mails"

    event_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, nullable=True)
    sent_at: Mapped[datetime] = mapped_column(TS, nullable=False, index=True)
