"""Fixed-window rate limits inside a service, for budgets the gateway cannot apply itself.

Auth limits guessing per address on its credential endpoints (lockout alone would let anyone
lock a known account); projects limits GitHub deliveries per project once their signature is
verified (the gateway cannot check signatures). One-minute windows by default, counted in
Redis and shared by every instance; when Redis fails, an in-process window takes over (this
instance's share only, which still bounds a flood).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from swe_common.errors import TooManyRequests

WINDOW_SECONDS = 60
LOCAL_BUCKETS = 10_000


class RateLimiter:
    def __init__(
        self,
        redis: Any,
        prefix: str = "",
        now: Callable[[], float] = time.time,
        *,
        namespace: str = "swe:auth:rate",
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.now = now
        self.namespace = namespace
        self.window_seconds = window_seconds
        self._local: OrderedDict[str, int] = OrderedDict()

    async def hit(
        self,
        bucket: str,
        client: str,
        limit: int,
        message: str = "Too many attempts from this address; wait before trying again.",
    ) -> None:
        """Count one attempt; raise 429 once ``limit`` per window is exceeded."""
        attempt = self.attempt(bucket, client, limit, message)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                attempt.queue(pipe)
                count, _ = await pipe.execute()
        except (RedisError, OSError):
            count = None
        attempt.settle(count)

    def attempt(
        self,
        bucket: str,
        client: str,
        limit: int,
        message: str = "Too many attempts from this address; wait before trying again.",
    ) -> Attempt:
        """One attempt to count in a Redis pipeline of the caller's (one round trip with the
        caller's own commands), then to ``settle``."""
        moment = int(self.now())
        window = moment // self.window_seconds
        key = f"{self.prefix}{self.namespace}:{bucket}:{client}:{window}"
        return Attempt(self, key, moment, limit, message)

    def _local_hit(self, key: str) -> int:
        count = self._local.pop(key, 0) + 1
        self._local[key] = count
        while len(self._local) > LOCAL_BUCKETS:
            self._local.popitem(last=False)
        return count


@dataclass(frozen=True)
class Attempt:
    """An attempt ``RateLimiter.attempt`` made: queued in a pipeline, then settled."""

    limiter: RateLimiter
    key: str
    moment: int
    limit: int
    message: str

    def queue(self, pipe: Any) -> None:
        """INCR and EXPIRE the window's counter: two replies, the first the count."""
        pipe.incr(self.key)
        pipe.expire(self.key, self.limiter.window_seconds * 2)

    def settle(self, count: int | None) -> None:
        """Raise 429 past the limit; ``count`` None: Redis failed, count in this process."""
        total = self.limiter._local_hit(self.key) if count is None else int(count)
        if total > self.limit:
            window = self.limiter.window_seconds
            retry_after = window - self.moment % window
            raise TooManyRequests(self.message, headers={"Retry-After": str(retry_after)})
