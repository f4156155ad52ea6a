"""Consuming events: one durable quorum queue per subscription, idempotent handlers, retries with
backoff and a dead-letter queue.

Messages are handled in batches: what the prefetch holds when the consumer gets to it, up to
``max_batch`` at a time and one batch after another, in delivery order (so each aggregate's
events stay in order). For a batch, in ONE database transaction: one multi-row insert of
``(consumer, event_id)`` into the inbox (``ON CONFLICT DO NOTHING ... RETURNING``); the events
whose row was already there (handled before, or a second copy in the batch) are left out, the
new ones go to the handlers in that same session (the subscription's ``batch_handler``, or
else each event's own handler in delivery order). Commit, then ack every message. So a
redelivered or republished event has its effect once.

If anything in the batch fails, it is rolled back and each message goes the one-by-one way:
its own transaction (inbox row, handler, commit, ack). When a handler raises there, the
transaction rolls back and the message goes to a retry queue (``<queue>.retry.<delay>ms``: a
quorum queue whose ``x-message-ttl`` is the delay and whose dead-letter target is the main queue
through the default exchange), with the attempt count in the ``x-swe-attempts`` header. After
``consumer_max_attempts`` attempts it goes to ``<queue>.dlq`` with headers naming the error, the
original routing key and the attempts; an operator lists and replays it with ``swe-events dlq``.
Every republish is confirmed before the original is acked. So a poison event is retried and
dead-lettered alone and the others of its batch are handled once. A batch of one message goes
the one-by-one way directly.

With ``max_batch=1`` (for handlers that must not share a transaction) there are no batches:
each message has its own transaction; messages of one aggregate (same ``partitionkey``) are
handled one after the other in delivery order, different aggregates concurrently, up to
``db_pool_size`` at once.

Messages that are not valid CloudEvents, or whose type no handler matches, are settled apart
(dead-lettered, or acked and ignored).

Each event is handled with its correlation id and trace context set (for the events its handler
writes and for log lines) and, with tracing on, under a consumer span that is the child of the
context its CloudEvent carries (``swe_common.tracing.handling_event``); a subscription's own
batch handler runs under one span linked to each event's context.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aio_pika
import sqlalchemy as sa
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    DeliveryMode,
    ExchangeType,
)
from prometheus_client import Counter, Histogram
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common import tracing
from swe_common.db import Database
from swe_common.events.broker import QUORUM_QUEUE, Backoff, Broker, copy_headers
from swe_common.events.envelope import CloudEvent
from swe_common.events.tables import EventTables
from swe_common.settings import ServiceSettings
from swe_common.tasks import cancel_and_wait

log = structlog.stdlib.get_logger(__name__)

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, Sequence[CloudEvent]], Awaitable[None]]

ATTEMPTS_HEADER = "x-swe-attempts"
ERROR_HEADER = "x-swe-error"
ERROR_TYPE_HEADER = "x-swe-error-type"
ROUTING_KEY_HEADER = "x-swe-original-routing-key"
QUEUE_HEADER = "x-swe-queue"
DEAD_LETTERED_AT_HEADER = "x-swe-dead-lettered-at"
FAILURE_HEADERS = (ATTEMPTS_HEADER, ERROR_HEADER, ERROR_TYPE_HEADER, DEAD_LETTERED_AT_HEADER)

MESSAGES_HANDLED = Counter(
    "swe_events_handled_total",
    "Event messages a consumer finished with, by outcome "
    "(ok, duplicate, retried, dead_lettered, ignored)",
    ["queue", "type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "swe_event_handler_seconds",
    "Time to handle one event, inbox and commit included",
    ["queue", "type"],
)
EVENT_LAG = Histogram(
    "swe_event_lag_seconds",
    "Time from an event's creation (its CloudEvents time, at the producer) to the end of its "
    "first successful handling here: the consumer's lag in time, retries included",
    ["queue"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)

BATCH_SIZE = Histogram(
    "swe_event_batch_size",
    "Messages a batching consumer took together (one transaction unless the batch failed)",
    ["queue"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)

_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$")
_ROUTING_KEY = re.compile(r"^([a-z0-9_]+|\*|#)(\.([a-z0-9_]+|\*|#))*$")
_ERROR_MAX = 1000


def dlq_name(queue: str) -> str:
    return f"{queue}.dlq"


def retry_queue_name(queue: str, delay_ms: int) -> str:
    # Named by delay: changing the configured delays adds queues instead of clashing with the
    # arguments of existing ones.
    return f"{queue}.retry.{delay_ms}ms"


def retry_queue_arguments(queue: str, delay_ms: int) -> dict[str, Any]:
    return {
        **QUORUM_QUEUE,
        "x-message-ttl": delay_ms,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": queue,
        # Quorum queues dead-letter at-least-once only with these two.
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` is one word, ``#`` zero or more."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        head, rest = p[0], p[1:]
        if head == "#":
            return any(match(rest, k[i:]) for i in range(len(k) + 1))
        if not k:
            return False
        return (head == "*" or head == k[0]) and match(rest, k[1:])

    return match(pattern.split("."), routing_key.split("."))


async def declare_failure_queues(
    channel: AbstractChannel, queue: str, retry_delays_ms: Sequence[int]
) -> None:
    """``<queue>.dlq`` and one ``<queue>.retry.<delay>ms`` per delay (idempotent)."""
    await channel.declare_queue(dlq_name(queue), durable=True, arguments=QUORUM_QUEUE)
    for delay in sorted(set(retry_delays_ms)):
        await channel.declare_queue(
            retry_queue_name(queue, delay),
            durable=True,
            arguments=retry_queue_arguments(queue, delay),
        )


class FailureQueues:
    """The rules for a message whose handling failed, for any work queue (the event consumers
    and the agents worker's runs): retried after ``retry_delays_ms[attempt - 1]`` through a
    retry queue, and after ``max_attempts`` attempts parked in ``<queue>.dlq`` with headers
    saying why, where ``swe-events dlq`` lists and replays it. Each republish is confirmed by
    the broker before the original is acked; when it cannot be, the caller puts the message
    back (``nack(requeue=True)``) instead."""

    def __init__(
        self, queue: str, broker: Broker, *, max_attempts: int, retry_delays_ms: Sequence[int]
    ) -> None:
        self.queue = queue
        self.broker = broker
        self.max_attempts = max_attempts
        self.retry_delays_ms = list(retry_delays_ms) or [1000]

    @classmethod
    def from_settings(cls, queue: str, broker: Broker, settings: ServiceSettings) -> FailureQueues:
        return cls(
            queue,
            broker,
            max_attempts=settings.consumer_max_attempts,
            retry_delays_ms=settings.consumer_retry_delays_ms,
        )

    async def declare(self, channel: AbstractChannel) -> None:
        await declare_failure_queues(channel, self.queue, self.retry_delays_ms)

    async def failed(self, message: AbstractIncomingMessage, exc: Exception) -> str:
        """Retry or dead-letter ``message``; ``retried`` or ``dead_lettered``. Raises when the
        broker did not take the copy (the original is then still unsettled)."""
        attempts = attempts_of(message) + 1
        error = f"{exc.__class__.__name__}: {exc}"[:_ERROR_MAX]
        if attempts >= self.max_attempts:
            log.error("event_dead_lettered", attempts=attempts, error=error, exc_info=exc)
            await self.dead_letter(message, error, exc.__class__.__name__, attempts=attempts)
            return "dead_lettered"
        delay = self.retry_delays_ms[min(attempts, len(self.retry_delays_ms)) - 1]
        log.warning("event_retry", attempts=attempts, retry_in_ms=delay, error=error)
        await self.retry(message, attempts=attempts, delay_ms=delay)
        return "retried"

    async def retry(
        self, message: AbstractIncomingMessage, *, attempts: int, delay_ms: int
    ) -> None:
        headers = copy_headers(message.headers)
        headers[ATTEMPTS_HEADER] = attempts
        headers.setdefault(ROUTING_KEY_HEADER, message.routing_key or "")
        await self.broker.send_to_queue(
            retry_queue_name(self.queue, delay_ms), _republish(message, headers)
        )
        await _settle(message.ack(), self.queue)

    async def dead_letter(
        self, message: AbstractIncomingMessage, error: str, error_type: str, *, attempts: int
    ) -> None:
        headers = copy_headers(message.headers)
        headers.update(
            {
                ATTEMPTS_HEADER: attempts,
                ERROR_HEADER: error[:_ERROR_MAX],
                ERROR_TYPE_HEADER: error_type,
                QUEUE_HEADER: self.queue,
                DEAD_LETTERED_AT_HEADER: datetime.now(UTC).isoformat(),
            }
        )
        headers.setdefault(ROUTING_KEY_HEADER, message.routing_key or "")
        await self.broker.send_to_queue(dlq_name(self.queue), _republish(message, headers))
        await _settle(message.ack(), self.queue)


@dataclass(frozen=True)
class Subscription:
    """A durable queue ``<consumer>.<purpose>`` and the handler of each event type it binds.

    Keys are routing keys: event types, or topic patterns (``projects.project.*``). An event
    whose type no key matches (bound by some wildcard) is acked and ignored.

    Up to ``max_batch`` events are handled in one transaction (``1``: one transaction each).
    By default each goes to its type's handler in turn, with its own correlation id and trace
    context, the session flushed and emptied between events (so each handler sees the effects
    of the ones before, as it would after their commits). ``batch_handler`` (optional) takes
    the whole batch instead, for a faster equivalent (one multi-row statement); it must have
    the same effect as the per-type handlers applied one by one, which still handle each event
    alone when a batch fails. It runs without one event's correlation id and trace context.
    """

    queue: str
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    batch_handler: BatchHandler | None = None
    max_batch: int = 100

    def __post_init__(self) -> None:
        if not _QUEUE_NAME.match(self.queue):
            raise ValueError(f"queue {self.queue!r} must be named <consumer>.<purpose>")
        if self.queue.endswith(".dlq") or ".retry." in self.queue:
            raise ValueError(f"queue {self.queue!r} uses a reserved suffix")
        if not self.handlers:
            raise ValueError(f"subscription {self.queue!r} has no handlers")
        for key in self.handlers:
            if not _ROUTING_KEY.match(key):
                raise ValueError(f"{key!r} is not an event type or topic pattern")
        if self.max_batch < 1:
            raise ValueError(f"subscription {self.queue!r}: max_batch must be at least 1")

    def handler_for(self, event_type: str) -> Handler | None:
        handler = self.handlers.get(event_type)
        if handler is not None:
            return handler
        for pattern, candidate in self.handlers.items():
            if ("*" in pattern or "#" in pattern) and topic_matches(pattern, event_type):
                return candidate
        return None


class _InboxUnavailableError(Exception):
    """The inbox could not be written: the database is in trouble, not the message."""


class EventConsumer:
    """Consumes one subscription's queue on its own channel of the broker's connection."""

    def __init__(
        self,
        settings: ServiceSettings,
        db: Database,
        tables: EventTables,
        subscription: Subscription,
        broker: Broker,
        *,
        stop_timeout_seconds: float = 30.0,
    ) -> None:
        self.settings = settings
        self.db = db
        self.inbox = tables.inbox
        self.subscription = subscription
        self.queue_name = subscription.queue
        self.broker = broker
        self.failures = FailureQueues.from_settings(subscription.queue, broker, settings)
        self._observe_lag = EVENT_LAG.labels(queue=subscription.queue).observe
        self.stop_timeout_seconds = stop_timeout_seconds
        self._channel: AbstractRobustChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._setup_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._consuming = asyncio.Event()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._record = (
            pg_insert(self.inbox)
            .values(
                consumer=sa.bindparam("consumer"),
                event_id=sa.bindparam("event_id"),
                event_type=sa.bindparam("event_type"),
            )
            .on_conflict_do_nothing()
            .returning(sa.literal(1))
        )
        # A batch's inbox rows: one statement whatever the batch's size, built and compiled
        # once (a multi-row VALUES would be a new statement, compiled again, for each size).
        # Sorted by id: concurrent batches take the inbox's index locks in one order.
        rows = (
            sa.func.unnest(
                sa.bindparam("ids", type_=postgresql.ARRAY(sa.String)),
                sa.bindparam("types", type_=postgresql.ARRAY(sa.String)),
            )
            .table_valued("event_id", "event_type")
            .render_derived(name="batch")
        )
        self._record_batch = (
            pg_insert(self.inbox)
            .from_select(
                ["consumer", "event_id", "event_type"],
                sa.select(
                    sa.bindparam("consumer", type_=sa.String), rows.c.event_id, rows.c.event_type
                ).order_by(rows.c.event_id),
            )
            .on_conflict_do_nothing()
            .returning(self.inbox.c.event_id)
        )
        # Per aggregate: a future done when its latest message in hand is finished.
        self._tails: dict[str, asyncio.Future[None]] = {}
        # Batching: messages waiting for the batch task, each with a future set when finished.
        self._pending: list[tuple[AbstractIncomingMessage, CloudEvent, asyncio.Future[None]]] = []
        self._batcher: asyncio.Task[None] | None = None
        # Messages handled one by one at once: no more than the pool has connections, however
        # many the prefetch holds.
        self._one_by_one = asyncio.Semaphore(settings.db_pool_size)

    @property
    def consuming(self) -> bool:
        return self._consuming.is_set()

    async def wait_consuming(self) -> None:
        """Wait until the queue is declared, bound and consumed."""
        await self._consuming.wait()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Declare and consume in the background, as soon as (and whenever) the broker is up."""
        if self._setup_task is None:
            self._stopping = False
            self._setup_task = asyncio.create_task(
                self._setup_loop(), name=f"swe-consumer-{self.queue_name}"
            )

    async def _setup_loop(self) -> None:
        backoff = Backoff(initial=0.5, maximum=30.0)
        while not self._stopping:
            await self.broker.wait_connected()
            try:
                await self._setup()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._close_channel()
                delay = backoff.next_delay()
                log.warning(
                    "consumer_setup_failed",
                    queue=self.queue_name,
                    error=f"{exc.__class__.__name__}: {exc}",
                    retry_in_seconds=round(delay, 2),
                )
                await asyncio.sleep(delay)
            else:
                log.info(
                    "consumer_started",
                    queue=self.queue_name,
                    routing_keys=sorted(self.subscription.handlers),
                )
                return

    async def _setup(self) -> None:
        # A robust channel: aio-pika re-declares what follows and re-consumes after a reconnect.
        channel = self.broker.connection.channel(publisher_confirms=False)
        self._channel = channel
        await channel.initialize()
        await channel.set_qos(prefetch_count=self.settings.consumer_prefetch)
        exchange = await channel.declare_exchange(
            self.broker.exchange_name, ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(self.queue_name, durable=True, arguments=QUORUM_QUEUE)
        await self.failures.declare(channel)
        for routing_key in self.subscription.handlers:
            await queue.bind(exchange, routing_key)
        self._queue = queue
        self._consumer_tag = await queue.consume(self._on_message)
        self._consuming.set()

    async def stop(self) -> None:
        """Stop taking messages, let the handlers in flight finish, then close the channel."""
        self._stopping = True
        if self._setup_task is not None:
            await cancel_and_wait([self._setup_task])
            self._setup_task = None
        if self._queue is not None and self._consumer_tag is not None and self.broker.is_connected:
            try:
                await asyncio.wait_for(self._queue.cancel(self._consumer_tag), 5)
            except Exception as exc:
                log.warning("consumer_cancel_failed", queue=self.queue_name, error=str(exc))
        self._consumer_tag = None
        self._consuming.clear()
        try:
            await asyncio.wait_for(self._idle.wait(), self.stop_timeout_seconds)
        except TimeoutError:
            log.warning(
                "consumer_stop_timeout", queue=self.queue_name, in_flight=len(self._inflight)
            )
            for task in list(self._inflight):
                task.cancel()
            if self._batcher is not None:
                self._batcher.cancel()
            await asyncio.gather(*self._inflight, return_exceptions=True)
        await self._close_channel()

    async def _close_channel(self) -> None:
        channel, self._channel = self._channel, None
        self._queue = None
        if channel is not None:
            try:
                await channel.close()
            except Exception as exc:
                log.debug("consumer_channel_close_failed", queue=self.queue_name, error=str(exc))

    # -- one message -------------------------------------------------------------------------

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # Everything before the first await runs in delivery order, so chaining per aggregate
        # here keeps each aggregate's events in order.
        if self._stopping:
            await _settle(message.nack(requeue=True), self.queue_name)
            return
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        self._idle.clear()
        event: CloudEvent | None = None
        invalid: str | None = None
        try:
            event = CloudEvent.from_json(message.body)
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            invalid = f"not a valid CloudEvent: {exc}"[:_ERROR_MAX]
        if (
            event is not None
            and self.subscription.max_batch > 1
            and self.subscription.handler_for(event.type) is not None
        ):
            # The batch task handles batches one after another in delivery order, so each
            # aggregate's events stay in order without chaining.
            try:
                await self._enqueue(message, event)
            finally:
                self._inflight.discard(task)
                if not self._inflight:
                    self._idle.set()
            return
        key = event.partitionkey if event is not None else None
        previous = self._tails.get(key) if key else None
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if key:
            self._tails[key] = mine
        try:
            if previous is not None:
                await previous
            async with self._one_by_one:
                await self._process(message, event, invalid)
        finally:
            mine.set_result(None)
            if key and self._tails.get(key) is mine:
                del self._tails[key]
            self._inflight.discard(task)
            if not self._inflight:
                self._idle.set()

    # -- batches -----------------------------------------------------------------------------

    async def _enqueue(self, message: AbstractIncomingMessage, event: CloudEvent) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((message, event, done))
        if self._batcher is None or self._batcher.done():
            self._batcher = asyncio.create_task(
                self._drain(), name=f"swe-consumer-batch-{self.queue_name}"
            )
        await done

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let the messages delivered with this one join its batch
        while self._pending:
            size = self.subscription.max_batch
            batch, self._pending = self._pending[:size], self._pending[size:]
            try:
                await self._process_batch([(message, event) for message, event, _ in batch])
            except Exception as exc:
                # Not expected (every path settles its messages); unsettled ones are redelivered
                # when the channel closes, and the inbox dedupes.
                log.exception("event_batch_crashed", queue=self.queue_name, error=str(exc))
            finally:
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _process_batch(self, batch: list[tuple[AbstractIncomingMessage, CloudEvent]]) -> None:
        queue = self.queue_name
        BATCH_SIZE.labels(queue=queue).observe(len(batch))
        if len(batch) == 1:
            await self._process(batch[0][0], batch[0][1], None)
            return
        started = time.perf_counter()
        try:
            with structlog.contextvars.bound_contextvars(queue=queue, batch_size=len(batch)):
                handled = await self._run_batch_in_inbox([event for _, event in batch])
        except Exception as exc:
            log.warning(
                "event_batch_failed",
                queue=queue,
                batch_size=len(batch),
                error=f"{exc.__class__.__name__}: {exc}"[:_ERROR_MAX],
            )
            # One by one: each event's own transaction, retries and dead-lettering.
            for message, event in batch:
                await self._process(message, event, None)
            return
        share = (time.perf_counter() - started) / len(batch)
        # All acks at once: each waits for its frame to be written, so one after another they
        # would take an event-loop turn each.
        await asyncio.gather(*(_settle(message.ack(), queue) for message, _ in batch))
        now = time.time()
        for _, event in batch:
            first = event.id in handled
            handled.discard(event.id)  # a second copy in the same batch is a duplicate
            HANDLER_SECONDS.labels(queue=queue, type=event.type).observe(share)
            if first:
                self._observe_lag(max(0.0, now - event.time.timestamp()))
            MESSAGES_HANDLED.labels(
                queue=queue, type=event.type, outcome="ok" if first else "duplicate"
            ).inc()

    async def _run_batch_in_inbox(self, events: list[CloudEvent]) -> set[str]:
        """Record and handle ``events`` in one transaction; the ids handled now (the others are
        duplicates)."""
        unique: dict[str, CloudEvent] = {}
        for event in events:
            unique.setdefault(event.id, event)
        params = {
            "consumer": self.queue_name,
            "ids": list(unique),
            "types": [event.type for event in unique.values()],
        }
        handler = self.subscription.batch_handler or self._handle_each
        traced = (
            tracing.batch_span(events, self.queue_name)
            if self.subscription.batch_handler is not None
            else contextlib.nullcontext()
        )
        async with self.db.sessionmaker() as session:
            await session.begin()
            inserted = set((await session.execute(self._record_batch, params)).scalars().all())
            fresh = [event for event_id, event in unique.items() if event_id in inserted]
            if fresh:
                with traced:
                    await handler(session, fresh)
            await session.commit()
        if len(inserted) < len(unique):
            log.info("event_duplicate", queue=self.queue_name, count=len(unique) - len(inserted))
        return inserted

    async def _handle_each(self, session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        """The default batch handler: each event's own handler, in order, in one session."""
        for index, event in enumerate(events):
            handler = self.subscription.handler_for(event.type)
            assert handler is not None  # only handled types are batched
            if index:
                # What the handlers before did is in the database, and nothing of theirs is
                # left in the identity map: as if each had its own committed transaction.
                await session.flush()
                session.expunge_all()
            with tracing.handling_event(event, self.queue_name):
                await handler(session, event)

    async def _process(
        self, message: AbstractIncomingMessage, event: CloudEvent | None, invalid: str | None
    ) -> None:
        queue = self.queue_name
        if event is None:
            log.warning("event_invalid", queue=queue, message_id=message.message_id, error=invalid)
            try:
                await self.failures.dead_letter(
                    message, invalid or "invalid", "InvalidCloudEvent", attempts=0
                )
            except Exception as exc:
                log.warning("event_dead_letter_failed", queue=queue, error=str(exc))
                await asyncio.sleep(1.0)
                await _settle(message.nack(requeue=True), queue)
                return
            MESSAGES_HANDLED.labels(queue=queue, type="invalid", outcome="dead_lettered").inc()
            return
        handler = self.subscription.handler_for(event.type)
        if handler is None:
            await _settle(message.ack(), queue)
            MESSAGES_HANDLED.labels(queue=queue, type=event.type, outcome="ignored").inc()
            return

        started = time.perf_counter()
        with tracing.handling_event(event, queue) as span:
            outcome = await self._handle_event(message, event, handler)
            if span is not None:
                span.set_attribute("swe.outcome", outcome or "requeued")
        if outcome is not None:
            HANDLER_SECONDS.labels(queue=queue, type=event.type).observe(
                time.perf_counter() - started
            )
            MESSAGES_HANDLED.labels(queue=queue, type=event.type, outcome=outcome).inc()
            if outcome == "ok":
                self._observe_lag(max(0.0, time.time() - event.time.timestamp()))

    async def _handle_event(
        self, message: AbstractIncomingMessage, event: CloudEvent, handler: Handler
    ) -> str | None:
        try:
            duplicate = await self._run_in_inbox(event, handler)
        except _InboxUnavailableError as exc:
            # Not the message's fault: put it back (after a pause) without counting an attempt.
            log.warning("event_inbox_unavailable", error=str(exc.__cause__ or exc))
            await asyncio.sleep(1.0)
            await _settle(message.nack(requeue=True), self.queue_name)
            return None
        except Exception as exc:
            return await self._handler_failed(message, event, exc)
        await _settle(message.ack(), self.queue_name)
        return "duplicate" if duplicate else "ok"

    async def _run_in_inbox(self, event: CloudEvent, handler: Handler) -> bool:
        """Record and handle ``event`` in one transaction; ``True`` if it was a duplicate."""
        params = {"consumer": self.queue_name, "event_id": event.id, "event_type": event.type}
        async with self.db.sessionmaker() as session:
            try:
                await session.begin()
                inserted = (await session.execute(self._record, params)).first() is not None
            except Exception as exc:
                raise _InboxUnavailableError(str(exc)) from exc
            if not inserted:
                await session.rollback()
                log.info("event_duplicate")
                return True
            await handler(session, event)
            await session.commit()
            return False

    async def _handler_failed(
        self, message: AbstractIncomingMessage, event: CloudEvent, exc: Exception
    ) -> str | None:
        try:
            return await self.failures.failed(message, exc)
        except Exception as publish_exc:
            # Could not park the message: leave it to the broker to redeliver.
            log.warning("event_retry_publish_failed", error=str(publish_exc))
            await asyncio.sleep(1.0)
            await _settle(message.nack(requeue=True), self.queue_name)
            return None


def attempts_of(message: AbstractIncomingMessage) -> int:
    """Failed attempts so far (``x-swe-attempts``; 0 on the first delivery)."""
    value = (message.headers or {}).get(ATTEMPTS_HEADER, 0)
    try:
        return max(0, int(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0


def _republish(message: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
    return aio_pika.Message(
        body=message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
    )


async def _settle(action: Awaitable[None], queue: str) -> None:
    """Ack/nack; if the channel died meanwhile the broker redelivers, and the inbox dedupes."""
    try:
        await action
    except Exception as exc:
        log.warning("event_settle_failed", queue=queue, error=f"{exc.__class__.__name__}: {exc}")
