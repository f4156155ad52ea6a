"""Signing in with GitHub: link the GitHub account to a user (by GitHub id, else by a verified
email already registered) or create one, then open a session like a password login."""

from __future__ import annotations

import re
import secrets
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth import metrics
from swe_auth.accounts import repository as users
from swe_auth.accounts.service import _created
from swe_auth.audit.service import Action, record
from swe_auth.context import ClientInfo
from swe_auth.github.client import GitHubIdentity
from swe_auth.models import User
from swe_auth.runtime import AuthRuntime
from swe_auth.sessions.service import TokenPair, can_sign_in, open_session
from swe_common.errors import BadRequest, Unauthorized


async def sign_in(
    session: AsyncSession, rt: AuthRuntime, identity: GitHubIdentity, client: ClientInfo
) -> TokenPair:
    user = await _linked_user(session, rt, identity, client)
    now = rt.clock()
    if not can_sign_in(user, now):
        metrics.LOGINS.labels(outcome="failed").inc()
        raise Unauthorized("This account cannot sign in")
    user.last_login_at = now
    await record(session, Action.login, at=now, client=client, user_id=user.id, method="github")
    metrics.LOGINS.labels(outcome="ok").inc()
    return await open_session(session, rt, user, client)


async def _linked_user(
    session: AsyncSession, rt: AuthRuntime, identity: GitHubIdentity, client: ClientInfo
) -> User:
    user = await users.find_by_github_id(session, identity.id)
    if user is not None:
        return user
    for email in identity.verified_emails:
        user = await users.find_by_email(session, email)
        if user is not None:
            # GitHub vouches for the address, so the person controls this account's mailbox.
            user.github_id = identity.id
            await record(
                session,
                Action.github_linked,
                at=rt.clock(),
                client=client,
                user_id=user.id,
                github_login=identity.login,
            )
            return user
    if identity.primary_email is None:
        raise BadRequest("Your GitHub account has no verified primary email address")
    user = User(
        id=uuid.uuid4(),
        email=identity.primary_email.lower(),
        username=await _free_username(session, identity.login),
        full_name=identity.name[:200],
        password_hash=None,
        roles=["user"],
        github_id=identity.id,
        # GitHub verified this address (only a verified primary address is taken).
        email_verified_at=rt.clock(),
        created_at=rt.clock(),
        updated_at=rt.clock(),
    )
    return await _created(session, rt, user, client)


async def _free_username(session: AsyncSession, login: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", login)[:32] or "github-user"
    candidate = base
    while await users.username_taken(session, candidate):
        candidate = f"{base}-{secrets.randbelow(10_000):04d}"
    return candidate
