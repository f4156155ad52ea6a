"""API models of login, tokens and sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from swe_auth.sessions.service import TokenPair


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=320, description="Username or email")
    password: str = Field(min_length=1, max_length=1024)
    totp_code: str | None = Field(default=None, max_length=16)
    cookie: bool = Field(
        default=False,
        description="Browser mode: the refresh token goes in the HttpOnly swe_refresh cookie "
        "(with a swe_csrf double-submit cookie) and the body's refresh_token is null",
    )


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="JSON mode; leave it out to refresh with the swe_refresh cookie instead",
    )


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str | None = Field(default=None, max_length=512)


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
