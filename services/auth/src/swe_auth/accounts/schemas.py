"""API models of accounts, passwords, TOTP and user administration."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from swe_common.security import ROLES

Username = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,38}$"),
    Field(description="3-39 letters, digits, '_', '.', '-'; starts with a letter or digit"),
]
FullName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
# Long enough for any policy; the policy itself says what is too short or too long.
Password = Annotated[str, Field(min_length=1, max_length=1024)]
Role = Literal["admin", "user", "agent", "readonly"]
assert set(Role.__args__) == set(ROLES)  # type: ignore[attr-defined]


class RegisterRequest(BaseModel):
    # Unknown fields (roles, id, is_active...) are refused, not silently applied.
    model_config = ConfigDict(extra="forbid")

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
    totp_enabled: bool
    github_linked: bool
    created_at: datetime
    last_login_at: datetime | None


class AdminUserOut(UserOut):
    locked: bool
    admin_locked: bool
    locked_until: datetime | None


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: FullName | None = None
    email: EmailStr | None = None
    current_password: Password | None = Field(
        default=None, description="Required when email changes (the reset address)"
    )


class ChangePasswordRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Password
    new_password: Password


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr


class ResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=256)
    new_password: Password


class Accepted(BaseModel):
    detail: str


class TotpEnrollOut(BaseModel):
    secret: str = Field(description="Base32 secret; shown once")
    otpauth_uri: str


class TotpCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=6, max_length=10)


class TotpDisable(TotpCode):
    password: str = Field(default="", max_length=1024)


class RolesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Role] = Field(min_length=1, max_length=4)
