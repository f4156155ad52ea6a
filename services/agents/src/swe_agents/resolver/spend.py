"""A project's model spend per UTC day, kept in Redis so that every worker sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from swe_agents.runners.context import RunFailure

DAY_SECONDS = 86_400


@dataclass
class DailySpend:
    redis: Redis
    prefix: str
    project_id: str
    max_tokens: int | None
    max_cost: float | None

    def _key(self) -> str:
        return f"{self.prefix}:spend:{self.project_id}:{datetime.now(UTC).date().isoformat()}"

    async def check(self) -> None:
        """Before each model call: refused once the project's daily budget is used up."""
        tokens, cost = await self.redis.hmget(self._key(), "tokens", "cost")
        if self.max_tokens is not None and int(tokens or 0) >= self.max_tokens:
            raise RunFailure(
                "budget_exceeded",
                f"the project's daily token budget of {self.max_tokens} is used up",
            )
        if self.max_cost is not None and float(cost or 0) >= self.max_cost:
            raise RunFailure(
                "budget_exceeded",
                f"the project's daily cost budget of ${self.max_cost:g} is used up",
            )

    async def add(self, tokens: int, cost: float) -> None:
        key = self._key()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "tokens", tokens)
            pipe.hincrbyfloat(key, "cost", cost)
            pipe.expire(key, 2 * DAY_SECONDS)
            await pipe.execute()
