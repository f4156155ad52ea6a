"""Live updates across processes through Redis pub/sub: log lines, run status, cancellation.

Pub/sub only carries notifications: log lines are in Postgres first (with their sequence
numbers), so a listener that missed a message fills the gap from the table.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import structlog

log = structlog.stdlib.get_logger(__name__)


def logs_channel(prefix: str, run_id: uuid.UUID | str) -> str:
    return f"{prefix}:logs:{run_id}"


def agent_channel(prefix: str, agent_id: uuid.UUID | str) -> str:
    return f"{prefix}:agent:{agent_id}"


def cancel_channel(prefix: str) -> str:
    return f"{prefix}:cancel"


async def publish(redis: Any, channel: str, message: dict[str, Any]) -> None:
    """Best effort: a lost notification only delays a listener until its next gap fill."""
    if redis is None:
        return
    try:
        await redis.publish(channel, json.dumps(message, default=str))
    except Exception as exc:  # Redis down must not fail a run or a request
        log.warning("live_publish_failed", channel=channel, error=type(exc).__name__)
