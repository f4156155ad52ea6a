"""API models of login, tokens and sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from swe_auth.sessions.service import TokenPair
from swe_common.types import NulFree, RequestModel

Login = Annotated[str, StringConstraints(min_length=1, max_length=320), NulFree()]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024), NulFree()]
TotpCode = Annotated[str, StringConstraints(max_length=16), NulFree()]
RefreshToken = Annotated[str, StringConstraints(min_length=1, max_length=512), NulFree()]


class LoginRequest(RequestModel):
    username: Login = Field(description="Username or email")
    password: Password
    totp_code: TotpCode | None = None
    cookie: bool = Field(
        default=False,
        description="Browser mode: the refresh token goes in the HttpOnly swe_refresh cookie "
        "(with a swe_csrf double-submit cookie) and the body's refresh_token is null",
    )


class RefreshRequest(RequestModel):
    refresh_token: RefreshToken | None = Field(
        default=None,
        description="JSON mode; leave it out to refresh with the swe_refresh cookie instead",
    )


class LogoutRequest(RequestModel):
    refresh_token: Annotated[str, StringConstraints(max_length=512), NulFree()] | None = None


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str | None = Field(
        description="The new refresh token; null in cookie mode (it is in the swe_refresh cookie)"
    )
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires unused")

    @classmethod
    def of(cls, pair: TokenPair, *, cookie: bool = False) -> TokenResponse:
        return cls(
            access_token=pair.access_token,
            refresh_token=None if cookie else pair.refresh_token,
            expires_in=pair.expires_in,
            refresh_expires_in=pair.refresh_expires_in,
        )


class SessionOut(BaseModel):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    user_agent: str
    ip: str
    current: bool
