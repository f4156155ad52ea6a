"""API keys: ``swe_<prefix>_<secret>``. The prefix is visible and indexed; only a SHA-256 of the
secret is stored (256 random bits need no slow hash). A key is traded for a short-lived access
token carrying its scopes, which is what the gateway does with an ``X-API-Key`` header."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth import metrics
from swe_auth.accounts import repository as users
from swe_auth.api_keys import repository
from swe_auth.audit.service import Action, record
from swe_auth.context import Actor, ClientInfo
from swe_auth.crypto import digest, same_digest
from swe_auth.models import ApiKey
from swe_auth.runtime import AuthRuntime
from swe_auth.sessions.service import can_sign_in
from swe_auth.tokens import AccessToken
from swe_common.errors import NotFound, Unauthorized, Unprocessable
from swe_common.rate_budgets import over_owner

KEY_PREFIX = "swe"
INVALID_KEY = "The API key is invalid, expired or revoked"


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    secret: str


def split_key(presented: str) -> tuple[str, str] | None:
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1], parts[2]


async def create(
    session: AsyncSession,
    rt: AuthRuntime,
    actor: Actor,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
    client: ClientInfo,
    *,
    rate_limits: dict[str, int] | None = None,
) -> CreatedKey:
    now = rt.clock()
    if expires_at is not None and expires_at <= now:
        raise Unprocessable(
            "The expiry must be in the future",
            errors=[{"field": "expires_at", "message": "must be in the future"}],
        )
    if rate_limits:
        await _within_owner_budget(session, rt, actor, rate_limits)
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid.uuid4(),
        user_id=actor.user_id,
        name=name,
        prefix=prefix,
        secret_hash=digest(secret),
        scopes=sorted(set(scopes)),
        created_at=now,
        expires_at=expires_at,
        rate_limits=rate_limits or None,
    )
    await repository.add(session, key)
    await record(
        session,
        Action.api_key_created,
        at=now,
        client=client,
        user_id=actor.user_id,
        api_key_id=str(key.id),
        prefix=prefix,
        scopes=key.scopes,
        rate_limits=key.rate_limits,
    )
    return CreatedKey(key, f"{KEY_PREFIX}_{prefix}_{secret}")


async def _within_owner_budget(
    session: AsyncSession, rt: AuthRuntime, actor: Actor, rate_limits: dict[str, int]
) -> None:
    """422 naming each window above the owner's role budget: a key never gets more than the
    person who made it."""
    owner = await users.get(session, actor.user_id)
    budget = rt.settings.role_budget(list(owner.roles) if owner is not None else [])
    over = over_owner(rate_limits, budget)
    if over:
        raise Unprocessable(
            "An API key's budget may not exceed its owner's",
            errors=[
                {
                    "field": f"rate_limits.{window}",
                    "message": f"at most {budget[window]} per {window} (the owner's budget)",
                }
                for window in over
            ],
        )


async def revoke(
    session: AsyncSession,
    rt: AuthRuntime,
    actor: Actor,
    key_id: uuid.UUID,
    *,
    is_admin: bool,
    client: ClientInfo,
) -> None:
    key = await repository.get(session, key_id, None if is_admin else actor.user_id)
    if key is None or key.revoked_at is not None:
        raise NotFound(f"No API key {key_id}")
    key.revoked_at = rt.clock()
    await rt.revocations.revoke_api_key(key.id, rt.settings.revocation_ttl_seconds)
    await record(
        session,
        Action.api_key_revoked,
        at=rt.clock(),
        client=client,
        user_id=key.user_id,
        actor_id=actor.user_id,
        api_key_id=str(key.id),
        prefix=key.prefix,
    )


async def exchange(session: AsyncSession, rt: AuthRuntime, presented: str) -> AccessToken:
    # Not rate-limited per address: every exchange arrives from the gateway, and a 256-bit
    # secret cannot be guessed anyway.
    parts = split_key(presented)
    key = await repository.by_prefix(session, parts[0]) if parts else None
    now = rt.clock()
    if (
        parts is None
        or key is None
        or not same_digest(parts[1], key.secret_hash)
        or key.revoked_at is not None
        or (key.expires_at is not None and key.expires_at <= now)
    ):
        raise Unauthorized(INVALID_KEY)
    user = await users.get(session, key.user_id)
    if user is None or not can_sign_in(user, now):
        raise Unauthorized(INVALID_KEY)
    key.last_used_at = now
    token = await rt.issuer.issue(
        subject=user.id,
        roles=list(user.roles),
        not_before=user.tokens_not_before,
        username=user.username,
        full_name=user.full_name,
        scopes=list(key.scopes),
        api_key_id=key.id,
        ttl_seconds=rt.settings.api_key_token_ttl_seconds,
        rate_limits=key.rate_limits,
    )
    metrics.TOKENS_ISSUED.labels(kind="api_key").inc()
    return token
