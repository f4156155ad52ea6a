"""Concurrent callers asking for the same thing share one call (Go's singleflight).

Used where a burst of requests would otherwise repeat the same slow call: the Redis connect,
an API-key exchange with auth, the aggregate readiness check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._calls: dict[Hashable, asyncio.Future[T]] = {}

    async def run(self, key: Hashable, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``'s result, or that of the call already in flight for ``key``. A caller
        that is cancelled leaves the call running for the others."""
        flight = self._calls.get(key)
        if flight is None:
            flight = self._calls[key] = asyncio.ensure_future(call())
            flight.add_done_callback(lambda done: self._land(key, done))
        return await asyncio.shield(flight)

    def _land(self, key: Hashable, done: asyncio.Future[T]) -> None:
        if self._calls.get(key) is done:
            del self._calls[key]
        if not done.cancelled():
            done.exception()  # retrieved: no "never retrieved" warning when every caller left
