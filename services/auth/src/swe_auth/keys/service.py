"""Signing keys: ES256 (P-256), named by kid, private halves encrypted at rest.

The newest unretired key signs. Rotation adds a key and retires the previous one; a retired
key's public half stays in the JWKS until every token it signed has expired. Each process keeps
the keys in memory and reloads them when a kid it does not know shows up or, for signing, every
``reload_seconds`` (so a rotation made by the CLI reaches running instances).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from swe_auth.clock import Clock
from swe_auth.crypto import SecretBox, is_legacy, signing_key_context
from swe_auth.keys import repository
from swe_auth.models import SigningKey
from swe_common.security import ACCESS_TOKEN_TYPE, InvalidToken

ALGORITHM = "ES256"


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()


def new_signing_key(box: SecretBox, now: datetime) -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    kid = f"{now:%Y%m%d}-{secrets.token_hex(6)}"
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private_key.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        public_jwk=jwk,
        private_key_encrypted=box.seal(signing_key_context(kid), pem.decode()),
        created_at=now,
    )


async def ensure_signing_key(session: AsyncSession, box: SecretBox, clock: Clock) -> bool:
    """Create the first key when none signs; True when one was made."""
    await repository.lock_key_creation(session)
    if await repository.has_active_key(session):
        return False
    await repository.add(session, new_signing_key(box, clock()))
    return True


async def rotate(session: AsyncSession, box: SecretBox, clock: Clock) -> str:
    """Add a key that signs from now on; the previous one stays published until it expires."""
    await repository.lock_key_creation(session)
    now = clock()
    await repository.retire_active(session, now)
    key = new_signing_key(box, now)
    await repository.add(session, key)
    return key.kid


async def reseal_signing_keys(session: AsyncSession, box: SecretBox) -> int:
    """Rewrite private keys still in the legacy (Fernet) format in the common one; how many.

    Idempotent: a key already in the common format is left as it is."""
    resealed = 0
    for row in await repository.all_keys(session):
        if is_legacy(row.private_key_encrypted):
            context = signing_key_context(row.kid)
            pem = box.open(context, row.private_key_encrypted)
            row.private_key_encrypted = box.seal(context, pem)
            resealed += 1
    await session.flush()
    return resealed


class KeyRing:
    """This process's view of the signing keys; also the ``KeySource`` auth verifies with."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        box: SecretBox,
        clock: Clock,
        *,
        published_for: timedelta,
        reload_seconds: float = 30.0,
        min_reload_seconds: float = 2.0,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._box = box
        self._clock = clock
        self.published_for = published_for
        self.reload_seconds = reload_seconds
        self.min_reload_seconds = min_reload_seconds
        self._keys: dict[str, LoadedKey] = {}
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        async with self._sessionmaker() as session:
            rows = await repository.all_keys(session)
        keys = await asyncio.to_thread(self._decrypt_all, rows)
        self._keys = keys
        self._loaded_at = time.monotonic()

    def _decrypt_all(self, rows: Any) -> dict[str, LoadedKey]:
        keys: dict[str, LoadedKey] = {}
        for row in rows:
            if row.kid in self._keys:
                old = self._keys[row.kid]
                keys[row.kid] = LoadedKey(
                    row.kid, old.private_key, row.public_jwk, row.created_at, row.retired_at
                )
                continue
            pem = self._box.open(signing_key_context(row.kid), row.private_key_encrypted).encode()
            private_key = serialization.load_pem_private_key(pem, password=None)
            if not isinstance(private_key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"signing key {row.kid} is not an EC key")
            keys[row.kid] = LoadedKey(
                row.kid, private_key, row.public_jwk, row.created_at, row.retired_at
            )
        return keys

    async def _reload_if(self, older_than: float) -> None:
        async with self._lock:
            if time.monotonic() - self._loaded_at >= older_than:
                await self.load()

    async def signing_key(self) -> LoadedKey:
        if time.monotonic() - self._loaded_at >= self.reload_seconds:
            await self._reload_if(self.reload_seconds)
        active = [k for k in self._keys.values() if k.retired_at is None]
        if not active:
            await self._reload_if(0)
            active = [k for k in self._keys.values() if k.retired_at is None]
        if not active:
            raise RuntimeError(
                "no signing key: run the auth service once or `swe-auth rotate-keys`"
            )
        return max(active, key=lambda k: k.created_at)

    def _is_published(self, key: LoadedKey, now: datetime) -> bool:
        return key.retired_at is None or key.retired_at + self.published_for > now

    async def get_key(self, kid: str) -> Any:
        """KeySource: the public key for ``kid`` while it is published."""
        key = self._keys.get(kid)
        if key is None:
            await self._reload_if(self.min_reload_seconds)
            key = self._keys.get(kid)
        if key is None or not self._is_published(key, self._clock()):
            raise InvalidToken(f"unknown signing key {kid!r}")
        return key.public_key

    async def jwks(self) -> dict[str, Any]:
        if time.monotonic() - self._loaded_at >= self.reload_seconds:
            await self._reload_if(self.reload_seconds)
        now = self._clock()
        keys = sorted(self._keys.values(), key=lambda k: k.created_at, reverse=True)
        return {"keys": [k.public_jwk for k in keys if self._is_published(k, now)]}

    async def sign(self, claims: dict[str, Any]) -> str:
        key = await self.signing_key()
        return jwt.encode(
            claims,
            key.private_key,
            algorithm=ALGORITHM,
            headers={"kid": key.kid, "typ": ACCESS_TOKEN_TYPE},
        )
