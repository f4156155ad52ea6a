"""A user's choice of opt-in notices (all off until they turn one on)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.notifications import repository
from swe_auth.notifications.repository import NOTICES
from swe_auth.runtime import AuthRuntime


async def get(session: AsyncSession, user_id: uuid.UUID) -> dict[str, bool]:
    row = await repository.preferences(session, user_id)
    return {notice: bool(row is not None and getattr(row, notice)) for notice in NOTICES}


async def update(
    session: AsyncSession, rt: AuthRuntime, user_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, bool]:
    values = {n: bool(changes[n]) for n in NOTICES if changes.get(n) is not None}
    row = await repository.save_preferences(session, user_id, values, rt.clock())
    return {notice: bool(getattr(row, notice)) for notice in NOTICES}
