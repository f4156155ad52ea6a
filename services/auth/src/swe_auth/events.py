"""Events auth publishes (payloads as agreed in docs/event-contracts.md) and its outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from swe_auth.models import event_tables
from swe_common.events import EventCatalog, Outbox

catalog = EventCatalog("auth")
outbox = Outbox(event_tables, source="/swe/auth")


class UserRegisteredPayload(BaseModel):
    user_id: str
    email: str
    username: str
    full_name: str
    roles: list[str]
    created_at: datetime


class UserUpdatedPayload(BaseModel):
    user_id: str
    email: str
    username: str
    full_name: str
    roles: list[str]
    is_active: bool


class UserDisabledPayload(BaseModel):
    user_id: str


class TokenRevokedPayload(BaseModel):
    user_id: str
    jti: str | None = None
    family_id: str | None = None
    reason: str


class PasswordResetRequestedPayload(BaseModel):
    user_id: str
    email: str
    reset_token: str = Field(description="The single-use reset token; only this event carries it")
    expires_at: datetime


class EmailVerificationRequestedPayload(BaseModel):
    user_id: str
    email: str = Field(description="The address to verify (where the link goes)")
    verification_token: str = Field(
        description="The single-use verification token; only this event carries it"
    )
    expires_at: datetime
    reason: Literal["registration", "email_change", "resend"]


class RegistrationAttemptedPayload(BaseModel):
    user_id: str = Field(description="The account that already has the address")
    email: str
    at: datetime


class AuditRecordedPayload(BaseModel):
    id: str
    action: str
    outcome: str
    user_id: str | None
    actor_id: str | None
    ip: str
    user_agent: str
    at: datetime
    details: dict[str, Any]


UserRegistered = catalog.define(
    "auth.user.registered", UserRegisteredPayload, "A user account was created"
)
UserUpdated = catalog.define(
    "auth.user.updated", UserUpdatedPayload, "A user's profile, roles or status changed"
)
UserDisabled = catalog.define(
    "auth.user.disabled", UserDisabledPayload, "An administrator disabled a user account"
)
TokenRevoked = catalog.define(
    "auth.token.revoked",
    TokenRevokedPayload,
    "An access token (jti) or a session (refresh family) was revoked; jti null with family_id "
    "null means every token of the user issued before now",
)
PasswordResetRequested = catalog.define(
    "auth.password_reset.requested",
    PasswordResetRequestedPayload,
    "A user asked to reset their password; a mailer delivers the token",
)
EmailVerificationRequested = catalog.define(
    "auth.email_verification.requested",
    EmailVerificationRequestedPayload,
    "An address needs verifying (registration, e-mail change, resend); a mailer delivers the link",
)
RegistrationAttempted = catalog.define(
    "auth.registration.attempted",
    RegistrationAttemptedPayload,
    "Someone tried to register with an address that already has an account (the answer did not "
    "say so); a mailer tells the owner",
)
AuditRecorded = catalog.define(
    "auth.audit.recorded", AuditRecordedPayload, "A security-relevant action was audited"
)
