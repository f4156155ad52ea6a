"""Live streams for WebSocket listeners: replay what is stored, then follow Redis, filling any
gap from Postgres, so every log line arrives once and in order whichever process wrote it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import Redis

from swe_agents import live
from swe_agents.agents import repository, service
from swe_agents.agents.schemas import RunLogOut
from swe_common.db import Database
from swe_common.security import Principal

log = structlog.stdlib.get_logger(__name__)
Send = Callable[[dict[str, Any]], Awaitable[None]]
POLL_SECONDS = 1.0
TERMINAL = ("completed", "failed", "cancelled")


class LogStream:
    def __init__(
        self, db: Database, redis: Redis, prefix: str, run_id: uuid.UUID, since: int
    ) -> None:
        self.db, self.redis, self.run_id = db, redis, run_id
        self.channel = live.logs_channel(prefix, run_id)
        self.last = since

    async def _drain(self, send: Send) -> str:
        """Send every stored line after ``last``; return the run's status."""
        async with self.db.sessionmaker() as session:
            while True:
                lines = await repository.logs_since(session, self.run_id, self.last, 500)
                for line in lines:
                    await send(
                        {"type": "log", **RunLogOut.model_validate(line).model_dump(mode="json")}
                    )
                    self.last = line.seq
                if len(lines) < 500:
                    break
            run = await repository.get_run(session, self.run_id)
        return run.status if run else "failed"

    async def pump(self, send: Send) -> None:
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(self.channel)  # before the replay, so nothing falls in between
        try:
            status = await self._drain(send)
            while status not in TERMINAL:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=POLL_SECONDS
                )
                if message is not None:
                    seq = json.loads(message["data"]).get("seq", 0)
                    if seq <= self.last:
                        continue
                # A notification, or a quiet second: the table is the truth either way.
                status = await self._drain(send)
            status = await self._drain(send)
            await send({"type": "end", "status": status, "last_seq": self.last})
        finally:
            await pubsub.aclose()


async def agent_stream(
    db: Database, redis: Redis, prefix: str, agent_id: uuid.UUID, send: Send
) -> None:
    """The agent's active runs now, then every status change as it happens."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(live.agent_channel(prefix, agent_id))
    try:
        async with db.sessionmaker() as session:
            for run in await repository.active_runs_of_agent(session, agent_id):
                await send({"type": "run", **service.run_payload(run)})
        # From here on nothing is missed: the client may start runs and expect every change.
        await send({"type": "ready"})
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=POLL_SECONDS)
            if message is not None:
                await send({"type": "run", **json.loads(message["data"])})
    finally:
        await pubsub.aclose()


class NotificationStream:
    """The run status changes (and deliveries) a caller may see: replayed from
    ``run_notifications`` after a cursor, then followed. Redis only says "something changed";
    the table is read with the caller's visibility at each change (a member removed stops
    hearing at once), and every ``FOLLOW_POLL_SECONDS`` anyway, so a lost notification only
    delays."""

    PAGE = 200
    LATEST = 20
    FOLLOW_POLL_SECONDS = 5.0

    def __init__(
        self, db: Database, redis: Redis, prefix: str, principal: Principal, since: int | None
    ) -> None:
        self.db, self.redis, self.principal = db, redis, principal
        self.channel = live.notifications_channel(prefix)
        self.since = since
        self.last = since or 0

    async def _send_rows(self, send: Send, rows: list[Any]) -> None:
        for row in rows:
            # A delivery is its own kind of message: a client that knows only status changes
            # must not take it for the run completing a second time.
            kind = "delivery" if row.payload.get("kind") == "delivery" else "run"
            await send(
                {
                    "type": kind,
                    **row.payload,
                    "id": row.id,
                    "status": row.status,
                    "at": row.at.isoformat(),
                }
            )
            self.last = row.id

    async def _drain(self, send: Send) -> None:
        async with self.db.sessionmaker() as session:
            while True:
                rows = await repository.notifications_after(
                    session, self.principal, self.last, self.PAGE
                )
                await self._send_rows(send, rows)
                if len(rows) < self.PAGE:
                    return

    async def _start(self, send: Send) -> None:
        if self.since is not None:
            await self._drain(send)
            return
        async with self.db.sessionmaker() as session:
            # Whatever is committed now is either in the latest rows or before them.
            self.last = await repository.last_notification_id(session)
            latest = await repository.latest_notifications(session, self.principal, self.LATEST)
        last = self.last
        await self._send_rows(send, latest)
        self.last = max(last, self.last)

    async def pump(self, send: Send) -> None:
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(self.channel)  # before the replay, so nothing falls in between
        try:
            await self._start(send)
            await send({"type": "ready", "cursor": self.last})
            while True:
                await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=self.FOLLOW_POLL_SECONDS
                )
                await self._drain(send)
        finally:
            await pubsub.aclose()
