"""Queries on signing keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.models import SigningKey

# Serialises "create the first key" across instances starting together.
KEY_CREATION_LOCK = 0x5E_A07_0001


async def lock_key_creation(session: AsyncSession) -> None:
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(KEY_CREATION_LOCK)))


async def all_keys(session: AsyncSession) -> Sequence[SigningKey]:
    result = await session.scalars(sa.select(SigningKey).order_by(SigningKey.created_at))
    return result.all()


async def has_active_key(session: AsyncSession) -> bool:
    found = await session.scalar(
        sa.select(sa.func.count()).select_from(SigningKey).where(SigningKey.retired_at.is_(None))
    )
    return bool(found)


async def retire_active(session: AsyncSession, at: datetime) -> None:
    await session.execute(
        sa.update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=at)
    )


async def add(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)
    await session.flush()
