"""Per-client rate limits on credential endpoints (login, reset, API-key exchange).

Lockout lets anyone lock a known account by guessing, so guessing itself is limited per IP,
here and not only at the gateway. Fixed one-minute windows in Redis, shared by every instance;
when Redis fails, an in-process window takes over (this instance's share only, which still
bounds a brute force).
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
    def __init__(self, redis: Any, prefix: str = "", now: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.prefix = prefix
        self.now = now
        self._local: OrderedDict[str, int] = OrderedDict()

    async def hit(self, bucket: str, client: str, limit: int) -> None:
        """Count one attempt; raise 429 once ``limit`` per minute is exceeded."""
        moment = int(self.now())
        window = moment // WINDOW_SECONDS
        key = f"{self.prefix}swe:auth:rate:{bucket}:{client}:{window}"
        try:
            count = await self._redis_hit(key)
        except (RedisError, OSError):
            count = self._local_hit(key)
        if count > limit:
            retry_after = WINDOW_SECONDS - moment % WINDOW_SECONDS
            raise TooManyRequests(
                "Too many attempts from this address; wait before trying again.",
                headers={"Retry-After": str(retry_after)},
            )

    async def _redis_hit(self, key: str) -> int:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, WINDOW_SECONDS * 2)
            count, _ = await pipe.execute()
        return int(count)

    def _local_hit(self, key: str) -> int:
        count = self._local.pop(key, 0) + 1
        self._local[key] = count
        while len(self._local) > LOCAL_BUCKETS:
            self._local.popitem(last=False)
        return count
