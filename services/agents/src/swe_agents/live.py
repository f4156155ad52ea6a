"""Live updates across processes through Redis pub/sub: log lines, run status, cancellation.

Pub/sub only carries notifications: log lines are in Postgres first (with their sequence
numbers), so a listener that missed a message fills the gap from the table.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.db import after_commit

if TYPE_CHECKING:
    from swe_agents.agents.service import RunSnapshot

log = structlog.stdlib.get_logger(__name__)


class NotificationWake(TypedDict):
    """Wakes the notification streams: each reads the new rows it may see."""

    project_id: str
    run_id: str


class CancelRequest(TypedDict):
    """Tells the worker running the run to stop it."""

    run_id: str


class LogLine(TypedDict):
    """A run's log line, stored first (a listener that missed it reads it from the table)."""

    seq: int
    at: str
    level: str
    message: str
    fields: dict[str, Any]  # what the step adds (tool, findings, ms...): its own keys


# A run's new state (to the agent's watchers), or one of the above.
Message: TypeAlias = "RunSnapshot | NotificationWake | CancelRequest | LogLine"


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
    session: AsyncSession, redis: Redis | None, channel: str, message: Message
) -> None:
    """Publish once the session's transaction has committed (never if it rolls back), so no
    listener hears of a change that does not happen."""

    async def send() -> None:
        await publish(redis, channel, message)

    after_commit(session, send)


def announce_run(
    session: AsyncSession, redis: Redis | None, prefix: str, payload: RunSnapshot
) -> None:
    """Tell the agent's watchers and the notification streams of a run's new state (its
    ``service.run_payload``), after the commit that makes it true."""
    publish_after_commit(session, redis, agent_channel(prefix, payload["agent_id"]), payload)
    announce_notification(session, redis, prefix, payload)


def announce_notification(
    session: AsyncSession, redis: Redis | None, prefix: str, payload: RunSnapshot
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


async def publish(redis: Redis | None, channel: str, message: Message) -> None:
    """Best effort: a lost notification only delays a listener until its next gap fill."""
    if redis is None:
        return
    try:
        await redis.publish(channel, json.dumps(message, default=str))
    except Exception as exc:  # Redis down must not fail a run or a request
        log.warning("live_publish_failed", channel=channel, error=type(exc).__name__)
