"""The audit trail: every security event is a row and an ``auth.audit.recorded`` event,
written in the caller's transaction (so it is recorded exactly when the change is)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.context import ClientInfo
from swe_auth.events import AuditRecorded, outbox
from swe_auth.models import AuditEvent
from swe_common.db import insert_of
from swe_common.events import CloudEvent
from swe_common.events.outbox import WriteStatement


class Action(StrEnum):
    login = "login"
    lockout = "lockout"
    logout = "logout"
    refresh_reuse = "refresh_reuse"
    session_revoked = "session_revoked"
    password_change = "password_change"  # noqa: S105 - action names
    email_change = "email_change"
    password_reset_requested = "password_reset_requested"  # noqa: S105
    password_reset = "password_reset"  # noqa: S105
    api_key_created = "api_key_created"
    api_key_revoked = "api_key_revoked"
    role_change = "role_change"
    user_registered = "user_registered"
    user_locked = "user_locked"
    user_unlocked = "user_unlocked"
    user_disabled = "user_disabled"
    user_enabled = "user_enabled"
    mfa_enabled = "mfa_enabled"
    mfa_disabled = "mfa_disabled"
    github_linked = "github_linked"
    registration_attempted = "registration_attempted"
    email_verification_requested = "email_verification_requested"
    email_verified = "email_verified"


async def record(
    session: AsyncSession,
    action: Action,
    *,
    at: datetime,
    client: ClientInfo,
    user_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    success: bool = True,
    with_writes: Sequence[WriteStatement] = (),
    **details: Any,
) -> AuditEvent:
    """The audit row and its ``auth.audit.recorded`` event, in one statement with
    ``with_writes`` (the change being recorded: see ``Outbox.publish``)."""
    event = entry(
        action,
        at=at,
        client=client,
        user_id=user_id,
        actor_id=actor_id,
        success=success,
        **details,
    )
    # The row goes in the event's statement: one round trip for both.
    await outbox.add(session, recorded(event), with_writes=[insert_of(event), *with_writes])
    return event


def entry(
    action: Action,
    *,
    at: datetime,
    client: ClientInfo,
    user_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    success: bool = True,
    **details: Any,
) -> AuditEvent:
    """The audit row of an action (not added to any session: written with its event)."""
    return AuditEvent(
        id=uuid.uuid4(),
        action=action.value,
        outcome="success" if success else "failure",
        user_id=user_id,
        actor_id=actor_id if actor_id is not None else user_id,
        ip=client.ip[:64],
        user_agent=client.user_agent[:512],
        at=at,
        details=details,
    )


def recorded(event: AuditEvent) -> CloudEvent:
    """The ``auth.audit.recorded`` event of an audit row, unwritten."""
    user_id, actor_id = event.user_id, event.actor_id
    return outbox.event(
        AuditRecorded,
        {
            "id": str(event.id),
            "action": event.action,
            "outcome": event.outcome,
            "user_id": str(user_id) if user_id else None,
            "actor_id": str(actor_id) if actor_id else None,
            "ip": event.ip,
            "user_agent": event.user_agent,
            "at": event.at,
            "details": event.details,
        },
        subject=str(user_id) if user_id else None,
    )
