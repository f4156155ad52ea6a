"""Revoked access tokens: the database is the truth, Redis the copy every verifier reads.

Keys are those of ``swe_common.security`` (``REVOKED_JTI_KEY`` with a TTL of the token's
remaining life, ``TOKENS_NOT_BEFORE_KEY`` holding an epoch second, ``REVOKED_SESSION_KEY`` for
an ended session, living as long as its longest access token could), behind an optional prefix
that only tests set. A Redis failure never fails the request: the row is committed, and
``resync`` copies the truth back, at start-up and, after a failed write, from the background
loop ``keep_synced``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import structlog
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from swe_auth.clock import Clock, epoch
from swe_auth.sessions import repository as repo
from swe_common.security import (
    REVOKED_API_KEY_KEY,
    REVOKED_JTI_KEY,
    REVOKED_SESSION_KEY,
    TOKENS_NOT_BEFORE_KEY,
    Principal,
    announce_revocation,
    revocation_keys,
    revoked_by,
)

log = structlog.stdlib.get_logger(__name__)
# Longer than any request transaction (the statement timeout bounds them).
SETTLE_SECONDS = 20.0


class Revocations:
    def __init__(
        self,
        redis: Any,
        clock: Clock,
        sessionmaker: async_sessionmaker[AsyncSession],
        prefix: str = "",
    ) -> None:
        self.redis = redis
        self.clock = clock
        self.sessionmaker = sessionmaker
        self.prefix = prefix
        # When a Redis write last failed (monotonic seconds); None while Redis is in step.
        self.failed_at: float | None = None

    def jti_key(self, jti: str) -> str:
        return self.prefix + REVOKED_JTI_KEY.format(jti=jti)

    def not_before_key(self, user_id: uuid.UUID | str) -> str:
        return self.prefix + TOKENS_NOT_BEFORE_KEY.format(sub=str(user_id))

    def api_key_key(self, key_id: uuid.UUID | str) -> str:
        return self.prefix + REVOKED_API_KEY_KEY.format(key_id=str(key_id))

    def session_key(self, session_id: uuid.UUID | str) -> str:
        return self.prefix + REVOKED_SESSION_KEY.format(sid=str(session_id))

    async def revoke_session(self, session_id: uuid.UUID, ttl: int) -> bool:
        """Every access token of the session stops passing, not only its newest (the family
        row's ``revoked_at`` is the truth)."""
        return await self._set(self.session_key(session_id), "1", ttl)

    async def revoke_api_key(self, key_id: uuid.UUID, ttl: int) -> bool:
        """Tokens already exchanged for the key stop passing anywhere (the row is the truth)."""
        return await self._set(self.api_key_key(key_id), "1", ttl)

    async def revoke_jti(
        self, session: AsyncSession, jti: str, user_id: uuid.UUID, expires_at: int
    ) -> None:
        remaining = expires_at - epoch(self.clock())
        if remaining <= 0:
            return
        await repo.add_revoked(session, jti, user_id, expires_at, self.clock())
        await self._cache_jti(jti, remaining)

    async def _cache_jti(self, jti: str, ttl: int) -> bool:
        return await self._set(self.jti_key(jti), "1", ttl)

    async def cache_not_before(self, user_id: uuid.UUID, not_before: int, ttl: int) -> bool:
        return await self._set(self.not_before_key(user_id), str(not_before), ttl)

    async def _set(self, key: str, value: str, ttl: int, *, announce: bool = True) -> bool:
        try:
            await self.redis.set(key, value, ex=ttl)
            if announce:
                # Verifiers that cache tokens re-check them now rather than within their bound.
                await announce_revocation(self.redis, self.prefix)
        except (RedisError, OSError) as exc:
            self.failed_at = time.monotonic()
            log.warning("revocation_cache_failed", error=type(exc).__name__)
            return False
        return True

    async def is_revoked(self, principal: Principal) -> bool:
        """What auth's own verifier asks; falls back to the database when Redis is down."""
        try:
            values = await self.redis.mget(*revocation_keys(principal, self.prefix))
        except (RedisError, OSError):
            return await self._is_revoked_in_db(principal)
        return revoked_by(principal, values)

    async def _is_revoked_in_db(self, principal: Principal) -> bool:
        async with self.sessionmaker() as session:
            return await repo.is_revoked(
                session,
                principal.token_id,
                principal.subject,
                principal.issued_at,
                api_key_id=principal.api_key_id,
                session_id=principal.session_id,
            )

    async def resync(self, session: AsyncSession, cutoff_ttl: int) -> bool:
        """Copy every live revocation from the database to Redis; False if a write failed."""
        now = epoch(self.clock())
        # Written quietly, then announced once (not once per key).
        writes = [
            (self.jti_key(jti), "1", expires_at - now)
            for jti, expires_at in await repo.live_revoked(session, now)
        ]
        writes += [
            (self.not_before_key(user_id), str(not_before), cutoff_ttl)
            for user_id, not_before in await repo.recent_cutoffs(session, now - cutoff_ttl)
        ]
        since = self.clock() - timedelta(seconds=cutoff_ttl)
        writes += [
            (self.api_key_key(key_id), "1", cutoff_ttl)
            for key_id in await repo.recently_revoked_api_keys(session, since)
        ]
        writes += [
            (self.session_key(family_id), "1", cutoff_ttl)
            for family_id in await repo.recently_revoked_families(session, since)
        ]
        ok = True
        for key, value, ttl in writes:
            ok = await self._set(key, value, ttl, announce=False) and ok
        if writes and ok:
            try:
                await announce_revocation(self.redis, self.prefix)
            except (RedisError, OSError) as exc:
                log.warning("revocation_announce_failed", error=type(exc).__name__)
        return ok

    async def keep_synced(self, interval: float, cutoff_ttl: int) -> None:
        """Run forever: after a failed Redis write, resync until Redis has the truth again.

        A failed write happens before its transaction commits, so resyncing goes on for
        ``SETTLE_SECONDS`` after the last failure, by when that row is surely committed.
        """
        while True:
            await asyncio.sleep(interval)
            if self.failed_at is None:
                continue
            started = time.monotonic()
            try:
                async with self.sessionmaker() as session:
                    ok = await self.resync(session, cutoff_ttl)
            except SQLAlchemyError as exc:
                log.warning("revocation_resync_failed", error=type(exc).__name__)
                continue
            if ok and self.failed_at is not None and started - self.failed_at >= SETTLE_SECONDS:
                self.failed_at = None
                log.info("revocations_resynced")
