"""The worker process: ``python -m swe_agents.worker``. Several may run.

* Takes run messages from the durable work queue with prefetch = its concurrency, and acks a
  message only after the run's outcome is committed.
* Claims a run atomically (pending, or running with an expired lease) and keeps a lease alive
  with a heartbeat; a run whose worker died is taken over on redelivery or by the reaper, which
  retries it (up to ``max_run_attempts``) or fails it with ``worker_lost``. Never stuck.
* Cancellation: a Redis notification (or the flag, seen at the next heartbeat) cancels the run's
  task, which kills its tool subprocess groups at once.
* Per-run timeout; blocking work runs in subprocesses and threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from opentelemetry.trace import Span
from prometheus_client import start_http_server
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from swe_agents import heartbeat, live, metrics
from swe_agents.agents import repository, service
from swe_agents.analysis.checkout import remove_tree, worker_root
from swe_agents.analysis.tools import SandboxUnavailable, choose_sandbox
from swe_agents.events import RunQueued, outbox
from swe_agents.models import Run, event_tables
from swe_agents.queue import declare_work_queue
from swe_agents.resolver.spend import DailySpend
from swe_agents.runlog import RunLogger
from swe_agents.runners import code_analyzer, issue_resolver, pr_reviewer
from swe_agents.runners.context import RunContext, RunFailure
from swe_agents.sandbox import SandboxUnavailable as CodeSandboxUnavailable
from swe_agents.sandbox import code_sandbox
from swe_agents.settings import Settings
from swe_common import tracing
from swe_common.app import redis_client
from swe_common.db import Database
from swe_common.events import CloudEvent, EventRuntime
from swe_common.events.broker import Backoff
from swe_common.events.consumer import FailureQueues
from swe_common.logging import configure_logging
from swe_common.metrics import register_engine
from swe_common.tracing import setup_tracing

log = structlog.stdlib.get_logger(__name__)

# A runner gives its result document: JSON, stored with the run and carried by
# agents.run.completed (pipeline.AnalysisReport, ReviewResult's JSON,
# issue_resolver.ResolverResult).
Runner = Callable[[RunContext], Awaitable[Mapping[str, Any]]]
RUNNERS: dict[str, Runner] = {
    "code_analyzer": code_analyzer.run,
    "custom": code_analyzer.run,
    "pr_reviewer": pr_reviewer.run,
    "issue_resolver": issue_resolver.run,
}


@dataclass
class InFlight:
    task: asyncio.Task[Any]
    stop_reason: str | None = None  # cancelled | timeout | shutdown | lease_lost
    ctx: RunContext | None = None


@dataclass
class Worker:
    settings: Settings
    worker_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    )

    def __post_init__(self) -> None:
        self.db = Database(self.settings)
        register_engine("agents-worker", self.db.engine)
        self.redis = redis_client(self.settings)
        self.events = EventRuntime(self.settings, self.db, event_tables)
        self.failures = FailureQueues.from_settings(
            self.settings.work_queue, self.events.broker, self.settings
        )
        self.in_flight: dict[uuid.UUID, InFlight] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = asyncio.Event()
        self.ready = asyncio.Event()
        self.connection: AbstractRobustConnection | None = None
        self.connect_failures = 0
        self.work_root: Path | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until :meth:`stop`; then hand unfinished runs back to the queue."""
        self.work_root = await asyncio.to_thread(
            worker_root, Path(self.settings.work_dir), os.getpid()
        )
        await self.events.start()
        connection = self.connection = await self._connect()
        if connection is None:  # stopped before RabbitMQ ever answered
            await self._close_resources()
            return
        background = [
            asyncio.create_task(self._listen_cancellations(), name="cancel-listener"),
            asyncio.create_task(self._reap_forever(), name="reaper"),
        ]
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.settings.worker_concurrency)
            queue = await declare_work_queue(channel, self.settings)
            tag = await queue.consume(self._on_message, no_ack=False)
            log.info("worker_started", worker_id=self.worker_id, queue=self.settings.work_queue)
            self.ready.set()
            await self._stopping.wait()
            await queue.cancel(tag)
            await self._shutdown_runs()
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await connection.close()
            await self._close_resources()

    async def _close_resources(self) -> None:
        if self.work_root is not None:
            await asyncio.to_thread(remove_tree, self.work_root)
        await self.events.stop()
        await self.redis.aclose()
        await self.db.dispose()
        log.info("worker_stopped", worker_id=self.worker_id)

    async def _connect(self) -> AbstractRobustConnection | None:
        """Connect to RabbitMQ, waiting (with backoff) while it is down instead of exiting."""
        backoff = Backoff(initial=0.5, maximum=15.0)
        while not self._stopping.is_set():
            try:
                return await aio_pika.connect_robust(
                    self.settings.amqp_url.get_secret_value(),
                    client_properties={"connection_name": self.worker_id},
                    timeout=10,
                )
            except (OSError, aio_pika.exceptions.AMQPError, TimeoutError) as exc:
                self.connect_failures += 1
                delay = backoff.next_delay()
                log.warning("worker_amqp_unavailable", error=type(exc).__name__, retry_in=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
        return None

    def stop(self) -> None:
        self._stopping.set()

    async def _shutdown_runs(self) -> None:
        for flight in self.in_flight.values():
            flight.stop_reason = "shutdown"
            flight.task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- messages --------------------------------------------------------------------------------

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.create_task(self._handle(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        try:
            event = CloudEvent.from_json(message.body)
            run_id = uuid.UUID(event.data["run_id"])
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("work_message_unreadable", message_id=message.message_id)
            error = f"not a run message: {type(exc).__name__}: {exc}"
            await self._park(
                message, self.failures.dead_letter(message, error, "Unreadable", attempts=0)
            )
            return
        # The run's events and log lines carry the correlation id and trace of the request
        # that queued it; with tracing on the run is a span of that trace.
        with tracing.handling_event(event, self.settings.work_queue, run_id=str(run_id)):
            await self._handle_run(message, run_id)

    async def _handle_run(self, message: AbstractIncomingMessage, run_id: uuid.UUID) -> None:
        try:
            requeue = await self._process(run_id)
        except (OperationalError, InterfaceError) as exc:
            # The database is in trouble, not the message: back to the queue without counting
            # an attempt (as the event consumers do when their inbox cannot be written).
            log.warning("run_processing_deferred", run_id=str(run_id), error=str(exc)[:500])
            requeue = True
        except Exception as exc:
            # The common consumer's rules: retried with backoff, dead-lettered after
            # consumer_max_attempts (agents.runs.dlq, replayed with `swe-events dlq replay`).
            log.exception("run_processing_failed", run_id=str(run_id))
            await self._park(message, self.failures.failed(message, exc))
            return
        if requeue:
            await asyncio.sleep(1)  # the database or broker is struggling: do not spin
            await message.nack(requeue=True)
        else:
            await message.ack()

    async def _park(self, message: AbstractIncomingMessage, parking: Awaitable[Any]) -> None:
        """Send a message to its retry queue or the DLQ; back to the work queue when the broker
        did not take the copy (it is redelivered, nothing is lost)."""
        try:
            await parking
        except Exception as exc:
            log.warning("work_message_park_failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(1)
            await message.nack(requeue=True)

    async def _process(self, run_id: uuid.UUID) -> bool:
        """Run it if we can claim it. True when the message must go back to the queue."""
        async with self.db.transaction() as session:
            if await self._project_at_capacity(session, run_id):
                return True  # back to the queue: it starts when one of the project's runs ends
            run = await repository.claim_run(
                session, run_id, self.worker_id, self.settings.lease_seconds
            )
            if run is None:
                await self._settle_unclaimable(session, run_id)
                return False
            if run.attempts > self.settings.max_run_attempts:
                await service.finish(
                    session,
                    run,
                    "failed",
                    exit_reason="worker_lost",
                    error=f"gave up after {run.attempts - 1} attempts whose worker was lost",
                )
                self._announce(session, run)
                return False
            project = await repository.get_project(session, run.project_id)
            previous = await self._previous_review(session, run)
            await service.mark_started(session, run)
            self._announce(session, run)
        return await self._execute(run, project, previous)

    async def _project_at_capacity(self, session: Any, run_id: uuid.UUID) -> bool:
        """The per-project cap holds for every run, including those events started (which,
        unlike the API, cannot be refused with a 429): a pending run waits its turn."""
        run = await repository.get_run(session, run_id)
        if run is None or run.status != "pending" or run.cancel_requested:
            return False
        await repository.lock_project(session, run.project_id)
        running = await repository.running_runs_of_project(session, run.project_id)
        return running >= self.settings.max_active_runs_per_project

    async def _settle_unclaimable(self, session: Any, run_id: uuid.UUID) -> None:
        run = await repository.get_run(session, run_id, lock=True)
        if run is not None and run.status == "pending" and run.cancel_requested:
            await service.finish(session, run, "cancelled", exit_reason="cancelled")
            self._announce(session, run)
        # Otherwise it is finished, or another live worker holds it: the message is spent.

    async def _previous_review(self, session: Any, run: Run) -> str | None:
        key = run.trigger.get("pull_request_key")
        if run.agent_type != "pr_reviewer" or not key:
            return None
        return await repository.last_review_head(session, run.agent_id, key, run.id)

    # -- executing -------------------------------------------------------------------------------

    async def _execute(self, run: Run, project: Any, previous: str | None) -> bool:
        span = tracing.start_span(
            f"run {run.agent_type}",
            **{"swe.run.id": str(run.id), "swe.run.agent_type": run.agent_type,
               "swe.run.attempt": run.attempts, "swe.project.id": str(run.project_id)},
        )  # fmt: skip
        try:
            return await self._execute_traced(run, project, previous, span)
        finally:
            if span is not None:
                span.end()

    async def _execute_traced(
        self, run: Run, project: Any, previous: str | None, span: Span | None
    ) -> bool:
        runlog = RunLogger(self.db, self.redis, self.settings.redis_prefix, run.id)
        # The runner's task runs under the run's span (its steps are its children); the
        # heartbeat is not part of it.
        with tracing.current(span):
            task = asyncio.create_task(self._body(run, project, previous, runlog))
        flight = InFlight(task)
        self.in_flight[run.id] = flight
        heartbeat = asyncio.create_task(self._heartbeat(run.id, flight))
        outcome: tuple[str, str | None, Mapping[str, Any] | None, str | None]
        kept: RunContext | None = None
        try:
            async with asyncio.timeout(run.timeout_seconds):
                result, kept = await asyncio.shield(task)
            outcome = ("completed", None, result, None)
        except TimeoutError:
            flight.stop_reason = flight.stop_reason or "timeout"
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            outcome = (
                "failed",
                "timeout",
                None,
                f"the run exceeded its time limit of {run.timeout_seconds:g}s",
            )
        except asyncio.CancelledError:
            if flight.stop_reason is None:  # the worker itself is being cancelled
                flight.stop_reason = "shutdown"
            outcome = ("cancelled", "cancelled", None, None)
        except RunFailure as exc:
            outcome = ("failed", exc.exit_reason, None, exc.message)
        except Exception as exc:
            log.exception("run_crashed", run_id=str(run.id))
            outcome = ("failed", "error", None, f"{type(exc).__name__}: {exc}")
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
            self.in_flight.pop(run.id, None)
        if span is not None:
            handed_over = flight.stop_reason in ("shutdown", "lease_lost")
            shown = flight.stop_reason if handed_over else outcome[0]
            tracing.set_outcome(span, str(shown), outcome[1], outcome[3])
        if flight.stop_reason == "shutdown":
            await self._release(run.id)
            return True
        if flight.stop_reason == "lease_lost":
            return False
        status, reason, document, error = outcome
        if document is None and flight.ctx is not None and flight.ctx.trajectory:
            # A run that failed still keeps what its model calls were (the trajectory).
            document = {
                "summary": error or status,
                "trajectory": [call.to_dict() for call in flight.ctx.trajectory],
            }
        await self._log_outcome(runlog, status, reason, error)
        await self._record(run.id, status, reason, document, error, kept)
        return False

    async def _body(
        self, run: Run, project: Any, previous: str | None, runlog: RunLogger
    ) -> tuple[Mapping[str, Any], RunContext]:
        """The runner's result, and its context holding what is kept beside the run: the diff
        a review looked at, the source lines around the findings."""
        await runlog(f"run started by {self.worker_id} (attempt {run.attempts})", {"step": "start"})
        if project is None:
            raise RunFailure("error", "the run's project is unknown to the agents service")
        ctx = RunContext(
            settings=self.settings,
            run_id=str(run.id),
            agent_type=run.agent_type,
            config=run.config,
            trigger=run.trigger,
            repository_url=project.repository_url,
            default_branch=project.default_branch,
            log=runlog,
            previous_review_head=previous,
            work_root=self.work_root,
        )
        if run.agent_type == "issue_resolver":
            ctx.spend = self._daily_spend(run)
        flight = self.in_flight.get(run.id)
        if flight is not None:
            flight.ctx = ctx
        result = await RUNNERS[run.agent_type](ctx)
        return result, ctx

    def _daily_spend(self, run: Run) -> DailySpend | None:
        tokens, cost = run.config.get("daily_max_tokens"), run.config.get("daily_max_cost")
        if tokens is None and cost is None:
            return None
        return DailySpend(
            self.redis,
            self.settings.redis_prefix,
            str(run.project_id),
            int(tokens) if tokens is not None else None,
            float(cost) if cost is not None else None,
        )

    async def _log_outcome(
        self, runlog: RunLogger, status: str, reason: str | None, error: str | None
    ) -> None:
        with contextlib.suppress(Exception):
            await runlog(
                f"run {status}" + (f" ({reason}): {error or ''}" if reason else ""),
                {"step": "finish", "status": status, "exit_reason": reason},
                level="error" if status == "failed" else "info",
            )

    async def _record(
        self,
        run_id: uuid.UUID,
        status: str,
        reason: str | None,
        result: Mapping[str, Any] | None,
        error: str | None,
        kept: RunContext | None = None,
    ) -> None:
        async with self.db.transaction() as session:
            run = await repository.get_run(session, run_id, lock=True)
            if run is None or run.status != "running" or run.worker_id != self.worker_id:
                return  # taken over meanwhile: the new holder records the outcome
            if status == "completed" and run.cancel_requested:
                status, reason = "cancelled", "cancelled"
            if status == "completed" and kept is not None:
                if kept.diff is not None:
                    service.keep_diff(session, run, kept.diff)
                service.keep_sources(session, run, kept.sources)
            await service.finish(
                session, run, status, exit_reason=reason, result=result, error=error
            )
            self._announce(session, run)

    async def _release(self, run_id: uuid.UUID) -> None:
        """Shutting down: give the run back (pending) so another worker takes it at once."""
        async with self.db.transaction() as session:
            run = await repository.get_run(session, run_id, lock=True)
            if run is not None and run.status == "running" and run.worker_id == self.worker_id:
                run.status, run.worker_id, run.lease_expires_at = "pending", None, None
                run.attempts = max(0, run.attempts - 1)
                await session.flush()
                await service.record_status(session, run)
                self._announce(session, run)

    async def _heartbeat(self, run_id: uuid.UUID, flight: InFlight) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_seconds)
            try:
                async with self.db.transaction() as session:
                    ours, cancel = await repository.renew_lease(
                        session, run_id, self.worker_id, self.settings.lease_seconds
                    )
            except Exception as exc:  # a missed heartbeat is retried; the lease has slack
                log.warning("heartbeat_failed", run_id=str(run_id), error=type(exc).__name__)
                continue
            if not ours or cancel:
                flight.stop_reason = "cancelled" if ours else "lease_lost"
                flight.task.cancel()
                return

    def _announce(self, session: AsyncSession, run: Run) -> None:
        live.announce_run(session, self.redis, self.settings.redis_prefix, service.run_payload(run))

    # -- cancellation and the reaper -------------------------------------------------------------

    async def _listen_cancellations(self) -> None:
        channel = live.cancel_channel(self.settings.redis_prefix)
        while True:
            try:
                pubsub = self.redis.pubsub()
                await pubsub.subscribe(channel)
                try:
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._cancel_local(message.get("data"))
                finally:
                    await pubsub.aclose()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis gone: the heartbeat still sees the cancel flag
                log.warning("cancel_listener_failed", error=type(exc).__name__)
                await asyncio.sleep(1)

    def _cancel_local(self, data: Any) -> None:
        try:
            run_id = uuid.UUID(json.loads(data)["run_id"])
        except (ValueError, KeyError, TypeError):
            return
        flight = self.in_flight.get(run_id)
        if flight is not None:
            flight.stop_reason = "cancelled"
            flight.task.cancel()
            log.info("run_cancelling", run_id=str(run_id))

    async def _reap_forever(self) -> None:
        while True:
            try:
                await self.reap()
                await self._observe()
                await self._touch_health_file()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("reaper_failed", error=type(exc).__name__)
            await asyncio.sleep(self.settings.reaper_interval_seconds)

    async def _observe(self) -> None:
        """The runs gauge and the heartbeat on /metrics (the reaper just reached the database)."""
        async with self.db.reader() as session:
            counts = await repository.count_unfinished_runs(session)
        for status, count in counts.items():
            metrics.RUNS.labels(status).set(count)
        if self.connection is not None and not self.connection.is_closed:
            metrics.WORKER_HEARTBEAT.set_to_current_time()
            await heartbeat.beat(self.redis, self.settings.redis_prefix, self.worker_id)

    async def _touch_health_file(self) -> None:
        """The reaper just reached the database; the queue must be connected too."""
        path = self.settings.healthcheck_heartbeat_file
        if path and self.connection is not None and not self.connection.is_closed:
            await asyncio.to_thread(Path(path).touch)

    async def reap(self) -> int:
        """Runs whose worker died: queue them again, or fail them after the last attempt."""
        async with self.db.transaction() as session:
            runs = await repository.expired_runs(session)
            for run in runs:
                if run.cancel_requested:
                    # Its worker died before it could honour the cancel: nothing to retry.
                    await service.finish(session, run, "cancelled", exit_reason="cancelled")
                elif run.attempts >= self.settings.max_run_attempts:
                    await service.finish(
                        session,
                        run,
                        "failed",
                        exit_reason="worker_lost",
                        error=f"the worker running attempt {run.attempts} was lost",
                    )
                else:
                    run.status, run.worker_id, run.lease_expires_at = "pending", None, None
                    await session.flush()
                    await outbox.publish(
                        session, RunQueued, service.run_payload(run), subject=str(run.id)
                    )
                    await service.record_status(session, run)
                self._announce(session, run)
                log.warning("run_reaped", run_id=str(run.id), attempts=run.attempts)
            await repository.prune_notifications(
                session,
                datetime.now(UTC) - timedelta(hours=self.settings.notification_retention_hours),
            )
        return len(runs)


def main() -> None:
    settings = Settings.load()
    configure_logging(settings)
    setup_tracing(settings, "agents-worker")
    try:
        sandbox = choose_sandbox(settings.tool_sandbox, production=settings.is_production)
    except SandboxUnavailable as exc:
        raise SystemExit(f"swe-agents worker: {exc}") from None
    if sandbox.warning:
        log.warning("tools_unsandboxed", reason=sandbox.warning)
    try:
        code_sandbox(settings.sandbox_limits(), settings.test_runtime_path())
    except CodeSandboxUnavailable as exc:
        # Analysis and reviews still run; runs that would run repository code fail with
        # sandbox_unavailable instead of running it bare.
        log.warning("code_sandbox_unavailable", reason=str(exc))
    worker = Worker(settings)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_host)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        await worker.run()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
