"""API models of API keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from swe_common.rate_budgets import Budget
from swe_common.security import SCOPE_FAMILIES
from swe_common.types import NulFree, RequestModel


def _known_family(scope: str) -> str:
    # A typo ("project:read") would make a key that silently opens nothing.
    if scope.partition(":")[0] not in SCOPE_FAMILIES:
        raise ValueError(f"unknown scope family; use one of {', '.join(SCOPE_FAMILIES)}")
    return scope


Scope = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z_]{0,30}:(read|write|admin)$", max_length=42),
    Field(description="<resource>:<read|write|admin>, e.g. projects:read"),
    AfterValidator(_known_family),
]

PresentedKey = Annotated[str, StringConstraints(min_length=1, max_length=200), NulFree()]


class ApiKeyCreate(RequestModel):
    name: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NulFree()
    ]
    scopes: list[Scope] = Field(default_factory=list, max_length=50)
    expires_at: datetime | None = Field(default=None, description="ISO 8601 with a time zone")
    rate_limits: Budget | None = Field(
        default=None,
        description="The key's own request budget at the gateway, per window, e.g. "
        '{"minute": 30, "hour": 500}; none above its owner\'s (422). Default: the owner\'s '
        "role budget, counted for this key alone.",
        examples=[{"minute": 30, "hour": 500}],
    )


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    rate_limits: dict[str, int] | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The full key; shown only now, store it safely")


class ExchangeRequest(RequestModel):
    api_key: PresentedKey


class ExchangeResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int
