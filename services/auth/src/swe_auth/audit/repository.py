"""Queries on the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.models import AuditEvent

SORTABLE = {"at": AuditEvent.at, "action": AuditEvent.action}


def list_statement(
    user_id: uuid.UUID | None, action: str | None, outcome: str | None
) -> sa.Select[AuditEvent]:
    statement = sa.select(AuditEvent)
    if user_id is not None:
        statement = statement.where(AuditEvent.user_id == user_id)
    if action:
        statement = statement.where(AuditEvent.action == action)
    if outcome:
        statement = statement.where(AuditEvent.outcome == outcome)
    return statement


async def signed_in_from(
    session: AsyncSession, user_id: uuid.UUID, ip: str, since: datetime
) -> bool:
    """Whether the user has signed in successfully from ``ip`` since ``since``."""
    statement = (
        sa.select(AuditEvent.id)
        .where(
            AuditEvent.user_id == user_id,
            AuditEvent.at >= since,
            AuditEvent.action == "login",
            AuditEvent.outcome == "success",
            AuditEvent.ip == ip,
        )
        .limit(1)
    )
    return await session.scalar(statement) is not None
