"""The parts of one auth process that domain code works with, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from swe_auth.clock import Clock
from swe_auth.crypto import SecretBox
from swe_auth.keys.service import KeyRing
from swe_auth.passwords import PasswordHasher
from swe_auth.sessions.revocation import Revocations
from swe_auth.sessions.throttle import LoginThrottle
from swe_auth.settings import Settings
from swe_auth.tokens import TokenIssuer
from swe_common.db import Database
from swe_common.ratelimit import RateLimiter


@dataclass
class AuthRuntime:
    settings: Settings
    clock: Clock
    db: Database
    redis: Any
    box: SecretBox
    hasher: PasswordHasher
    keyring: KeyRing
    issuer: TokenIssuer
    revocations: Revocations
    limiter: RateLimiter
    throttle: LoginThrottle

    @classmethod
    def build(cls, settings: Settings, clock: Clock, db: Database, redis: Any) -> AuthRuntime:
        box = SecretBox.from_settings(settings)
        longest_token = max(settings.access_token_ttl_seconds, settings.api_key_token_ttl_seconds)
        keyring = KeyRing(
            db.sessionmaker,
            box,
            clock,
            # Verifiers allow 30 s of clock skew: keep the key that long beyond the last token.
            published_for=timedelta(
                seconds=longest_token + 60 + settings.retired_key_grace_seconds
            ),
        )
        return cls(
            settings=settings,
            clock=clock,
            db=db,
            redis=redis,
            box=box,
            hasher=PasswordHasher.from_settings(settings),
            keyring=keyring,
            issuer=TokenIssuer(keyring, settings, clock),
            revocations=Revocations(redis, clock, db.sessionmaker, settings.redis_key_prefix),
            limiter=RateLimiter(redis, settings.redis_key_prefix),
            throttle=LoginThrottle(redis, settings),
        )
