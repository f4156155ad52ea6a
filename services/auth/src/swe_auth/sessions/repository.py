"""Queries on refresh families, refresh tokens and revoked access tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.events import outbox
from swe_auth.models import ApiKey, AuditEvent, RefreshFamily, RefreshToken, RevokedToken, User
from swe_common.db import Database, insert_of
from swe_common.events import CloudEvent


def _sign_in() -> sa.Insert:
    """A plain sign-in (no second factor) in one statement, so in one round trip and without
    BEGIN and COMMIT when run in autocommit: the users row's sign-in time (and the rehashed
    password, if any) written only if the row still is as the login judged it before hashing
    (same password hash, active, not locked, no TOTP, and the roles, cutoff and names the
    access token carries), and only then the new refresh family, its first refresh token, the
    audit row and its event. The UPDATE takes the row lock, and PostgreSQL re-checks its
    condition on the newest row version, so a concurrent change (a password change, a lock,
    "log out everywhere") either commits first and the statement writes nothing (the caller
    then signs in the long way) or waits for it. Built once: its compiled form is found by
    identity, and psycopg prepares it after a few runs. No parameter is named like a column
    of the UPDATE: SQLAlchemy would take it for a value to SET."""
    users: sa.Table = User.__table__  # type: ignore[assignment]  # mapped classes' Tables
    families: sa.Table = RefreshFamily.__table__  # type: ignore[assignment]
    tokens: sa.Table = RefreshToken.__table__  # type: ignore[assignment]
    audit: sa.Table = AuditEvent.__table__  # type: ignore[assignment]
    now = sa.bindparam("now", type_=users.c.last_login_at.type)
    signed_in = (
        sa.update(users)
        .where(
            users.c.id == sa.bindparam("user_id"),
            users.c.password_hash == sa.bindparam("seen_hash"),
            users.c.is_active.is_(True),
            users.c.admin_locked.is_(False),
            users.c.totp_enabled.is_(False),
            sa.or_(users.c.locked_until.is_(None), users.c.locked_until <= now),
            users.c.roles == sa.bindparam("seen_roles"),
            users.c.tokens_not_before == sa.bindparam("seen_not_before"),
            users.c.username == sa.bindparam("seen_username"),
            users.c.full_name == sa.bindparam("seen_full_name"),
        )
        .values(
            last_login_at=now,
            # The column's onupdate default is not applied to an UPDATE inside a CTE.
            updated_at=sa.func.now(),
            password_hash=sa.func.coalesce(
                sa.bindparam("new_hash", type_=users.c.password_hash.type), users.c.password_hash
            ),
        )
        .returning(users.c.id)
        .cte("signed_in")
    )

    def each(table: sa.Table, **values: sa.ColumnElement[Any]) -> sa.CTE:
        row = sa.select(*(value.label(name) for name, value in values.items()))
        return (
            sa.insert(table)
            .from_select(list(values), row.select_from(signed_in))
            .cte(f"new_{table.name}")
        )

    def param(name: str, column: sa.Column[Any]) -> sa.BindParameter[Any]:
        return sa.bindparam(name, type_=column.type)

    family = each(
        families,
        id=param("family_id", families.c.id),
        user_id=signed_in.c.id,
        created_at=now,
        last_used_at=now,
        user_agent=param("user_agent", families.c.user_agent),
        ip=param("ip", families.c.ip),
        access_jti=param("access_jti", families.c.access_jti),
        access_expires_at=param("access_expires_at", families.c.access_expires_at),
    )
    token = each(
        tokens,
        id=param("token_id", tokens.c.id),
        family_id=param("family_id", tokens.c.family_id),
        token_hash=param("token_hash", tokens.c.token_hash),
        created_at=now,
    )
    audited = each(
        audit,
        id=param("audit_id", audit.c.id),
        action=param("audit_action", audit.c.action),
        outcome=param("audit_outcome", audit.c.outcome),
        user_id=signed_in.c.id,
        actor_id=signed_in.c.id,
        ip=param("ip", audit.c.ip),
        user_agent=param("user_agent", audit.c.user_agent),
        at=now,
        details=param("audit_details", audit.c.details),
    )
    # What tells the caller it wrote (an INSERT's rowcount is not kept by SQLAlchemy).
    written = outbox.table.c.id
    return outbox.insert_if(signed_in).add_cte(signed_in, family, token, audited).returning(written)


SIGN_IN = _sign_in()


@dataclass(frozen=True, slots=True)
class NewSession:
    """The refresh family and first refresh token a sign-in opens (``SIGN_IN``)."""

    family_id: uuid.UUID
    token_id: uuid.UUID
    token_hash: str
    access_jti: str
    access_expires_at: int
    ip: str
    user_agent: str


async def sign_in(
    db: Database,
    seen: Any,
    new_hash: str | None,
    at: datetime,
    new: NewSession,
    audit: AuditEvent,
    event: CloudEvent,
) -> bool:
    """Run ``SIGN_IN`` as one autocommit statement (it is its own transaction); whether it
    wrote (False: the users row is no longer as ``seen``, the row read before hashing, and
    nothing was written). Wakes the relay for ``event`` as a commit would."""
    values = outbox.values(event)
    params = {
        "user_id": seen.id,
        "seen_hash": seen.password_hash,
        "seen_roles": seen.roles,
        "seen_not_before": seen.tokens_not_before,
        "seen_username": seen.username,
        "seen_full_name": seen.full_name,
        "new_hash": new_hash,
        "now": at,
        "family_id": new.family_id,
        "token_id": new.token_id,
        "token_hash": new.token_hash,
        "access_jti": new.access_jti,
        "access_expires_at": new.access_expires_at,
        "ip": new.ip,
        "user_agent": new.user_agent,
        "audit_id": audit.id,
        "audit_action": audit.action,
        "audit_outcome": audit.outcome,
        "audit_details": audit.details,
        **values,
    }
    async with db.engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        if (await autocommit.execute(SIGN_IN, params)).first() is None:
            return False
        await outbox.committed(autocommit, [values["partition"]])
    return True


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
