"""GitHub OAuth login: a redirect with a state bound to the browser, and the callback."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Cookie, Query, Response
from fastapi.responses import RedirectResponse
from redis.exceptions import RedisError

from swe_auth.crypto import digest
from swe_auth.deps import ClientDep, RuntimeDep
from swe_auth.github import service
from swe_auth.github.client import GitHubClient
from swe_auth.runtime import AuthRuntime
from swe_auth.sessions import cookies
from swe_auth.sessions.schemas import TokenResponse
from swe_common.deps import SessionDep
from swe_common.errors import BadRequest, NotFound
from swe_common.security import api_key_scope
from swe_common.types import Name

log = structlog.stdlib.get_logger(__name__)
router = APIRouter(
    prefix="/api/v1/auth/github", tags=["github"], dependencies=[api_key_scope(None)]
)
STATE_COOKIE = "swe_github_state"
STATE_TTL_SECONDS = 600
# A browser flow (mode=cookie) marks its state: the state is bound to the browser's cookie and
# comes back from GitHub unchanged, so the mark survives the round trip and cannot be altered.
COOKIE_MODE_MARK = "cookie."
# Where the browser lands after a cookie-mode sign-in: the console's root on this same origin.
BROWSER_LANDING = "/"


def _client(runtime: AuthRuntime) -> GitHubClient:
    if not runtime.settings.github_enabled:
        raise NotFound("GitHub login is not configured on this server")
    return GitHubClient(runtime.settings)


def _state_key(runtime: AuthRuntime, state: str) -> str:
    return f"{runtime.settings.redis_key_prefix}swe:auth:github-state:{digest(state)}"


@router.get("/login", status_code=302, summary="Redirect to GitHub to sign in")
async def github_login(
    runtime: RuntimeDep,
    mode: Annotated[
        Literal["json", "cookie"],
        Query(description="cookie: the callback sets the session cookies and redirects to /"),
    ] = "json",
) -> RedirectResponse:
    github = _client(runtime)
    state = secrets.token_urlsafe(32)
    if mode == "cookie":
        state = COOKIE_MODE_MARK + state
    try:
        await runtime.redis.set(_state_key(runtime, state), "1", ex=STATE_TTL_SECONDS)
    except (RedisError, OSError) as exc:
        log.warning("github_state_store_failed", error=type(exc).__name__)
    response = RedirectResponse(github.authorize_url(state), status_code=302)
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=STATE_TTL_SECONDS,
        path="/api/v1/auth/github",
        httponly=True,
        secure=runtime.settings.is_production,
        samesite="lax",
    )
    return response


@router.get(
    "/callback",
    response_model=TokenResponse,
    responses={302: {"description": "Browser mode: session cookies set, redirect to /"}},
    summary="GitHub's redirect back: sign in",
)
async def github_callback(
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    client: ClientDep,
    code: Annotated[Name | None, Query()] = None,
    state: Annotated[Name | None, Query()] = None,
    error: Annotated[Name | None, Query()] = None,
    cookie_state: Annotated[Name | None, Cookie(alias=STATE_COOKIE)] = None,
) -> TokenResponse | RedirectResponse:
    github = _client(runtime)
    if error:
        raise BadRequest(f"GitHub sign-in was not completed: {error}")
    if not code or not state:
        raise BadRequest("The callback needs the code and state GitHub sends")
    # The state must come back to the browser that started the flow, and only once.
    # Compared as bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
    if not cookie_state or not hmac.compare_digest(cookie_state.encode(), state.encode()):
        raise BadRequest("The sign-in state does not match this browser; start again")
    await _consume_state(runtime, state)
    response.delete_cookie(STATE_COOKIE, path="/api/v1/auth/github")
    identity = await github.identity(code)
    pair = await service.sign_in(session, runtime, identity, client)
    if not state.startswith(COOKIE_MODE_MARK):
        return TokenResponse.of(pair)
    redirect = RedirectResponse(BROWSER_LANDING, status_code=302)
    redirect.delete_cookie(STATE_COOKIE, path="/api/v1/auth/github")
    cookies.set_session_cookies(redirect, pair.refresh_token, pair.refresh_expires_in)
    return redirect


async def _consume_state(runtime: AuthRuntime, state: str) -> None:
    try:
        found = await runtime.redis.getdel(_state_key(runtime, state))
    except (RedisError, OSError) as exc:
        # The cookie already binds the state to the browser; single use is the extra guard.
        log.warning("github_state_check_failed", error=type(exc).__name__)
        return
    if found is None:
        raise BadRequest("The sign-in state has expired or was already used; start again")
