"""GitHub's OAuth web flow and REST user endpoints, as GitHub speaks them.

``POST {base}/login/oauth/access_token`` answers 200 even for a bad code (with an ``error``
field), as JSON when asked with ``Accept: application/json`` and form-encoded otherwise; both
are understood. The user comes from ``GET {api}/user`` and ``GET {api}/user/emails``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp

from swe_auth.settings import Settings
from swe_common.errors import ServiceUnavailable, Unauthorized

SCOPES = "read:user user:email"
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


@dataclass(frozen=True)
class GitHubIdentity:
    id: int
    login: str
    name: str
    verified_emails: list[str]
    primary_email: str | None


class GitHubClient:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base = settings.github_base_url.rstrip("/")
        self.api = settings.github_api_url.rstrip("/")

    def authorize_url(self, state: str) -> str:
        query = urlencode(
            {
                "client_id": self.settings.github_client_id,
                "redirect_uri": self.settings.github_redirect_uri,
                "scope": SCOPES,
                "state": state,
                "allow_signup": "true",
            }
        )
        return f"{self.base}/login/oauth/authorize?{query}"

    async def identity(self, code: str) -> GitHubIdentity:
        timeout = aiohttp.ClientTimeout(total=self.settings.github_timeout_seconds)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                token = await self._exchange(http, code)
                user = await self._get(http, "/user", token)
                emails = await self._get(http, "/user/emails", token)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ServiceUnavailable(
                "GitHub could not be reached; try again shortly", reason=type(exc).__name__
            ) from None
        return _identity(user, emails)

    async def _exchange(self, http: aiohttp.ClientSession, code: str) -> str:
        form = {
            "client_id": self.settings.github_client_id,
            "client_secret": self.settings.github_client_secret.get_secret_value(),
            "code": code,
            "redirect_uri": self.settings.github_redirect_uri,
        }
        async with http.post(
            f"{self.base}/login/oauth/access_token",
            data=form,
            headers={"Accept": "application/json"},
        ) as response:
            response.raise_for_status()
            text = await response.text()
            if response.content_type == "application/json":
                answer = await response.json()
            else:
                answer = dict(parse_qsl(text))
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise Unauthorized("GitHub did not accept the authorization code; sign in again")
        return token

    async def _get(self, http: aiohttp.ClientSession, path: str, token: str) -> Any:
        headers = {**API_HEADERS, "Authorization": f"Bearer {token}"}
        async with http.get(f"{self.api}{path}", headers=headers) as response:
            if response.status == 401:
                raise Unauthorized("GitHub refused the access token; sign in again")
            response.raise_for_status()
            return await response.json()


def _identity(user: Any, emails: Any) -> GitHubIdentity:
    if not isinstance(user, dict) or not isinstance(user.get("id"), int) or not user.get("login"):
        raise ValueError("unexpected /user answer")
    rows = emails if isinstance(emails, list) else []
    verified = [
        e["email"] for e in rows if isinstance(e, dict) and e.get("verified") and e.get("email")
    ]
    primary = next(
        (
            e["email"]
            for e in rows
            if isinstance(e, dict) and e.get("primary") and e.get("verified")
        ),
        None,
    )
    return GitHubIdentity(
        id=user["id"],
        login=str(user["login"]),
        name=str(user.get("name") or ""),
        verified_emails=verified,
        primary_email=primary,
    )
