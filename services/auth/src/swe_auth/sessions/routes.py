"""Login, token refresh, logout and the caller's sessions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Form, Request, Response, status

from swe_auth.deps import ActorDep, ClientDep, OAuth2Doc, RuntimeDep, parse_uuid
from swe_auth.sessions import cookies, service
from swe_auth.sessions.schemas import (
    Login,
    LoginRequest,
    LogoutRequest,
    Password,
    RefreshRequest,
    SessionOut,
    TokenResponse,
    TotpCode,
)
from swe_common.deps import SessionDep
from swe_common.errors import Unauthorized
from swe_common.security import CurrentPrincipal, api_key_scope

router = APIRouter(prefix="/api/v1/auth", tags=["sessions"], dependencies=[api_key_scope(None)])
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Invalid credentials (one answer for every cause)"}
}


@router.post(
    "/token",
    response_model=TokenResponse,
    responses=UNAUTHORIZED,
    summary="OAuth2 password grant (form)",
)
async def token(
    runtime: RuntimeDep,
    client: ClientDep,
    username: Annotated[Login, Form()],
    password: Annotated[Password, Form()],
    totp_code: Annotated[TotpCode | None, Form()] = None,
) -> TokenResponse:
    pair = await service.login(runtime, username, password, totp_code, client)
    return TokenResponse.of(pair)


@router.post(
    "/login", response_model=TokenResponse, responses=UNAUTHORIZED, summary="Sign in (JSON)"
)
async def login(
    body: LoginRequest, response: Response, runtime: RuntimeDep, client: ClientDep
) -> TokenResponse:
    pair = await service.login(runtime, body.username, body.password, body.totp_code, client)
    if body.cookie:
        cookies.set_session_cookies(response, pair.refresh_token, pair.refresh_expires_in)
    return TokenResponse.of(pair, cookie=body.cookie)


@router.post(
    "/refresh",
    response_model=TokenResponse,
    responses=UNAUTHORIZED,
    summary="Rotate a refresh token",
)
async def refresh(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    client: ClientDep,
    body: Annotated[RefreshRequest | None, Body()] = None,
) -> TokenResponse:
    if body is not None and body.refresh_token is not None:
        return TokenResponse.of(await service.refresh(runtime, body.refresh_token, client))
    # Cookie mode: no token in the body; the cookie plus the CSRF header instead.
    pair = await service.refresh(runtime, cookies.require_refresh_cookie(request), client)
    cookies.set_session_cookies(response, pair.refresh_token, pair.refresh_expires_in)
    return TokenResponse.of(pair, cookie=True)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke this access token and its session",
)
async def logout(
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    _doc: OAuth2Doc,
    session: SessionDep,
    runtime: RuntimeDep,
    client: ClientDep,
    body: Annotated[LogoutRequest | None, Body()] = None,
) -> None:
    user_id = principal.user_id
    if user_id is None:
        raise Unauthorized("The access token does not name a user")
    refresh_token = body.refresh_token if body else None
    cookie_token = cookies.refresh_cookie(request) if refresh_token is None else None
    if cookie_token is not None:
        cookies.check_csrf(request, cookie_token)
        cookies.clear_session_cookies(response)
    await service.logout(
        session,
        runtime,
        user_id=user_id,
        jti=principal.token_id,
        expires_at=principal.expires_at,
        session_id=parse_uuid(principal.claims.get("sid")),
        refresh_token=refresh_token or cookie_token,
        client=client,
    )


@router.get("/sessions", response_model=list[SessionOut], summary="My sessions")
async def list_sessions(
    actor: ActorDep, session: SessionDep, runtime: RuntimeDep
) -> list[SessionOut]:
    families = await service.list_sessions(session, runtime, actor.user_id)
    return [
        SessionOut(
            id=f.id,
            created_at=f.created_at,
            last_used_at=f.last_used_at,
            user_agent=f.user_agent,
            ip=f.ip,
            current=f.id == actor.session_id,
        )
        for f in families
    ]


@router.delete(
    "/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke one session"
)
async def revoke_session(
    session_id: uuid.UUID,
    actor: ActorDep,
    session: SessionDep,
    runtime: RuntimeDep,
    client: ClientDep,
) -> None:
    await service.revoke_session(session, runtime, actor, session_id, client)


@router.delete("/sessions", status_code=status.HTTP_204_NO_CONTENT, summary="Log out everywhere")
async def revoke_all_sessions(
    actor: ActorDep, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> None:
    await service.revoke_every_session(session, runtime, actor, client)
