"""Authentication at the edge: bearer tokens verified locally, API keys exchanged with auth.

Verified tokens are cached (never past their ``exp``), and a cached token's revocation is
re-checked against the Redis denylist at most ``revocation_recheck_seconds`` apart, so a
revoked token stops passing within about a second while the hot path stays a dict lookup
(``swe_common.security.CachingTokenVerifier``, the one every service verifies through).
API keys are exchanged once with the auth service and the access token cached, keyed by a
hash of the key (the key itself is never stored or logged).
"""

from __future__ import annotations

import hashlib
import time

import aiohttp
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from swe_common.rate_budgets import strongest_role
from swe_common.security import (
    CachingTokenVerifier,
    InvalidToken,
    JWKSClient,
    KeySource,
    Principal,
    TokenVerifier,
    redis_revocation_check,
)
from swe_gateway.settings import RedisFailurePolicy, Settings
from swe_gateway.single_flight import SingleFlight
from swe_gateway.upstreams import ServicePool

log = structlog.stdlib.get_logger(__name__)

EXCHANGE_PATH = "api/v1/auth/api-keys/exchange"


class CredentialsUnavailable(Exception):
    """Credentials could not be checked (auth or Redis down): answer 503, not 401."""


class EdgeAuth:
    def __init__(
        self,
        settings: Settings,
        redis: aioredis.Redis,
        auth_pool: ServicePool | None,
        session: aiohttp.ClientSession,
        keys: KeySource | None = None,
    ) -> None:
        self.settings = settings
        self.jwks = keys or JWKSClient(settings.jwks_url)
        # Raises on a Redis error; ``is_revoked`` applies the failure policy on top.
        self.check_revoked = redis_revocation_check(redis)
        self.verifier = TokenVerifier(
            self.jwks,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            is_revoked=self.is_revoked,
        )
        # Verified tokens kept for their lifetime, their revocation re-checked at most
        # revocation_recheck_seconds apart (a failed re-check raises CredentialsUnavailable).
        self.tokens = CachingTokenVerifier(
            self.verifier,
            size=settings.token_cache_size,
            recheck_seconds=settings.revocation_recheck_seconds,
        )
        self.auth_pool = auth_pool
        self._api_keys: dict[str, tuple[str, float]] = {}
        self._exchanges: SingleFlight[str] = SingleFlight()
        self.session = session  # the API-key exchange with auth

    async def is_revoked(self, principal: Principal) -> bool:
        try:
            return await self.check_revoked(principal)
        except (RedisError, OSError, TimeoutError) as exc:
            if self.settings.redis_failure_policy is RedisFailurePolicy.closed:
                raise CredentialsUnavailable("the revocation list is unreachable") from exc
            # Fail-open: the signature and expiry still hold; only a fresh revocation is missed.
            log.warning("revocation_check_unavailable", error=type(exc).__name__)
            return False

    async def authenticate(self, token: str) -> Principal:
        """The token's principal, or InvalidToken / CredentialsUnavailable."""
        return await self.tokens.verify(token)

    async def exchange_api_key(self, secret: str) -> str:
        """An access token for the API key, from cache or from the auth service."""
        digest = hashlib.sha256(secret.encode()).hexdigest()
        cached = self._api_keys.get(digest)
        if cached is not None and time.monotonic() < cached[1]:
            return cached[0]
        # Concurrent requests with the same new key share one exchange.
        return await self._exchanges.run(digest, lambda: self._exchange(secret, digest))

    async def _exchange(self, secret: str, digest: str) -> str:
        instance = self.auth_pool.pick() if self.auth_pool is not None else None
        if instance is None:
            raise CredentialsUnavailable("no auth instance to exchange the API key with")
        timeout = aiohttp.ClientTimeout(total=5)
        try:
            async with self.session.post(
                instance.base / EXCHANGE_PATH, headers={"X-API-Key": secret}, timeout=timeout
            ) as response:
                # 422: auth refused the key's shape (too long, a NUL): a bad key, not an outage.
                if response.status in (400, 401, 403, 404, 422):
                    raise InvalidToken("API key rejected by auth")
                if response.status != 200:
                    raise CredentialsUnavailable(f"auth answered {response.status}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise CredentialsUnavailable(f"API key exchange failed: {type(exc).__name__}") from exc
        token, expires_in = body.get("access_token"), body.get("expires_in")
        if not isinstance(token, str) or not isinstance(expires_in, int | float):
            raise CredentialsUnavailable("auth answered an unexpected exchange body")
        margin = min(self.settings.api_key_refresh_margin_seconds, expires_in / 2)
        self._api_keys[digest] = (token, time.monotonic() + expires_in - margin)
        return token


def rate_identity(principal: Principal) -> str:
    if principal.api_key_id:
        return f"key:{principal.api_key_id}"
    return f"user:{principal.subject}"


def role_tier(principal: Principal) -> str:
    return strongest_role(principal.roles)
