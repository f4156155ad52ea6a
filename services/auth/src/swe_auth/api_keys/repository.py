"""Queries on API keys."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.models import ApiKey

SORTABLE = {"created_at": ApiKey.created_at, "name": ApiKey.name}


async def add(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)
    await session.flush()


async def by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    return await session.scalar(sa.select(ApiKey).where(ApiKey.prefix == prefix))


async def get(
    session: AsyncSession, key_id: uuid.UUID, owner_id: uuid.UUID | None
) -> ApiKey | None:
    """A key by id; scoped to ``owner_id`` unless None (an administrator)."""
    statement = sa.select(ApiKey).where(ApiKey.id == key_id)
    if owner_id is not None:
        statement = statement.where(ApiKey.user_id == owner_id)
    return await session.scalar(statement)


def list_statement(owner_id: uuid.UUID, include_revoked: bool) -> sa.Select[ApiKey]:
    statement = sa.select(ApiKey).where(ApiKey.user_id == owner_id)
    if not include_revoked:
        statement = statement.where(ApiKey.revoked_at.is_(None))
    return statement
