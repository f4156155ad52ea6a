"""The agents service's own Prometheus metrics. The worker serves them on its own listener
(``AGENTS_WORKER_METRICS_PORT``); the API process counts the runs it settles itself (a pending run
cancelled) and exports the run queue's depth (``swe_events_queue_messages``, see
``swe_common.events.queue_metrics``)."""

from __future__ import annotations

import re

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.db import after_commit

RUNS_FINISHED = Counter(
    "swe_agents_runs_finished_total",
    "Runs that reached a final status (completed, failed, cancelled), by exit reason (none for "
    "a completed run; timeout, budget_exceeded, worker_lost, ... for the others)",
    ["status", "exit_reason"],
)
RUN_SECONDS = Histogram(
    "swe_agents_run_duration_seconds",
    "Time from a run's start on a worker to its final status",
    ["status"],
    buckets=(1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)
STEP_SECONDS = Histogram(
    "swe_agents_run_step_duration_seconds",
    "Time a run spent in a step (checkout, analyze, localize, repair, validate, report, ...): "
    "from the step's first log line to the next step's",
    ["step"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
RUNS = Gauge(
    "swe_agents_runs",
    "Runs not yet finished, by status (pending: queued or waiting for a project slot; "
    "running: on a worker), counted by the worker's reaper every REAPER_INTERVAL_SECONDS",
    ["status"],
)
WORKER_HEARTBEAT = Gauge(
    "swe_agents_worker_last_heartbeat_timestamp_seconds",
    "When the worker last reached both the database and the queue (its reaper's round), as a "
    "Unix time: a worker whose value stops moving is stuck or gone",
)

_STEP = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def step_label(step: object) -> str:
    """A bounded label: the runners' step names are short literals; anything else is other."""
    return step if isinstance(step, str) and _STEP.match(step) else "other"


def count_finished(
    session: AsyncSession, status: str, exit_reason: str | None, duration_ms: int | None
) -> None:
    """Count a run's final status once its transaction has committed (never if it rolls back)."""

    async def count() -> None:
        RUNS_FINISHED.labels(status, exit_reason or "none").inc()
        if duration_ms is not None:
            RUN_SECONDS.labels(status).observe(duration_ms / 1000)

    after_commit(session, count)
