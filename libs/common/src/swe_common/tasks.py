"""Stopping background tasks so that a stop always ends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import structlog

log = structlog.stdlib.get_logger(__name__)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], within: float = 5.0) -> bool:
    """Cancel ``tasks`` and wait until they have ended, at most ``within`` seconds; whether
    they all did.

    ``task.cancel()`` then ``gather`` waits forever for a task that does not end: a library that
    turns the cancellation into an error of its own (aiormq does, mid-RPC; Python 3.11's
    ``wait_for`` and ``timeout`` can lose one that coincides with their own wake-up) leaves a
    ``while True`` loop running, and a service's shutdown (or a test's teardown) hangs. So a
    task still running is cancelled again each time it comes back to an await, and after
    ``within`` seconds it is left behind with a warning: a stop must end."""
    pending = {task for task in tasks if not task.done()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while pending:
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.warning("tasks_not_stopped", tasks=sorted(t.get_name() for t in pending))
            return False
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(remaining, 0.1))
    return True
