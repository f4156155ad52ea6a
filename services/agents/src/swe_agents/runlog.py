"""Run log lines: written one by one with sequence numbers, then announced on Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from redis.asyncio import Redis

from swe_agents import live
from swe_agents.agents import repository
from swe_agents.metrics import STEP_SECONDS, step_label
from swe_agents.models import RunLog
from swe_common.db import Database

log = structlog.stdlib.get_logger(__name__)


class RunLogger:
    """The single writer of one run's log (the worker holding its lease)."""

    def __init__(self, db: Database, redis: Redis, prefix: str, run_id: uuid.UUID) -> None:
        self.db = db
        self.redis = redis
        self.channel = live.logs_channel(prefix, run_id)
        self.run_id = run_id
        self.seq: int | None = None
        # A run's steps log concurrently (tools run in parallel). Numbering, commit and announce
        # happen under one lock so lines commit in sequence order: a reader that has seen line
        # n has every line before it, and its `since` cursor never skips one still committing.
        self._lock = asyncio.Lock()
        # The step the log is in and since when (swe_agents_run_step_duration_seconds).
        self._step: str | None = None
        self._step_started = 0.0

    async def __call__(
        self, message: str, fields: dict[str, Any] | None = None, level: str = "info"
    ) -> None:
        async with self._lock:
            self._time_step(fields)
            await self._write(message, fields, level)

    def _time_step(self, fields: dict[str, Any] | None) -> None:
        """A line naming another step ends the current one (``finish`` ends the last)."""
        step = fields.get("step") if fields else None
        if step is None or step == self._step:
            return
        now = time.monotonic()
        if self._step is not None and self._step not in ("start", "finish"):
            STEP_SECONDS.labels(step_label(self._step)).observe(now - self._step_started)
        self._step, self._step_started = str(step), now

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
