"""API models of accounts, passwords, TOTP and user administration."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, Field, StringConstraints

from swe_common.security import ROLES
from swe_common.types import NulFree, RequestModel

Username = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,38}$", max_length=39),
    Field(description="3-39 letters, digits, '_', '.', '-'; starts with a letter or digit"),
]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), NulFree()]
# Long enough for any policy; the policy itself says what is too short or too long.
Password = Annotated[str, StringConstraints(min_length=1, max_length=1024), NulFree()]
Role = Literal["admin", "user", "agent", "readonly"]
assert set(Role.__args__) == set(ROLES)  # type: ignore[attr-defined]


class RegisterRequest(RequestModel):
    # Unknown fields (roles, id, is_active...) are refused, not silently applied.

    email: EmailStr
    username: Username
    password: Password
    full_name: FullName = ""


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    username: str
    full_name: str
    roles: list[str]
    is_active: bool
    email_verified: bool = Field(
        description="The owner followed the verification link mailed to this address"
    )
    totp_enabled: bool
    github_linked: bool
    created_at: datetime
    last_login_at: datetime | None


class AdminUserOut(UserOut):
    locked: bool
    admin_locked: bool
    locked_until: datetime | None


class ProfileUpdate(RequestModel):
    full_name: FullName | None = None
    email: EmailStr | None = None
    current_password: Password | None = Field(
        default=None, description="Required when email changes (the reset address)"
    )


class ChangePasswordRequest(RequestModel):
    current_password: Password
    new_password: Password
    cookie: bool = Field(
        default=False,
        description="Browser mode: this session's new refresh token goes in the swe_refresh "
        "cookie (the change rotates it) and the body's refresh_token is null",
    )


class ResetRequest(RequestModel):
    email: EmailStr


class ResetConfirm(RequestModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=256), NulFree()]
    new_password: Password


class VerificationConfirm(RequestModel):
    token: Annotated[str, StringConstraints(min_length=1, max_length=256), NulFree()]


class Accepted(BaseModel):
    detail: str


class TotpEnrollOut(BaseModel):
    secret: str = Field(description="Base32 secret; shown once")
    otpauth_uri: str


class TotpCode(RequestModel):
    code: Annotated[str, StringConstraints(min_length=6, max_length=10), NulFree()]


class TotpDisable(TotpCode):
    password: Annotated[str, StringConstraints(max_length=1024), NulFree()] = ""


class RolesUpdate(RequestModel):
    roles: list[Role] = Field(min_length=1, max_length=4)
