"""Queries on users, password resets and e-mail verifications."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.models import EmailVerification, PasswordReset, User
from swe_common.db import read_row


async def get(session: AsyncSession, user_id: uuid.UUID, *, lock: bool = False) -> User | None:
    statement = sa.select(User).where(User.id == user_id)
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


_USERS: sa.Table = User.__table__  # type: ignore[assignment]  # a mapped class's Table
# Built once (its compiled form found by identity, prepared by psycopg after a few runs).
_CREDENTIALS = (
    sa.select(
        _USERS.c.id,
        _USERS.c.password_hash,
        # What a sign-in is judged on and its access token says: a plain sign-in is then
        # written in one statement that re-checks them (sessions.repository.SIGN_IN).
        _USERS.c.is_active,
        _USERS.c.admin_locked,
        _USERS.c.locked_until,
        _USERS.c.totp_enabled,
        _USERS.c.roles,
        _USERS.c.tokens_not_before,
        _USERS.c.username,
        _USERS.c.full_name,
    )
    .where(
        sa.or_(
            sa.func.lower(User.username) == sa.bindparam("login"),
            sa.func.lower(User.email) == sa.bindparam("login"),
        )
    )
    .limit(1)
)


async def credentials_of(session: AsyncSession, login: str) -> sa.Row[Any] | None:
    """The id, password hash and sign-in state of a user by username or email, whatever the
    case: what a sign-in reads before hashing, as a row (no ORM object: a login's lookup is
    on its hot path; what it writes afterwards re-checks the row or reads it again, locked)."""
    return await read_row(session, _CREDENTIALS, {"login": login.strip().lower()})


def signed_in(user_id: uuid.UUID, at: datetime) -> sa.Update:
    """The UPDATE that records a sign-in (sent with its audit row: ``audit.service.record``)."""
    return sa.update(_USERS).where(_USERS.c.id == user_id).values(last_login_at=at)


async def find_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.lower()))


async def find_by_github_id(session: AsyncSession, github_id: int) -> User | None:
    return await session.scalar(sa.select(User).where(User.github_id == github_id))


async def email_taken(
    session: AsyncSession, email: str, *, except_id: uuid.UUID | None = None
) -> bool:
    statement = sa.select(User.id).where(sa.func.lower(User.email) == email.lower())
    if except_id is not None:
        statement = statement.where(User.id != except_id)
    return await session.scalar(statement) is not None


async def username_taken(session: AsyncSession, username: str) -> bool:
    statement = sa.select(User.id).where(sa.func.lower(User.username) == username.lower())
    return await session.scalar(statement) is not None


async def add(session: AsyncSession, user: User) -> User:
    session.add(user)
    await session.flush()
    return user


async def admin_exists(session: AsyncSession) -> bool:
    statement = sa.select(User.id).where(User.roles.contains(["admin"])).limit(1)
    return await session.scalar(statement) is not None


def search_statement(query: str | None, role: str | None, active: bool | None) -> sa.Select[User]:
    statement = sa.select(User)
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            sa.or_(
                User.username.ilike(pattern, escape="\\"),
                User.email.ilike(pattern, escape="\\"),
                User.full_name.ilike(pattern, escape="\\"),
            )
        )
    if role:
        statement = statement.where(User.roles.contains([role]))
    if active is not None:
        statement = statement.where(User.is_active.is_(active))
    return statement


SORTABLE = {
    "created_at": User.created_at,
    "username": User.username,
    "email": User.email,
    "last_login_at": User.last_login_at,
}


async def add_reset(session: AsyncSession, reset: PasswordReset) -> None:
    session.add(reset)
    await session.flush()


async def reset_by_hash(session: AsyncSession, token_hash: str) -> PasswordReset | None:
    statement = sa.select(PasswordReset).where(PasswordReset.token_hash == token_hash)
    return await session.scalar(statement.with_for_update())


async def use_all_resets(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=at)
    )


async def add_verification(session: AsyncSession, verification: EmailVerification) -> None:
    session.add(verification)
    await session.flush()


async def verification_by_hash(session: AsyncSession, token_hash: str) -> EmailVerification | None:
    statement = sa.select(EmailVerification).where(EmailVerification.token_hash == token_hash)
    return await session.scalar(statement.with_for_update())


async def use_all_verifications(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        sa.update(EmailVerification)
        .where(EmailVerification.user_id == user_id, EmailVerification.used_at.is_(None))
        .values(used_at=at)
    )


async def users_with_totp_secret(session: AsyncSession) -> Sequence[User]:
    result = await session.scalars(sa.select(User).where(User.totp_secret_encrypted.is_not(None)))
    return result.all()
