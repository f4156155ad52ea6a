"""Accounts: registration, profile, passwords (change and reset), TOTP, admin actions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.accounts import repository, totp, verification
from swe_auth.audit.service import Action, record
from swe_auth.context import Actor, ClientInfo
from swe_auth.crypto import SecretBox, digest, is_legacy, new_secret, totp_context
from swe_auth.events import (
    PasswordResetRequested,
    RegistrationAttempted,
    UserDisabled,
    UserRegistered,
    UserUpdated,
    outbox,
)
from swe_auth.models import PasswordReset, User
from swe_auth.passwords import policy_violations
from swe_auth.runtime import AuthRuntime
from swe_auth.sessions import service as sessions
from swe_auth.sessions.service import TokenPair
from swe_common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    Unprocessable,
)

RESET_PREFIX = "prt_"


@dataclass(frozen=True)
class NewUser:
    email: str
    username: str
    password: str
    full_name: str = ""


def check_password(rt: AuthRuntime, password: str, *, username: str, email: str) -> None:
    problems = policy_violations(password, rt.settings, username=username, email=email)
    if problems:
        raise Unprocessable(
            "The password is not acceptable: " + "; ".join(problems),
            errors=[{"field": "password", "message": f"Password {p}"} for p in problems],
        )


def snapshot(user: User) -> dict[str, Any]:
    return {
        "user_id": str(user.id),
        "email": user.email,
        "username": user.username,
        "full_name": user.full_name,
        "roles": list(user.roles),
        "is_active": user.is_active,
    }


async def _publish_updated(session: AsyncSession, user: User) -> None:
    await outbox.publish(session, UserUpdated, snapshot(user), subject=str(user.id))


async def register(
    session: AsyncSession,
    rt: AuthRuntime,
    new: NewUser,
    client: ClientInfo,
    *,
    roles: list[str] | None = None,
) -> User:
    """Create an account (the administrator's bootstrap: a taken address is a 409)."""
    await _ensure_unique(session, new.email, new.username)
    check_password(rt, new.password, username=new.username, email=new.email)
    return await _created(session, rt, await _new_user(rt, new, roles or ["user"]), client)


async def self_register(
    session: AsyncSession, rt: AuthRuntime, new: NewUser, client: ClientInfo
) -> User:
    """Registration by a visitor, role ``user``. Whether an address has an account is its
    owner's business: a taken address gets the answer a new one gets (an unsaved account, the
    password hashed all the same so the timing matches) and its owner a mail saying so."""
    check_password(rt, new.password, username=new.username, email=new.email)
    owner = await repository.find_by_email(session, new.email)
    if owner is not None:
        await _tell_owner(session, rt, owner, client)
        return await _new_user(rt, new, ["user"])
    if await repository.username_taken(session, new.username):
        raise Conflict("This username is already taken", field="username")
    user = await _created(session, rt, await _new_user(rt, new, ["user"]), client)
    await verification.request(session, rt, user, "registration")
    return user


async def _new_user(rt: AuthRuntime, new: NewUser, roles: list[str]) -> User:
    now = rt.clock()
    return User(
        id=uuid.uuid4(),
        email=new.email.lower(),
        username=new.username,
        full_name=new.full_name,
        password_hash=await rt.hasher.hash(new.password),
        roles=roles,
        is_active=True,
        totp_enabled=False,
        created_at=now,
        updated_at=now,
    )


async def _tell_owner(
    session: AsyncSession, rt: AuthRuntime, owner: User, client: ClientInfo
) -> None:
    now = rt.clock()
    await outbox.publish(
        session,
        RegistrationAttempted,
        {"user_id": str(owner.id), "email": owner.email, "at": now},
        subject=str(owner.id),
    )
    await record(
        session,
        Action.registration_attempted,
        at=now,
        client=client,
        user_id=owner.id,
        success=False,
    )


async def _ensure_unique(session: AsyncSession, email: str, username: str) -> None:
    if await repository.email_taken(session, email):
        raise Conflict("An account with this email address already exists", field="email")
    if await repository.username_taken(session, username):
        raise Conflict("This username is already taken", field="username")


async def _created(session: AsyncSession, rt: AuthRuntime, user: User, client: ClientInfo) -> User:
    await repository.add(session, user)
    await outbox.publish(
        session,
        UserRegistered,
        {**snapshot(user), "created_at": user.created_at},
        subject=str(user.id),
    )
    await record(session, Action.user_registered, at=rt.clock(), client=client, user_id=user.id)
    return user


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await repository.get(session, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}")
    return user


async def update_profile(
    session: AsyncSession,
    rt: AuthRuntime,
    user_id: uuid.UUID,
    changes: dict[str, Any],
    client: ClientInfo,
) -> User:
    user = await get_user(session, user_id)
    if "email" in changes and changes["email"].lower() != user.email:
        await _confirm_current_password(rt, user, changes.get("current_password"))
        if await repository.email_taken(session, changes["email"], except_id=user.id):
            raise Conflict("An account with this email address already exists", field="email")
        previous, user.email = user.email, changes["email"].lower()
        user.email_verified_at = None
        await verification.request(session, rt, user, "email_change")
        await record(
            session,
            Action.email_change,
            at=rt.clock(),
            client=client,
            user_id=user.id,
            previous_email=previous,
            email=user.email,
        )
    if "full_name" in changes:
        user.full_name = changes["full_name"]
    user.updated_at = rt.clock()
    await _publish_updated(session, user)
    return user


async def _confirm_current_password(rt: AuthRuntime, user: User, current: str | None) -> None:
    """The email is where password resets go: changing it takes the password, not only a token
    (a stolen access token must not be able to take the account over)."""
    field = "current_password"
    if not current:
        raise Unprocessable(
            "Changing the email address needs current_password",
            errors=[{"field": field, "message": "is required to change the email address"}],
        )
    # Each check is an argon2 verify: bounded per account like sign-ins are per address.
    await rt.limiter.hit("reauth", str(user.id), rt.settings.login_rate_limit_per_minute)
    if not (await rt.hasher.verify(current, user.password_hash)).ok:
        raise Forbidden(
            "current_password is incorrect",
            errors=[{"field": field, "message": "is incorrect"}],
        )


async def change_password(
    session: AsyncSession,
    rt: AuthRuntime,
    actor: Actor,
    current: str,
    new_password: str,
    client: ClientInfo,
) -> TokenPair:
    """Needs the current password; ends every other session and returns fresh tokens."""
    user = await get_user(session, actor.user_id)
    if not (await rt.hasher.verify(current, user.password_hash)).ok:
        raise Unauthorized("The current password is incorrect")
    if current == new_password:
        raise Unprocessable(
            "The new password must differ from the current one",
            errors=[{"field": "new_password", "message": "must differ from the current password"}],
        )
    check_password(rt, new_password, username=user.username, email=user.email)
    user.password_hash = await rt.hasher.hash(new_password)
    cutoff = await sessions.revoke_all(
        session, rt, user.id, "password_change", keep_session=actor.session_id
    )
    user.tokens_not_before = max(user.tokens_not_before, cutoff)
    await record(session, Action.password_change, at=rt.clock(), client=client, user_id=user.id)
    return await sessions.reissue_for_session(session, rt, user, actor.session_id, client)


async def request_reset(
    session: AsyncSession, rt: AuthRuntime, email: str, client: ClientInfo
) -> None:
    """Issue a reset token when the address is registered; silent either way."""
    user = await repository.find_by_email(session, email)
    if user is None or not user.is_active:
        return
    now = rt.clock()
    token = new_secret(RESET_PREFIX)
    expires_at = now + timedelta(seconds=rt.settings.password_reset_ttl_seconds)
    await repository.add_reset(
        session,
        PasswordReset(
            id=uuid.uuid4(),
            user_id=user.id,
            token_hash=digest(token),
            created_at=now,
            expires_at=expires_at,
        ),
    )
    await outbox.publish(
        session,
        PasswordResetRequested,
        {
            "user_id": str(user.id),
            "email": user.email,
            "reset_token": token,
            "expires_at": expires_at,
        },
        subject=str(user.id),
    )
    await record(session, Action.password_reset_requested, at=now, client=client, user_id=user.id)


async def confirm_reset(
    session: AsyncSession, rt: AuthRuntime, token: str, new_password: str, client: ClientInfo
) -> None:
    now = rt.clock()
    reset = await repository.reset_by_hash(session, digest(token))
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        raise BadRequest("The reset token is invalid, expired or already used")
    user = await get_user(session, reset.user_id)
    check_password(rt, new_password, username=user.username, email=user.email)
    user.password_hash = await rt.hasher.hash(new_password)
    # Proving control of the mailbox ends an automatic lockout (not an administrator's lock).
    user.locked_until = None
    await rt.throttle.forget_account(str(user.id), client.ip)
    await repository.use_all_resets(session, user.id, now)
    cutoff = await sessions.revoke_all(session, rt, user.id, "password_reset")
    user.tokens_not_before = max(user.tokens_not_before, cutoff)
    await record(session, Action.password_reset, at=now, client=client, user_id=user.id)


@dataclass(frozen=True)
class TotpEnrollment:
    secret: str
    otpauth_uri: str


async def enroll_totp(session: AsyncSession, rt: AuthRuntime, user_id: uuid.UUID) -> TotpEnrollment:
    user = await get_user(session, user_id)
    if user.totp_enabled:
        raise Conflict("A TOTP second factor is already enabled; disable it first")
    secret = totp.new_secret()
    user.totp_secret_encrypted = rt.box.seal(totp_context(user.id), secret)
    user.totp_last_step = 0
    return TotpEnrollment(secret, totp.provisioning_uri(secret, user.email))


async def confirm_totp(
    session: AsyncSession, rt: AuthRuntime, user_id: uuid.UUID, code: str, client: ClientInfo
) -> None:
    user = await get_user(session, user_id)
    if user.totp_enabled:
        raise Conflict("A TOTP second factor is already enabled")
    if user.totp_secret_encrypted is None:
        raise Conflict("Start with POST /api/v1/auth/totp/enroll")
    _accept_code(rt, user, code)
    user.totp_enabled = True
    await record(session, Action.mfa_enabled, at=rt.clock(), client=client, user_id=user.id)


async def disable_totp(
    session: AsyncSession,
    rt: AuthRuntime,
    user_id: uuid.UUID,
    password: str,
    code: str,
    client: ClientInfo,
) -> None:
    user = await get_user(session, user_id)
    if not user.totp_enabled:
        raise Conflict("No TOTP second factor is enabled")
    if (
        user.password_hash is not None
        and not (await rt.hasher.verify(password, user.password_hash)).ok
    ):
        raise Unauthorized("The password is incorrect")
    _accept_code(rt, user, code)
    user.totp_enabled = False
    user.totp_secret_encrypted = None
    await record(session, Action.mfa_disabled, at=rt.clock(), client=client, user_id=user.id)


def _accept_code(rt: AuthRuntime, user: User, code: str) -> None:
    secret = rt.box.open(totp_context(user.id), user.totp_secret_encrypted or b"")
    step = totp.matching_step(secret, code, rt.clock(), user.totp_last_step)
    if step is None:
        raise BadRequest("The TOTP code is not valid", field="code")
    user.totp_last_step = step


# --- administration -------------------------------------------------------------------------


async def set_roles(
    session: AsyncSession,
    rt: AuthRuntime,
    actor: Actor,
    user_id: uuid.UUID,
    roles: list[str],
    client: ClientInfo,
) -> User:
    user = await get_user(session, user_id)
    if user.id == actor.user_id and "admin" not in roles:
        raise Conflict("You cannot remove your own admin role; ask another administrator")
    before = sorted(user.roles)
    user.roles = sorted(set(roles))
    user.updated_at = rt.clock()
    # Tokens carry roles: old tokens must not keep rights that were taken away.
    cutoff = await sessions.revoke_all(session, rt, user.id, "role_change")
    user.tokens_not_before = max(user.tokens_not_before, cutoff)
    await record(
        session,
        Action.role_change,
        at=rt.clock(),
        client=client,
        user_id=user.id,
        actor_id=actor.user_id,
        before=before,
        after=user.roles,
    )
    await _publish_updated(session, user)
    return user


async def lock(
    session: AsyncSession, rt: AuthRuntime, actor: Actor, user_id: uuid.UUID, client: ClientInfo
) -> User:
    user = await _other_user(session, actor, user_id, "lock")
    user.admin_locked = True
    cutoff = await sessions.revoke_all(session, rt, user.id, "locked")
    user.tokens_not_before = max(user.tokens_not_before, cutoff)
    await record(
        session,
        Action.user_locked,
        at=rt.clock(),
        client=client,
        user_id=user.id,
        actor_id=actor.user_id,
    )
    await _publish_updated(session, user)
    return user


async def unlock(
    session: AsyncSession, rt: AuthRuntime, actor: Actor, user_id: uuid.UUID, client: ClientInfo
) -> User:
    user = await get_user(session, user_id)
    user.admin_locked = False
    user.locked_until = None
    await rt.throttle.forget_account(str(user.id))
    await record(
        session,
        Action.user_unlocked,
        at=rt.clock(),
        client=client,
        user_id=user.id,
        actor_id=actor.user_id,
    )
    await _publish_updated(session, user)
    return user


async def set_active(
    session: AsyncSession,
    rt: AuthRuntime,
    actor: Actor,
    user_id: uuid.UUID,
    active: bool,
    client: ClientInfo,
) -> User:
    user = await _other_user(session, actor, user_id, "disable")
    if user.is_active == active:
        return user
    user.is_active = active
    user.updated_at = rt.clock()
    if not active:
        cutoff = await sessions.revoke_all(session, rt, user.id, "disabled")
        user.tokens_not_before = max(user.tokens_not_before, cutoff)
        await outbox.publish(session, UserDisabled, {"user_id": str(user.id)}, subject=str(user.id))
    action = Action.user_enabled if active else Action.user_disabled
    await record(
        session, action, at=rt.clock(), client=client, user_id=user.id, actor_id=actor.user_id
    )
    await _publish_updated(session, user)
    return user


async def _other_user(session: AsyncSession, actor: Actor, user_id: uuid.UUID, verb: str) -> User:
    if user_id == actor.user_id:
        raise Conflict(f"You cannot {verb} your own account")
    return await get_user(session, user_id)


def is_locked_now(user: User, now: datetime) -> bool:
    return sessions.is_locked(user, now)


async def reseal_totp_secrets(session: AsyncSession, box: SecretBox) -> int:
    """Rewrite TOTP secrets still in the legacy (Fernet) format in the common one; how many.

    Idempotent: a secret already in the common format is left as it is."""
    resealed = 0
    for user in await repository.users_with_totp_secret(session):
        sealed = user.totp_secret_encrypted or b""
        if is_legacy(sealed):
            context = totp_context(user.id)
            user.totp_secret_encrypted = box.seal(context, box.open(context, sealed))
            resealed += 1
    await session.flush()
    return resealed
