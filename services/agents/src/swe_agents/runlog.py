"""Run log lines: written one by one with sequence numbers, then announced on Redis."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog

from swe_agents import live
from swe_agents.agents import repository
from swe_agents.models import RunLog
from swe_common.db import Database

log = structlog.stdlib.get_logger(__name__)


class RunLogger:
    """The single writer of one run's log (the worker holding its lease)."""

    def __init__(self, db: Database, redis: Any, prefix: str, run_id: uuid.UUID) -> None:
        self.db = db
        self.redis = redis
        self.channel = live.logs_channel(prefix, run_id)
        self.run_id = run_id
        self.seq: int | None = None
        # A run's steps log concurrently (tools run in parallel). Numbering, commit and announce
        # happen under one lock so lines commit in sequence order: a reader that has seen line
        # n has every line before it, and its `since` cursor never skips one still committing.
        self._lock = asyncio.Lock()

    async def __call__(
        self, message: str, fields: dict[str, Any] | None = None, level: str = "info"
    ) -> None:
        async with self._lock:
            await self._write(message, fields, level)

    async def _write(self, message: str, fields: dict[str, Any] | None, level: str) -> None:
        async with self.db.transaction() as session:
            if self.seq is None:
                # A retried run goes on numbering after what its first attempt wrote.
                self.seq = await repository.last_log_seq(session, self.run_id)
            self.seq += 1
            line = RunLog(
                run_id=self.run_id,
                seq=self.seq,
                at=datetime.now(UTC),
                level=level,
                message=message[:4000],
                fields=fields or {},
            )
            session.add(line)
        await live.publish(
            self.redis,
            self.channel,
            {
                "seq": line.seq,
                "at": line.at.isoformat(),
                "level": level,
                "message": line.message,
                "fields": line.fields,
            },
        )
        log.info("run_log", run_id=str(self.run_id), seq=line.seq, message=line.message)
