"""Queries on refresh families, refresh tokens and revoked access tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.models import ApiKey, RefreshFamily, RefreshToken, RevokedToken, User
from swe_common.db import insert_of


async def add_family(session: AsyncSession, family: RefreshFamily, first: RefreshToken) -> None:
    """A new family and its first refresh token in one statement (the family as a
    data-modifying CTE; the token's foreign key is checked at the statement's end). Neither
    object joins the session: a sign-in reads them no more."""
    await session.execute(insert_of(first).add_cte(insert_of(family).cte("family")))


async def add_token(session: AsyncSession, token: RefreshToken) -> None:
    session.add(token)
    await session.flush()


async def token_by_hash(session: AsyncSession, token_hash: str) -> RefreshToken | None:
    # The row lock makes two concurrent refreshes of one token take turns.
    statement = sa.select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return await session.scalar(statement.with_for_update())


async def family(
    session: AsyncSession, family_id: uuid.UUID, *, user_id: uuid.UUID | None = None
) -> RefreshFamily | None:
    statement = sa.select(RefreshFamily).where(RefreshFamily.id == family_id)
    if user_id is not None:
        statement = statement.where(RefreshFamily.user_id == user_id)
    return await session.scalar(statement.with_for_update())


async def rotate_all(session: AsyncSession, family_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.rotated_at.is_(None))
        .values(rotated_at=at)
    )


async def live_families(
    session: AsyncSession, user_id: uuid.UUID, idle_since: datetime, created_since: datetime
) -> Sequence[RefreshFamily]:
    statement = (
        sa.select(RefreshFamily)
        .where(
            RefreshFamily.user_id == user_id,
            RefreshFamily.revoked_at.is_(None),
            RefreshFamily.last_used_at > idle_since,
            RefreshFamily.created_at > created_since,
        )
        .order_by(RefreshFamily.last_used_at.desc())
    )
    return (await session.scalars(statement)).all()


async def revoke_families(
    session: AsyncSession,
    user_id: uuid.UUID,
    at: datetime,
    reason: str,
    *,
    except_id: uuid.UUID | None = None,
) -> Sequence[RefreshFamily]:
    """Revoke the user's open families; returns them (to denylist their access tokens)."""
    statement = (
        sa.update(RefreshFamily)
        .where(RefreshFamily.user_id == user_id, RefreshFamily.revoked_at.is_(None))
        .values(revoked_at=at, revoked_reason=reason)
        .returning(RefreshFamily)
    )
    if except_id is not None:
        statement = statement.where(RefreshFamily.id != except_id)
    return (await session.scalars(statement)).all()


async def set_not_before(session: AsyncSession, user_id: uuid.UUID, not_before: int) -> None:
    await session.execute(
        sa.update(User)
        .where(User.id == user_id)
        .values(tokens_not_before=sa.func.greatest(User.tokens_not_before, not_before))
        # Callers holding the user set the attribute themselves; no re-fetch mid-request.
        .execution_options(synchronize_session=False)
    )


async def add_revoked(
    session: AsyncSession, jti: str, user_id: uuid.UUID, expires_at: int, at: datetime
) -> None:
    await session.execute(
        insert(RevokedToken)
        .values(jti=jti, user_id=user_id, expires_at=expires_at, revoked_at=at)
        .on_conflict_do_nothing(index_elements=[RevokedToken.jti])
    )


async def is_revoked(
    session: AsyncSession,
    jti: str,
    subject: str,
    issued_at: int,
    *,
    api_key_id: str | None = None,
    session_id: str | None = None,
) -> bool:
    if await session.scalar(sa.select(RevokedToken.jti).where(RevokedToken.jti == jti)):
        return True
    if api_key_id is not None and await _api_key_revoked(session, api_key_id):
        return True
    if session_id is not None and await _session_revoked(session, session_id):
        return True
    try:
        user_id = uuid.UUID(subject)
    except ValueError:
        return True
    cutoff = await session.scalar(sa.select(User.tokens_not_before).where(User.id == user_id))
    return cutoff is not None and issued_at < cutoff


async def _api_key_revoked(session: AsyncSession, api_key_id: str) -> bool:
    try:
        key_id = uuid.UUID(api_key_id)
    except ValueError:
        return True
    revoked_at = await session.scalar(sa.select(ApiKey.revoked_at).where(ApiKey.id == key_id))
    return revoked_at is not None


async def _session_revoked(session: AsyncSession, session_id: str) -> bool:
    try:
        family_id = uuid.UUID(session_id)
    except ValueError:
        return True
    revoked_at = await session.scalar(
        sa.select(RefreshFamily.revoked_at).where(RefreshFamily.id == family_id)
    )
    return revoked_at is not None


async def recently_revoked_families(session: AsyncSession, since: datetime) -> list[uuid.UUID]:
    rows = await session.scalars(
        sa.select(RefreshFamily.id).where(RefreshFamily.revoked_at > since)
    )
    return list(rows)


async def recently_revoked_api_keys(session: AsyncSession, since: datetime) -> list[uuid.UUID]:
    rows = await session.scalars(sa.select(ApiKey.id).where(ApiKey.revoked_at > since))
    return list(rows)


async def live_revoked(session: AsyncSession, now: int) -> list[tuple[str, int]]:
    rows = await session.execute(
        sa.select(RevokedToken.jti, RevokedToken.expires_at).where(RevokedToken.expires_at > now)
    )
    return [(jti, expires_at) for jti, expires_at in rows]


async def recent_cutoffs(session: AsyncSession, since: int) -> list[tuple[uuid.UUID, int]]:
    rows = await session.execute(
        sa.select(User.id, User.tokens_not_before).where(User.tokens_not_before > since)
    )
    return [(user_id, cutoff) for user_id, cutoff in rows]


async def purge_revoked(session: AsyncSession, now: int) -> None:
    await session.execute(sa.delete(RevokedToken).where(RevokedToken.expires_at <= now))


async def purge_expired_sessions(session: AsyncSession, created_before: datetime) -> int:
    """Delete sessions past their absolute lifetime (their refresh tokens go with them)."""
    result = await session.execute(
        sa.delete(RefreshFamily).where(RefreshFamily.created_at < created_before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
