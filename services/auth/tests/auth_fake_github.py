"""A stand-in for github.com and api.github.com speaking their real wire format.

OAuth web flow: ``GET /login/oauth/authorize`` (the user approves at once and is redirected
back with ``code`` and ``state``), ``POST /login/oauth/access_token`` (JSON with
``Accept: application/json``, else form-encoded; a bad code is a 200 with an ``error``, as on
GitHub). REST: ``GET /user`` and ``GET /user/emails`` with a bearer token.
"""

from __future__ import annotations

import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from swe_common.testing import served


@dataclass
class GitHubUser:
    id: int
    login: str
    name: str
    emails: list[dict[str, Any]] = field(default_factory=list)


class FakeGitHub:
    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.next_user: GitHubUser | None = None
        self._codes: dict[str, GitHubUser] = {}
        self._tokens: dict[str, GitHubUser] = {}
        self.token_requests: list[dict[str, str]] = []
        self._server = AsyncExitStack()
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/login/oauth/authorize", self.authorize)
        app.router.add_post("/login/oauth/access_token", self.access_token)
        app.router.add_get("/user", self.user)
        app.router.add_get("/user/emails", self.emails)
        self.url = await self._server.enter_async_context(served(app))

    async def stop(self) -> None:
        await self._server.aclose()

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != self.client_id or self.next_user is None:
            return web.Response(status=404, text="Not Found")
        code = secrets.token_hex(10)
        self._codes[code] = self.next_user
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        raise web.HTTPFound(target)

    async def access_token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        self.token_requests.append({k: str(v) for k, v in form.items()})
        user = self._codes.pop(str(form.get("code", "")), None)
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            answer = {
                "error": "incorrect_client_credentials",
                "error_description": "The client_id and/or client_secret passed are incorrect.",
                "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials",
            }
        elif user is None:
            answer = {
                "error": "bad_verification_code",
                "error_description": "The code passed is incorrect or expired.",
                "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
            }
        else:
            token = "gho_" + secrets.token_hex(18)
            self._tokens[token] = user
            answer = {
                "access_token": token,
                "token_type": "bearer",
                "scope": "read:user,user:email",
            }
        if "application/json" in request.headers.get("Accept", ""):
            return web.json_response(answer)
        return web.Response(
            text=urlencode(answer), content_type="application/x-www-form-urlencoded"
        )

    def _user_for(self, request: web.Request) -> GitHubUser:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = self._tokens.get(token) if scheme.lower() in ("bearer", "token") else None
        if user is None:
            raise web.HTTPUnauthorized(
                text='{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}',
                content_type="application/json",
            )
        return user

    async def user(self, request: web.Request) -> web.Response:
        user = self._user_for(request)
        primary = next((e["email"] for e in user.emails if e.get("primary")), None)
        return web.json_response(
            {
                "login": user.login,
                "id": user.id,
                "node_id": f"MDQ6VXNlcj{user.id}",
                "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
                "html_url": f"https://github.com/{user.login}",
                "type": "User",
                "site_admin": False,
                "name": user.name,
                "company": None,
                "blog": "",
                "location": None,
                "email": primary,
                "hireable": None,
                "bio": None,
                "public_repos": 3,
                "followers": 0,
                "following": 0,
                "created_at": "2020-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
            }
        )

    async def emails(self, request: web.Request) -> web.Response:
        user = self._user_for(request)
        return web.json_response(
            [
                {
                    "email": e["email"],
                    "primary": bool(e.get("primary")),
                    "verified": bool(e.get("verified")),
                    "visibility": "public" if e.get("primary") else None,
                }
                for e in user.emails
            ]
        )
