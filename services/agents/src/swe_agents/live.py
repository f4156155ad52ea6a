"""Live updates across processes through Redis pub/sub: log lines, run status, cancellation.

Pub/sub only carries notifications: log lines are in Postgres first (with their sequence
numbers), so a listener that missed a message fills the gap from the table.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.db import after_commit

log = structlog.stdlib.get_logger(__name__)


def logs_channel(prefix: str, run_id: uuid.UUID | str) -> str:
    return f"{prefix}:logs:{run_id}"


def agent_channel(prefix: str, agent_id: uuid.UUID | str) -> str:
    return f"{prefix}:agent:{agent_id}"


def cancel_channel(prefix: str) -> str:
    return f"{prefix}:cancel"


def notifications_channel(prefix: str) -> str:
    """One channel for every run status change: each listener reads the rows it may see."""
    return f"{prefix}:notifications"


def publish_after_commit(
    session: AsyncSession, redis: Any, channel: str, message: dict[str, Any]
) -> None:
    """Publish once the session's transaction has committed (never if it rolls back), so no
    listener hears of a change that does not happen."""

    async def send() -> None:
        await publish(redis, channel, message)

    after_commit(session, send)


def announce_run(session: AsyncSession, redis: Any, prefix: str, payload: dict[str, Any]) -> None:
    """Tell the agent's watchers and the notification streams of a run's new state (its
    ``service.run_payload``), after the commit that makes it true."""
    publish_after_commit(session, redis, agent_channel(prefix, payload["agent_id"]), payload)
    announce_notification(session, redis, prefix, payload)


def announce_notification(
    session: AsyncSession, redis: Any, prefix: str, payload: dict[str, Any]
) -> None:
    """Wake the notification streams after the commit that stored a notification (a status
    change, or a change of another kind such as a delivery, which the agent's watchers of run
    statuses do not hear)."""
    publish_after_commit(
        session,
        redis,
        notifications_channel(prefix),
        {"project_id": payload["project_id"], "run_id": payload["run_id"]},
    )


async def publish(redis: Any, channel: str, message: dict[str, Any]) -> None:
    """Best effort: a lost notification only delays a listener until its next gap fill."""
    if redis is None:
        return
    try:
        await redis.publish(channel, json.dumps(message, default=str))
    except Exception as exc:  # Redis down must not fail a run or a request
        log.warning("live_publish_failed", channel=channel, error=type(exc).__name__)
