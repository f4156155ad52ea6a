"""E-mail verification: a single-use link mailed to an address proves its owner controls it.

Unverified accounts work as before (sign-in does not wait for the mail); the account shows
whether its address is verified, and a change of address clears it and mails the new one.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.accounts import repository
from swe_auth.audit.service import Action, record
from swe_auth.context import ClientInfo
from swe_auth.crypto import digest, new_secret
from swe_auth.events import EmailVerificationRequested, outbox
from swe_auth.models import EmailVerification, User
from swe_auth.runtime import AuthRuntime
from swe_common.errors import BadRequest, Conflict

VERIFY_PREFIX = "evt_"
Reason = Literal["registration", "email_change", "resend"]


async def request(session: AsyncSession, rt: AuthRuntime, user: User, reason: Reason) -> None:
    """Mail ``user.email`` a verification link (through the outbox: the token travels only in
    the event and in the mail)."""
    now = rt.clock()
    token = new_secret(VERIFY_PREFIX)
    expires_at = now + timedelta(seconds=rt.settings.email_verification_ttl_seconds)
    await repository.add_verification(
        session,
        EmailVerification(
            id=uuid.uuid4(),
            user_id=user.id,
            email=user.email,
            token_hash=digest(token),
            created_at=now,
            expires_at=expires_at,
        ),
    )
    await outbox.publish(
        session,
        EmailVerificationRequested,
        {
            "user_id": str(user.id),
            "email": user.email,
            "verification_token": token,
            "expires_at": expires_at,
            "reason": reason,
        },
        subject=str(user.id),
    )


async def resend(
    session: AsyncSession, rt: AuthRuntime, user_id: uuid.UUID, client: ClientInfo
) -> None:
    user = await repository.get(session, user_id)
    if user is None:
        raise BadRequest("No such account")
    if user.email_verified_at is not None:
        raise Conflict("This address is already verified")
    # Each resend is a mail: bounded per account like the other mail-sending routes.
    await rt.limiter.hit(
        "verify-resend",
        str(user.id),
        rt.settings.verification_resends_per_minute,
        "Too many verification mails asked for; wait a minute.",
    )
    await request(session, rt, user, "resend")
    await record(
        session, Action.email_verification_requested, at=rt.clock(), client=client, user_id=user.id
    )


async def confirm(session: AsyncSession, rt: AuthRuntime, token: str, client: ClientInfo) -> None:
    now = rt.clock()
    link = await repository.verification_by_hash(session, digest(token))
    user = await repository.get(session, link.user_id, lock=True) if link is not None else None
    if (
        link is None
        or user is None
        or link.used_at is not None
        or link.expires_at <= now
        # The address changed since the link was sent: it proves nothing about the new one.
        or link.email != user.email
    ):
        raise BadRequest("The verification link is invalid, expired or already used")
    user.email_verified_at = now
    await repository.use_all_verifications(session, user.id, now)
    await record(
        session, Action.email_verified, at=now, client=client, user_id=user.id, email=user.email
    )
