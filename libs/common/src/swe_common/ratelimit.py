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
        moment = int(self.now())
        window = moment // self.window_seconds
        key = f"{self.prefix}{self.namespace}:{bucket}:{client}:{window}"
        try:
            count = await self._redis_hit(key)
        except (RedisError, OSError):
            count = self._local_hit(key)
        if count > limit:
            retry_after = self.window_seconds - moment % self.window_seconds
            raise TooManyRequests(message, headers={"Retry-After": str(retry_after)})

    async def _redis_hit(self, key: str) -> int:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.window_seconds * 2)
            count, _ = await pipe.execute()
        return int(count)

    def _local_hit(self, key: str) -> int:
        count = self._local.pop(key, 0) + 1
        self._local[key] = count
        while len(self._local) > LOCAL_BUCKETS:
            self._local.popitem(last=False)
        return count
