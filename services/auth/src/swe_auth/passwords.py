"""Password hashing (argon2id via libpass) and the password policy (OWASP ASVS 5, V6.2).

Hashing: argon2id, 19 MiB, 2 passes, parallelism 1 by default (OWASP's minimum; raise them in
settings and old hashes are upgraded at the next login). Every hash and verify runs in a worker
thread under a semaphore: each holds its memory and a core, so unbounded concurrency would
exhaust both and starve the event loop's own work.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass
from functools import cache
from importlib import resources

from passlib.context import CryptContext

from swe_auth.settings import Settings


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    new_hash: str | None = None


class PasswordHasher:
    def __init__(
        self, *, memory_kib: int, time_cost: int, parallelism: int, concurrency: int
    ) -> None:
        self.context = CryptContext(
            schemes=["argon2"],
            argon2__type="ID",
            argon2__memory_cost=memory_kib,
            argon2__rounds=time_cost,
            argon2__parallelism=parallelism,
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy_hash: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordHasher:
        return cls(
            memory_kib=settings.argon2_memory_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
            concurrency=settings.hash_concurrency,
        )

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.context.hash, password)

    async def verify(self, password: str, stored: str | None) -> VerifyResult:
        """Check ``password``; ``new_hash`` is set when the stored one uses old parameters.

        With no stored hash (unknown user, GitHub-only account) a dummy hash is verified, so
        the answer takes as long as for a real account.
        """
        target = stored or await self._dummy()
        async with self._slots:
            ok, new_hash = await asyncio.to_thread(self.context.verify_and_update, password, target)
        if stored is None:
            return VerifyResult(False)
        return VerifyResult(bool(ok), new_hash if ok else None)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(24))
        return self._dummy_hash

    async def warm_up(self) -> None:
        await self._dummy()


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("swe_auth").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def policy_violations(
    password: str, settings: Settings, *, username: str = "", email: str = ""
) -> list[str]:
    """Every rule ``password`` breaks, each with its own message (empty when acceptable)."""
    problems: list[str] = []
    if len(password) < settings.password_min_length:
        problems.append(f"must be at least {settings.password_min_length} characters long")
    if len(password) > settings.password_max_length:
        problems.append(f"must be at most {settings.password_max_length} characters long")
    lowered = password.lower()
    if lowered in common_passwords():
        problems.append("is too common: it appears in lists of breached passwords")
    for label, value in (("username", username), ("email address", email.split("@")[0])):
        if len(value) >= 3 and value.lower() in lowered:
            problems.append(f"must not contain your {label}")
    if settings.password_require_composition:
        problems.extend(_composition(password))
    return problems


def _composition(password: str) -> list[str]:
    rules = (
        (r"[a-z]", "must contain a lower-case letter"),
        (r"[A-Z]", "must contain an upper-case letter"),
        (r"[0-9]", "must contain a digit"),
        (r"[^A-Za-z0-9]", "must contain a symbol"),
    )
    return [message for pattern, message in rules if not re.search(pattern, password)]
