"""Registration, the caller's own account, passwords and TOTP."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from swe_auth.accounts import service, verification
from swe_auth.accounts.schemas import (
    Accepted,
    ChangePasswordRequest,
    ProfileUpdate,
    RegisterRequest,
    ResetConfirm,
    ResetRequest,
    TotpCode,
    TotpDisable,
    TotpEnrollOut,
    UserOut,
    VerificationConfirm,
)
from swe_auth.deps import ActorDep, ClientDep, RuntimeDep
from swe_auth.models import User
from swe_auth.sessions import cookies
from swe_auth.sessions.schemas import TokenResponse
from swe_common.deps import SessionDep
from swe_common.security import api_key_scope

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"], dependencies=[api_key_scope(None)])
RESET_ACCEPTED = "If the address belongs to an account, a reset token has been sent to it."


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        username=user.username,
        full_name=user.full_name,
        roles=list(user.roles),
        is_active=user.is_active,
        email_verified=user.email_verified_at is not None,
        totp_enabled=user.totp_enabled,
        github_linked=user.github_id is not None,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    summary="Create an account",
    description="The answer is the same whether or not the address already has an account "
    "(its owner is mailed instead); a verification link is mailed to a new address.",
)
async def register(
    body: RegisterRequest, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> UserOut:
    await runtime.limiter.hit("register", client.ip, runtime.settings.login_rate_limit_per_minute)
    new = service.NewUser(
        email=str(body.email),
        username=body.username,
        password=body.password,
        full_name=body.full_name,
    )
    return user_out(await service.self_register(session, runtime, new, client))


@router.get("/me", response_model=UserOut, summary="My account")
async def me(actor: ActorDep, session: SessionDep) -> UserOut:
    return user_out(await service.get_user(session, actor.user_id))


@router.patch("/me", response_model=UserOut, summary="Change my profile")
async def update_me(
    body: ProfileUpdate,
    actor: ActorDep,
    session: SessionDep,
    runtime: RuntimeDep,
    client: ClientDep,
) -> UserOut:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    user = await service.update_profile(session, runtime, actor.user_id, changes, client)
    return user_out(user)


@router.post("/change-password", response_model=TokenResponse, summary="Change my password")
async def change_password(
    body: ChangePasswordRequest,
    response: Response,
    actor: ActorDep,
    session: SessionDep,
    runtime: RuntimeDep,
    client: ClientDep,
) -> TokenResponse:
    pair = await service.change_password(
        session, runtime, actor, body.current_password, body.new_password, client
    )
    if body.cookie:
        cookies.set_session_cookies(response, pair.refresh_token, pair.refresh_expires_in)
    return TokenResponse.of(pair, cookie=body.cookie)


@router.post(
    "/password-reset/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Ask for a reset token (same answer whether or not the address is known)",
)
async def request_reset(
    body: ResetRequest, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> Accepted:
    await runtime.limiter.hit("reset", client.ip, runtime.settings.login_rate_limit_per_minute)
    await service.request_reset(session, runtime, str(body.email), client)
    return Accepted(detail=RESET_ACCEPTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with a reset token",
)
async def confirm_reset(
    body: ResetConfirm, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> None:
    await runtime.limiter.hit("reset", client.ip, runtime.settings.login_rate_limit_per_minute)
    await service.confirm_reset(session, runtime, body.token, body.new_password, client)


@router.post(
    "/email-verification/request",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Mail my address a new verification link",
)
async def request_verification(
    actor: ActorDep, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> Accepted:
    await verification.resend(session, runtime, actor.user_id, client)
    return Accepted(detail="A verification link has been sent to your address.")


@router.post(
    "/email-verification/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Verify an address with the token of the mailed link",
)
async def confirm_verification(
    body: VerificationConfirm, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> None:
    await runtime.limiter.hit("verify", client.ip, runtime.settings.login_rate_limit_per_minute)
    await verification.confirm(session, runtime, body.token, client)


@router.post("/totp/enroll", response_model=TotpEnrollOut, summary="Start TOTP enrolment")
async def enroll_totp(actor: ActorDep, session: SessionDep, runtime: RuntimeDep) -> TotpEnrollOut:
    enrollment = await service.enroll_totp(session, runtime, actor.user_id)
    return TotpEnrollOut(secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri)


@router.post(
    "/totp/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Confirm TOTP with a first code",
)
async def confirm_totp(
    body: TotpCode, actor: ActorDep, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> None:
    await service.confirm_totp(session, runtime, actor.user_id, body.code, client)


@router.post("/totp/disable", status_code=status.HTTP_204_NO_CONTENT, summary="Turn TOTP off")
async def disable_totp(
    body: TotpDisable, actor: ActorDep, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> None:
    await service.disable_totp(session, runtime, actor.user_id, body.password, body.code, client)
