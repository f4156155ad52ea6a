"""Sessions: login, refresh-token rotation with reuse detection, logout, revoking sessions.

A session is a refresh *family*: the login's refresh token and every token rotated from it.
Refresh tokens are opaque, stored as SHA-256, good once. Presenting a rotated one again means
it leaked: the whole family is revoked. Two refreshes of one token within
``refresh_reuse_grace_seconds`` are a client race instead; the second is refused but the
family lives on, so exactly one of them succeeds.

Failed logins, lockouts and reuse detection must be recorded although the request fails, so
these flows run their own transactions (``runtime.db.transaction()``) and raise only after
committing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from swe_auth import metrics
from swe_auth.accounts import repository as users
from swe_auth.accounts import totp
from swe_auth.audit import repository as audit_repository
from swe_auth.audit.service import Action, entry, record, recorded
from swe_auth.clock import epoch
from swe_auth.context import Actor, ClientInfo
from swe_auth.crypto import digest, new_secret, totp_context
from swe_auth.events import TokenRevoked, outbox
from swe_auth.models import RefreshFamily, RefreshToken, User
from swe_auth.passwords import VerifyResult
from swe_auth.runtime import AuthRuntime
from swe_auth.sessions import repository, throttle
from swe_auth.tokens import AccessToken
from swe_common.errors import NotFound, Unauthorized

log = structlog.stdlib.get_logger(__name__)

REFRESH_PREFIX = "rt_"
# One message for every failed login: wrong password, unknown user, locked or disabled.
BAD_CREDENTIALS = "Incorrect username or password"
BAD_REFRESH = "The refresh token is invalid, expired or revoked"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int
    session_id: uuid.UUID


def is_locked(user: User, now: datetime) -> bool:
    return user.admin_locked or (user.locked_until is not None and user.locked_until > now)


def can_sign_in(user: User, now: datetime) -> bool:
    return user.is_active and not is_locked(user, now)


def can_refresh(user: User) -> bool:
    # A lockout stops password guessing; sessions the owner already has live on through it.
    return user.is_active and not user.admin_locked


async def open_session(
    session: AsyncSession, rt: AuthRuntime, user: User, client: ClientInfo
) -> TokenPair:
    """A new refresh family for ``user`` with its first refresh and access tokens."""
    now = rt.clock()
    family = RefreshFamily(
        id=uuid.uuid4(),
        user_id=user.id,
        created_at=now,
        last_used_at=now,
        user_agent=client.user_agent[:512],
        ip=client.ip[:64],
    )
    return await _issue(session, rt, user, family, new_family=True)


async def _issue(
    session: AsyncSession,
    rt: AuthRuntime,
    user: User,
    family: RefreshFamily,
    *,
    new_family: bool = False,
) -> TokenPair:
    """Access and refresh tokens for ``family`` (``new_family``: written here, with its first
    refresh token, in one statement; else a family the session holds, rotated)."""
    now = rt.clock()
    access = await _access_token(rt, user, family.id)
    # Set before the write below, so a new family is inserted complete (no extra UPDATE).
    family.last_used_at = now
    family.access_jti = access.jti
    family.access_expires_at = access.expires_at
    refresh_token = new_secret(REFRESH_PREFIX)
    token = RefreshToken(
        id=uuid.uuid4(), family_id=family.id, token_hash=digest(refresh_token), created_at=now
    )
    if new_family:
        await repository.add_family(session, family, token)
    else:
        await repository.add_token(session, token)
    metrics.TOKENS_ISSUED.labels(kind="user").inc()
    return TokenPair(
        access_token=access.token,
        refresh_token=refresh_token,
        expires_in=access.expires_in,
        refresh_expires_in=int((_refresh_deadline(rt, family) - now).total_seconds()),
        session_id=family.id,
    )


async def _access_token(rt: AuthRuntime, user: Any, family_id: uuid.UUID) -> AccessToken:
    """The access token of session ``family_id`` for ``user`` (a ``User``, or the row read
    before hashing, which has the same columns)."""
    return await rt.issuer.issue(
        subject=user.id,
        roles=list(user.roles),
        not_before=user.tokens_not_before,
        username=user.username,
        full_name=user.full_name,
        session_id=family_id,
    )


def _refresh_deadline(rt: AuthRuntime, family: RefreshFamily) -> datetime:
    return _deadline(rt, family.created_at, family.last_used_at)


def _deadline(rt: AuthRuntime, created_at: datetime, last_used_at: datetime) -> datetime:
    settings = rt.settings
    idle = last_used_at + timedelta(seconds=settings.refresh_idle_ttl_seconds)
    absolute = created_at + timedelta(seconds=settings.refresh_absolute_ttl_seconds)
    return min(idle, absolute)


async def login(
    rt: AuthRuntime, login_name: str, password: str, totp_code: str | None, client: ClientInfo
) -> TokenPair:
    # Counted with the throttle's check, in its Redis round trip: one per login, not two.
    attempt = rt.limiter.attempt("login", client.ip, rt.settings.login_rate_limit_per_minute)
    async with rt.db.reader() as session:  # a lone lookup: no transaction round trips
        found = await users.credentials_of(session, login_name)
        stored_hash = found.password_hash if found else None
    # Unknown names are throttled like accounts, so a 429 says nothing about who exists.
    account = str(found.id) if found else throttle.unknown_account(login_name)
    failures_counted = await rt.throttle.check(account, client.ip, attempt)
    # Always verify, even for an unknown or locked account: the answer takes as long either way.
    verified = await rt.hasher.verify(password, stored_hash)
    pair: TokenPair | None = None
    if found is not None and verified.ok and _plain(found, rt.clock()):
        pair = await _sign_in(rt, found, verified.new_hash, client)
    if pair is not None:
        outcome = "ok"
    else:
        # Everything else (a failure, a second factor, a lockout, or a row that changed
        # since it was read) on the user row read again, locked, in a transaction.
        outcome, pair = await _judged_login(rt, found, verified, totp_code, client, account)
    metrics.LOGINS.labels(outcome=outcome).inc()
    if outcome == "mfa_required":
        raise Unauthorized("A TOTP code is required for this account", mfa_required=True)
    if pair is None:
        raise Unauthorized(BAD_CREDENTIALS)
    if failures_counted:  # else nothing to clear: no Redis round trip
        await rt.throttle.succeeded(account, client.ip)
    return pair


def _plain(found: Any, now: datetime) -> bool:
    """Whether the row read before hashing signs in with the password alone: active, not
    locked, no second factor (``_judge_login`` would find nothing to refuse or ask)."""
    return (
        found.is_active
        and not found.admin_locked
        and not found.totp_enabled
        and (found.locked_until is None or found.locked_until <= now)
    )


async def _sign_in(
    rt: AuthRuntime, found: Any, new_hash: str | None, client: ClientInfo
) -> TokenPair | None:
    """A plain sign-in's writes in one statement (``repository.SIGN_IN``), from the row read
    before hashing; None when the row has changed since (nothing written: sign in the long
    way). The same rows, event and tokens as ``_judged_login`` and ``open_session`` make."""
    now = rt.clock()
    family_id = uuid.uuid4()
    access = await _access_token(rt, found, family_id)
    refresh_token = new_secret(REFRESH_PREFIX)
    audit = entry(Action.login, at=now, client=client, user_id=found.id)
    new = repository.NewSession(
        family_id=family_id,
        token_id=uuid.uuid4(),
        token_hash=digest(refresh_token),
        access_jti=access.jti,
        access_expires_at=access.expires_at,
        ip=client.ip[:64],
        user_agent=client.user_agent[:512],
    )
    if not await repository.sign_in(rt.db, found, new_hash, now, new, audit, recorded(audit)):
        return None
    metrics.TOKENS_ISSUED.labels(kind="user").inc()
    return TokenPair(
        access_token=access.token,
        refresh_token=refresh_token,
        expires_in=access.expires_in,
        refresh_expires_in=int((_deadline(rt, now, now) - now).total_seconds()),
        session_id=family_id,
    )


async def _judged_login(
    rt: AuthRuntime,
    found: Any,
    verified: VerifyResult,
    totp_code: str | None,
    client: ClientInfo,
    account: str,
) -> tuple[str, TokenPair | None]:
    pair: TokenPair | None = None
    async with rt.db.transaction() as session:
        user = await users.get(session, found.id, lock=True) if found else None
        outcome = await _judge_login(session, rt, user, verified.ok, totp_code, client)
        if outcome == "ok" and user is not None:
            if verified.new_hash:
                user.password_hash = verified.new_hash
            pair = await open_session(session, rt, user, client)
        elif outcome != "mfa_required":
            await _count_failure(session, rt, account, user, client)
    return outcome, pair


async def _judge_login(
    session: AsyncSession,
    rt: AuthRuntime,
    user: User | None,
    password_ok: bool,
    totp_code: str | None,
    client: ClientInfo,
) -> str:
    now = rt.clock()
    if user is None:
        await record(
            session, Action.login, at=now, client=client, success=False, reason="unknown_user"
        )
        return "failed"
    refusal = await _refusal(session, rt, user, password_ok, client)
    if refusal is not None:
        await record(
            session,
            Action.login,
            at=now,
            client=client,
            user_id=user.id,
            success=False,
            reason=refusal,
        )
        return "failed" if refusal.startswith("bad_") else refusal
    if user.totp_enabled:
        if not totp_code:
            return "mfa_required"
        step = totp.matching_step(
            rt.box.open(totp_context(user.id), user.totp_secret_encrypted or b""),
            totp_code,
            now,
            user.totp_last_step,
        )
        if step is None:
            await record(
                session,
                Action.login,
                at=now,
                client=client,
                user_id=user.id,
                success=False,
                reason="bad_totp",
            )
            return "failed"
        user.totp_last_step = step
    # Written with the audit row, in its statement; the object told without a flush of its own.
    set_committed_value(user, "last_login_at", now)
    await record(
        session,
        Action.login,
        at=now,
        client=client,
        user_id=user.id,
        with_writes=[users.signed_in(user.id, now)],
    )
    return "ok"


async def _refusal(
    session: AsyncSession, rt: AuthRuntime, user: User, password_ok: bool, client: ClientInfo
) -> str | None:
    """Why this password sign-in is refused (None: go on to the second factor)."""
    if not user.is_active:
        return "disabled"
    if user.admin_locked:
        return "locked"
    if not password_ok:
        return "bad_password"
    if is_locked(user, rt.clock()) and not await _known_address(session, rt, user, client):
        # A lockout stops a distributed guess, not the owner at a place they signed in before.
        return "locked"
    return None


async def _known_address(
    session: AsyncSession, rt: AuthRuntime, user: User, client: ClientInfo
) -> bool:
    since = rt.clock() - timedelta(days=rt.settings.known_address_days)
    return await audit_repository.signed_in_from(session, user.id, client.ip, since)


async def _count_failure(
    session: AsyncSession, rt: AuthRuntime, account: str, user: User | None, client: ClientInfo
) -> None:
    """Slow this account+address pair down; lock the account only for a distributed guess."""
    now = rt.clock()
    addresses = await rt.throttle.failed(account, client.ip, epoch(now))
    settings = rt.settings
    if user is None or addresses < settings.lockout_distinct_addresses or is_locked(user, now):
        return
    user.locked_until = now + timedelta(seconds=settings.lockout_duration_seconds)
    metrics.LOCKOUTS.inc()
    await record(
        session,
        Action.lockout,
        at=now,
        client=client,
        user_id=user.id,
        locked_until=user.locked_until.isoformat(),
        distinct_addresses=addresses,
    )


async def refresh(rt: AuthRuntime, refresh_token: str, client: ClientInfo) -> TokenPair:
    pair: TokenPair | None = None
    async with rt.db.transaction() as session:
        token = await repository.token_by_hash(session, digest(refresh_token))
        if token is not None:
            pair = await _rotate(session, rt, token, client)
    if pair is None:
        raise Unauthorized(BAD_REFRESH)
    return pair


async def _rotate(
    session: AsyncSession, rt: AuthRuntime, token: RefreshToken, client: ClientInfo
) -> TokenPair | None:
    now = rt.clock()
    family = await repository.family(session, token.family_id)
    if family is None or family.revoked_at is not None:
        return None
    if token.rotated_at is not None:
        grace = timedelta(seconds=rt.settings.refresh_reuse_grace_seconds)
        if now - token.rotated_at > grace:
            await _revoke_reused(session, rt, family, client)
        return None
    if now >= _refresh_deadline(rt, family):
        return None
    user = await users.get(session, family.user_id)
    if user is None or not can_refresh(user):
        return None
    token.rotated_at = now
    return await _issue(session, rt, user, family)


async def _revoke_reused(
    session: AsyncSession, rt: AuthRuntime, family: RefreshFamily, client: ClientInfo
) -> None:
    metrics.REFRESH_REUSE.inc()
    log.warning("refresh_token_reuse", family_id=str(family.id), user_id=str(family.user_id))
    await revoke_family(session, rt, family, "refresh_reuse")
    await record(
        session,
        Action.refresh_reuse,
        at=rt.clock(),
        client=client,
        user_id=family.user_id,
        success=False,
        family_id=str(family.id),
    )


async def revoke_family(
    session: AsyncSession, rt: AuthRuntime, family: RefreshFamily, reason: str
) -> None:
    """End one session: its refresh tokens and every access token issued in it."""
    if family.revoked_at is None:
        family.revoked_at = rt.clock()
        family.revoked_reason = reason
    await _denylist_family_access(session, rt, family)
    await outbox.publish(
        session,
        TokenRevoked,
        {
            "user_id": str(family.user_id),
            "jti": family.access_jti,
            "family_id": str(family.id),
            "reason": reason,
        },
        subject=str(family.user_id),
    )


async def _denylist_family_access(
    session: AsyncSession, rt: AuthRuntime, family: RefreshFamily
) -> None:
    # The session marker kills every access token of the family, not only the newest one
    # whose jti the family row remembers (denylisted too: the row is the durable record).
    await rt.revocations.revoke_session(family.id, _cutoff_ttl(rt))
    if family.access_jti and family.access_expires_at:
        await rt.revocations.revoke_jti(
            session, family.access_jti, family.user_id, family.access_expires_at
        )


async def revoke_all(
    session: AsyncSession,
    rt: AuthRuntime,
    user_id: uuid.UUID,
    reason: str,
    *,
    keep_session: uuid.UUID | None = None,
) -> int:
    """End every session of the user (but ``keep_session``) and every access token issued
    until now; returns the new cutoff. Tokens minted afterwards carry iat >= cutoff."""
    now = rt.clock()
    revoked = await repository.revoke_families(
        session, user_id, now, reason, except_id=keep_session
    )
    for family in revoked:
        await _denylist_family_access(session, rt, family)
    # +1: a token issued earlier within this same second must die too.
    cutoff = epoch(now) + 1
    await repository.set_not_before(session, user_id, cutoff)
    await rt.revocations.cache_not_before(user_id, cutoff, _cutoff_ttl(rt))
    await outbox.publish(
        session,
        TokenRevoked,
        {"user_id": str(user_id), "jti": None, "family_id": None, "reason": reason},
        subject=str(user_id),
    )
    return cutoff


def _cutoff_ttl(rt: AuthRuntime) -> int:
    return rt.settings.revocation_ttl_seconds


async def reissue_for_session(
    session: AsyncSession,
    rt: AuthRuntime,
    user: User,
    session_id: uuid.UUID | None,
    client: ClientInfo,
) -> TokenPair:
    """Fresh tokens for the caller's session after a cutoff (password change keeps you in)."""
    family = await repository.family(session, session_id, user_id=user.id) if session_id else None
    if family is None or family.revoked_at is not None:
        return await open_session(session, rt, user, client)
    await repository.rotate_all(session, family.id, rt.clock())
    return await _issue(session, rt, user, family)


async def logout(
    session: AsyncSession,
    rt: AuthRuntime,
    *,
    user_id: uuid.UUID,
    jti: str,
    expires_at: int,
    session_id: uuid.UUID | None,
    refresh_token: str | None,
    client: ClientInfo,
) -> None:
    await rt.revocations.revoke_jti(session, jti, user_id, expires_at)
    await outbox.publish(
        session,
        TokenRevoked,
        {
            "user_id": str(user_id),
            "jti": jti,
            "family_id": str(session_id) if session_id else None,
            "reason": "logout",
        },
        subject=str(user_id),
    )
    family_ids = {session_id} if session_id else set()
    if refresh_token:
        token = await repository.token_by_hash(session, digest(refresh_token))
        if token is not None:
            family_ids.add(token.family_id)
    for family_id in family_ids:
        family = await repository.family(session, family_id, user_id=user_id)
        if family is not None and family.revoked_at is None:
            await revoke_family(session, rt, family, "logout")
    await record(session, Action.logout, at=rt.clock(), client=client, user_id=user_id)


async def list_sessions(
    session: AsyncSession, rt: AuthRuntime, user_id: uuid.UUID
) -> list[RefreshFamily]:
    now = rt.clock()
    settings = rt.settings
    return list(
        await repository.live_families(
            session,
            user_id,
            idle_since=now - timedelta(seconds=settings.refresh_idle_ttl_seconds),
            created_since=now - timedelta(seconds=settings.refresh_absolute_ttl_seconds),
        )
    )


async def revoke_session(
    session: AsyncSession, rt: AuthRuntime, actor: Actor, family_id: uuid.UUID, client: ClientInfo
) -> None:
    family = await repository.family(session, family_id, user_id=actor.user_id)
    if family is None or family.revoked_at is not None:
        raise NotFound(f"No session {family_id}")
    await revoke_family(session, rt, family, "session_revoked")
    await record(
        session,
        Action.session_revoked,
        at=rt.clock(),
        client=client,
        user_id=actor.user_id,
        family_id=str(family_id),
    )


async def revoke_every_session(
    session: AsyncSession, rt: AuthRuntime, actor: Actor, client: ClientInfo
) -> None:
    await revoke_all(session, rt, actor.user_id, "logout_all")
    await record(
        session,
        Action.session_revoked,
        at=rt.clock(),
        client=client,
        user_id=actor.user_id,
        scope="all",
    )
