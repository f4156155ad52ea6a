"""Minting access tokens in the shape every verifier (swe_common.security) expects."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swe_auth.clock import Clock, epoch
from swe_auth.keys.service import KeyRing
from swe_auth.settings import Settings
from swe_common.rate_budgets import KEY_BUDGET_CLAIM


@dataclass(frozen=True)
class AccessToken:
    token: str
    jti: str
    expires_in: int
    expires_at: int


class TokenIssuer:
    def __init__(self, keyring: KeyRing, settings: Settings, clock: Clock) -> None:
        self.keyring = keyring
        self.settings = settings
        self.clock = clock

    async def issue(
        self,
        *,
        subject: uuid.UUID,
        roles: list[str],
        not_before: int = 0,
        scopes: list[str] | None = None,
        session_id: uuid.UUID | None = None,
        api_key_id: uuid.UUID | None = None,
        ttl_seconds: int | None = None,
        rate_limits: Mapping[str, int] | None = None,
        username: str | None = None,
        full_name: str | None = None,
    ) -> AccessToken:
        ttl = ttl_seconds or self.settings.access_token_ttl_seconds
        # A token minted in the same second as a "revoke everything" cutoff must survive it:
        # verifiers reject iat < cutoff, so iat never precedes the user's cutoff.
        issued_at = max(epoch(self.clock()), not_before)
        jti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "sub": str(subject),
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + ttl,
            "jti": jti,
            "roles": list(roles),
            "scope": " ".join(scopes or []),
        }
        if username:
            # Who the account is, for what services record about a caller's writing (a
            # comment's author) without asking auth: the OIDC names, never the e-mail.
            claims["preferred_username"] = username
            claims["name"] = full_name or username
        if session_id is not None:
            claims["sid"] = str(session_id)
        if api_key_id is not None:
            claims["api_key_id"] = str(api_key_id)
        if rate_limits:
            claims[KEY_BUDGET_CLAIM] = dict(rate_limits)  # the gateway counts the key by it
        token = await self.keyring.sign(claims)
        return AccessToken(token, jti, ttl, issued_at + ttl)
