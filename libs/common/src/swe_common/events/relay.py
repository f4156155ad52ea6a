"""The outbox relay: moves committed outbox rows to RabbitMQ, in order, with publisher confirms.

One pass (:meth:`OutboxRelay.publish_batch`) is one database transaction:

1. in one statement, take the outbox partitions no other relay holds right now, with
   ``pg_try_advisory_xact_lock(<key of the schema>, partition)`` (released at commit), and
2. ``SELECT ... WHERE published_at IS NULL AND partition IN (<those taken>) ORDER BY id
   LIMIT :batch FOR UPDATE SKIP LOCKED``;
3. publish every row at once (many confirms in flight) and wait for the confirms (with tracing
   on, each under a producer span that is the child of the context the event was written in,
   and whose own context the message carries);
4. per partition, mark the confirmed rows up to the first failure as published (so a later
   event of an aggregate never goes out before an earlier one), and record ``attempts`` and
   ``last_error`` on the row that failed;
5. commit, without waiting for the WAL flush (``synchronous_commit`` off for this transaction:
   a mark lost in a database crash only means those rows are published again).

The pass waits for PostgreSQL twice (``swe_common.db.pipelined_transaction``, psycopg's
pipeline mode): BEGIN goes out with 1-2, and the marks of 4 (and a NOTIFY, see below) with the
COMMIT; one round trip each for BEGIN, 1-2, 4 and 5 before, so ~4 per login in the auth service.

A partition (so an aggregate, since partition = crc32(partition_key) % 16) is published by one
relay at a time, in id order, however many processes of the service run. A row is marked only
after RabbitMQ confirmed it, so none is ever lost; it is published twice only when the process
dies (or the database fails) between the confirm and the commit, and consumers are idempotent.

The relay wakes when a transaction that wrote to the outbox commits: directly when the writer
runs in its process (see :mod:`swe_common.events.outbox`), else by ``LISTEN`` on the schema's
channel (on a dedicated psycopg connection). A relay woken directly for a partition that
another relay holds (in the middle of its pass) NOTIFYs, so the holder passes again at once
instead of at its next poll. It polls every ``outbox_poll_seconds`` in case a wake-up was
missed, keeps going while batches come back full, and deletes rows published more than
``outbox_retention_hours`` ago.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import zlib
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
import structlog
from opentelemetry.trace import Span
from prometheus_client import Counter, Gauge
from psycopg import sql
from sqlalchemy.dialects import postgresql

from swe_common import tracing
from swe_common.db import Database, pipelined_transaction
from swe_common.events.broker import Backoff, Broker, BrokerUnavailableError
from swe_common.events.envelope import CloudEvent
from swe_common.events.outbox import (
    notify_channel,
    register_local_relay,
    unregister_local_relay,
)
from swe_common.events.tables import OUTBOX_PARTITIONS, EventTables
from swe_common.settings import ServiceSettings
from swe_common.tasks import cancel_and_wait

log = structlog.stdlib.get_logger(__name__)

EVENTS_PUBLISHED = Counter(
    "swe_events_published_total", "Events the outbox relay published (confirmed)", ["type"]
)
PUBLISH_FAILURES = Counter(
    "swe_events_publish_failures_total", "Outbox rows RabbitMQ did not confirm", ["type"]
)
OUTBOX_BACKLOG = Gauge("swe_outbox_backlog", "Outbox rows not yet published", ["schema"])
OUTBOX_OLDEST_AGE = Gauge(
    "swe_outbox_oldest_unpublished_age_seconds",
    "Age of the oldest outbox row not yet published (0 when none): how late the events are; "
    "it keeps growing while RabbitMQ is away",
    ["schema"],
)

_ERROR_MAX = 2000
_CLEANUP_CHUNK = 5000


def advisory_key(schema: str) -> int:
    """The first half of the advisory lock key: a signed int4 derived from the schema."""
    value = zlib.crc32(f"swe_outbox:{schema}".encode())
    return value - 2**32 if value >= 2**31 else value


def libpq_url(database_url: str) -> str:
    """The plain ``postgresql://`` URL psycopg wants, from the SQLAlchemy one."""
    url = sa.make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class BatchResult:
    selected: int = 0
    published: int = 0
    failed: int = 0
    partitions: int = 0  # partitions the published rows came from
    # Rows failed because the broker went away: the relay backs off as a whole.
    broker_failure: bool = False


class OutboxRelay:
    """Publishes a service's outbox; run one per process (several processes are safe)."""

    def __init__(
        self,
        settings: ServiceSettings,
        db: Database,
        tables: EventTables,
        broker: Broker,
        *,
        cleanup_interval_seconds: float = 300.0,
        stop_timeout_seconds: float = 15.0,
    ) -> None:
        self.settings = settings
        self.db = db
        self.table = tables.outbox
        self.schema = str(tables.outbox.schema)
        self.broker = broker
        self.batch_size = settings.outbox_batch_size
        self.poll_seconds = settings.outbox_poll_seconds
        self.retention_hours = settings.outbox_retention_hours
        self.cleanup_interval_seconds = cleanup_interval_seconds
        self.stop_timeout_seconds = stop_timeout_seconds
        self.channel = notify_channel(self.schema)
        self.published_count = 0  # by this instance, for tests and logs
        self._lock_key = advisory_key(self.schema)
        # Lanes: passes that run at once, each over its own share of the partitions (p % lanes),
        # so one lane's wait for confirms and commit overlaps the others' work.
        self.lanes = settings.outbox_relay_lanes
        self._wakes = [asyncio.Event() for _ in range(self.lanes)]
        # Per lane, the partitions a commit in this process woke it for since its last pass.
        self._woken: list[set[int]] = [set() for _ in range(self.lanes)]
        self._stopping = False
        self._busy = 0  # lanes inside a database transaction or maintenance: finish before stop
        self._listening = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncio.Task[None] | None = None
        # The backlog gauge and the cleanup run in their own task, woken after lane 0's
        # passes: their queries never delay a pass (and the events waiting for it).
        self._maintainer: asyncio.Task[None] | None = None
        self._maintain = asyncio.Event()
        self._backlog = OUTBOX_BACKLOG.labels(schema=self.schema)
        self._backlog_at = 0.0
        # The oldest unpublished row's creation (epoch seconds): its age is computed at scrape
        # time, so it grows between two counts instead of freezing.
        self.oldest_unpublished: float | None = None
        OUTBOX_OLDEST_AGE.labels(schema=self.schema).set_function(self.oldest_age_seconds)
        # Partitions whose oldest row failed while the broker was up: not tried again before
        # the given monotonic time, so one bad row cannot hold back the other partitions.
        self._parked: dict[int, float] = {}
        self._partition_backoff: dict[int, Backoff] = {}
        self._queries()

    def _queries(self) -> None:
        t = self.table
        # One statement (one round trip) takes the free partitions and their oldest rows. The
        # CTE is MATERIALIZED so each lock is tried once; a row is selected only if its
        # partition's lock was granted in this transaction.
        order = sa.func.unnest(sa.bindparam("order", type_=postgresql.ARRAY(sa.Integer)))
        candidate = order.column_valued("p")
        mine = (
            sa.select(candidate.label("p"))
            .where(
                sa.func.pg_try_advisory_xact_lock(sa.bindparam("key", type_=sa.Integer), candidate)
            )
            .cte("mine")
            .prefix_with("MATERIALIZED")
        )
        # The pass commits without waiting for its WAL to reach the disk: the next pass of the
        # lane (and the events waiting for it) need not wait for the flush. Losing the commit
        # in a database crash only makes the relay publish those rows again, which it already
        # may (between the confirm and the commit); consumers are idempotent. Order holds: a
        # later pass's commit comes later in the WAL, so it is never kept while this one is
        # lost. An uncorrelated subquery: PostgreSQL evaluates it once, in the same statement.
        async_commit = sa.select(
            sa.func.set_config("synchronous_commit", "off", True)
        ).scalar_subquery()
        self._claim = (
            sa.select(
                t.c.id,
                t.c.event_type,
                t.c.partition,
                sa.cast(t.c.payload, sa.Text).label("payload"),  # the body as it is stored
            )
            .where(
                t.c.published_at.is_(None),
                t.c.partition.in_(sa.select(mine.c.p)),
                async_commit == "off",
            )
            .order_by(t.c.id)
            .limit(sa.bindparam("batch"))
            # SKIP LOCKED: a pass never waits on a row lock. It cannot reorder an aggregate:
            # only a relay holding a partition's advisory lock locks that partition's rows, so
            # none of the rows selected here is locked by anyone else.
            .with_for_update(skip_locked=True, of=t)
        )
        self._mark = (
            sa.update(t)
            .where(t.c.id == sa.any_(sa.bindparam("ids")))
            .values(published_at=sa.func.now(), attempts=t.c.attempts + 1, last_error=None)
        )
        # The partitions (of the given ones) that another relay holds right now: a relay woken
        # by a commit in its own process for a partition it could not take NOTIFYs the others
        # (at its commit), so the holder publishes the row after its pass instead of at its
        # next poll. Advisory locks are re-entrant: the ones this pass holds are granted again.
        held = sa.func.unnest(sa.bindparam("partitions", type_=postgresql.ARRAY(sa.Integer)))
        held_p = held.column_valued("p")
        self._notify_holders = sa.select(
            sa.func.pg_notify(sa.bindparam("channel", type_=sa.Text), "")
        ).where(
            sa.exists(
                sa.select(held_p).where(
                    sa.not_(
                        sa.func.pg_try_advisory_xact_lock(
                            sa.bindparam("key", type_=sa.Integer), held_p
                        )
                    )
                )
            )
        )
        self._record_failure = (
            sa.update(t)
            .where(t.c.id == sa.bindparam("row_id"))
            .values(attempts=t.c.attempts + 1, last_error=sa.bindparam("error"))
        )
        self._count_backlog = sa.select(sa.func.count(), sa.func.min(t.c.created_at)).where(
            t.c.published_at.is_(None)
        )
        cutoff = sa.func.now() - sa.func.make_interval(
            0, 0, 0, 0, 0, 0, sa.bindparam("seconds", type_=sa.Float)
        )
        expired = (
            sa.select(t.c.id)
            .where(t.c.published_at.is_not(None), t.c.published_at < cutoff)
            .limit(_CLEANUP_CHUNK)
            .scalar_subquery()
        )
        self._delete_expired = sa.delete(t).where(t.c.id.in_(expired))

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        """Whether LISTEN is active, so a commit wakes the relay at once."""
        return self._listening.is_set()

    async def start(self) -> None:
        if self._tasks:
            return
        self._stopping = False
        self._listener = asyncio.create_task(self._listen_loop(), name="swe-outbox-listen")
        self._tasks = [
            asyncio.create_task(self._run(lane), name=f"swe-outbox-relay-{lane}")
            for lane in range(self.lanes)
        ]
        self._maintainer = asyncio.create_task(self._maintain_loop(), name="swe-outbox-maintain")
        # Writers of this process wake this relay after their commit instead of a NOTIFY.
        register_local_relay(self.schema, self)

    async def stop(self) -> None:
        """Stop; a batch in flight is finished first (up to ``stop_timeout_seconds``)."""
        self._stopping = True
        unregister_local_relay(self.schema, self)
        self.wake()
        self._maintain.set()
        tasks, listener = self._tasks, self._listener
        if self._maintainer is not None:
            tasks = [*tasks, self._maintainer]
        self._tasks, self._listener, self._maintainer = [], None, None
        if tasks:
            if self._busy:
                _, pending = await asyncio.wait(tasks, timeout=self.stop_timeout_seconds)
                if pending:
                    log.warning("outbox_relay_stop_timeout", schema=self.schema)
            await cancel_and_wait(tasks)
        if listener is not None:
            await cancel_and_wait([listener])
        self._listening.clear()

    def wake(self, partitions: Collection[int] | None = None) -> None:
        """Wake the lanes publishing ``partitions`` (all lanes when ``None``)."""
        if partitions is None:
            for wake in self._wakes:
                wake.set()
            return
        for partition in partitions:
            self._woken[partition % self.lanes].add(partition)
            self._wakes[partition % self.lanes].set()

    @property
    def publishing(self) -> bool:
        """Running with a connected broker: waking it gets committed rows published."""
        return bool(self._tasks) and not self._stopping and self.broker.is_connected

    # -- main loop ---------------------------------------------------------------------------

    async def _run(self, lane: int) -> None:
        """One lane's loop."""
        backoff = Backoff(initial=0.2, maximum=10.0)
        wake = self._wakes[lane]
        while not self._stopping:
            if not self.broker.is_connected:
                # Rows stay in the outbox; go on as soon as the broker is back. The backlog is
                # still counted: a broker outage is when an operator watches it.
                if lane == 0:
                    with contextlib.suppress(Exception):
                        await self._maybe_update_backlog()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_seconds):
                        await self.broker.wait_connected()
                continue
            wake.clear()
            self._busy += 1
            failure: str | None = None
            try:
                if not await self.drain(lane):
                    failure = "the broker went away"
                if lane == 0:
                    self._maintain.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failure = f"{exc.__class__.__name__}: {exc}"
            finally:
                self._busy -= 1
            if failure is None:
                backoff.reset()
                await self._wait_for_work(wake)
                continue
            # Back off instead of hammering a broker or database that is struggling.
            delay = backoff.next_delay()
            log.warning(
                "outbox_relay_failed",
                schema=self.schema,
                error=failure,
                retry_in_seconds=round(delay, 2),
            )
            await self._sleep(delay, wake)

    async def _maintain_loop(self) -> None:
        """The backlog gauge (after lane 0's passes, at most every 0.2 s, and at each poll) and
        the deletion of old published rows (every ``cleanup_interval_seconds``)."""
        last_cleanup = 0.0
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                timeout = min(self.poll_seconds, self.cleanup_interval_seconds)
                await asyncio.wait_for(self._maintain.wait(), timeout)
            self._maintain.clear()
            if self._stopping or not self.broker.is_connected:
                continue  # lane 0 keeps the gauge while the broker is away
            self._busy += 1
            try:
                await self._maybe_update_backlog(force=True)
                if time.monotonic() - last_cleanup >= self.cleanup_interval_seconds:
                    last_cleanup = time.monotonic()
                    await self.delete_published()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "outbox_maintenance_failed",
                    schema=self.schema,
                    error=f"{exc.__class__.__name__}: {exc}",
                )
            finally:
                self._busy -= 1

    async def _wait_for_work(self, wake: asyncio.Event) -> None:
        now = time.monotonic()
        timeout = min(
            [
                self.poll_seconds,
                *(max(0.0, until - now) for until in self._parked.values() if until > now),
            ]
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout)

    async def _sleep(self, seconds: float, wake: asyncio.Event) -> None:
        """Sleep, but return early on stop."""
        if self._stopping:
            return
        wake.clear()
        deadline = time.monotonic() + seconds
        while not self._stopping and (remaining := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(wake.wait(), remaining)
            except TimeoutError:
                return
            wake.clear()

    async def drain(self, lane: int | None = None) -> bool:
        """Publish batches while they come back full; ``False`` when the broker went away."""
        while not self._stopping:
            result = await self.publish_batch(lane)
            if lane is None:
                await self._maybe_update_backlog()
            elif lane == 0:
                self._maintain.set()
            if result.broker_failure:
                return False
            if result.selected < self.batch_size:
                return True
        return True

    # -- one batch ---------------------------------------------------------------------------

    async def publish_batch(self, lane: int | None = None) -> BatchResult:
        """One transaction: take free partitions (of ``lane``, or all), publish their oldest
        rows, mark the confirmed."""
        now = time.monotonic()
        # Start at a different partition each time so no partition is always last in line;
        # leave out the partitions parked after a failure.
        start = int(now * 1000) % OUTBOX_PARTITIONS
        order = [
            p
            for p in [*range(start, OUTBOX_PARTITIONS), *range(start)]
            if self._parked.get(p, 0.0) <= now and (lane is None or p % self.lanes == lane)
        ]
        if not order:
            return BatchResult()
        lanes = range(self.lanes) if lane is None else (lane,)
        woken: set[int] = set()
        for index in lanes:
            woken |= self._woken[index]
            self._woken[index] = set()
        # Pipelined: BEGIN goes out with the claim, and the marks with the COMMIT, so a pass
        # waits for two round trips instead of four.
        async with pipelined_transaction(self.db.engine) as tx:
            params = {"order": order, "key": self._lock_key, "batch": self.batch_size}
            rows = await tx.rows(self._claim, params)
            if len(rows) < self.batch_size:
                # A partition woken for that brought no row: published already, or held by
                # another relay, which is then woken (the NOTIFY leaves at the commit).
                missing = woken.difference(row.partition for row in rows).intersection(order)
                if missing:
                    await tx.queue(
                        self._notify_holders,
                        {
                            "partitions": sorted(missing),
                            "key": self._lock_key,
                            "channel": self.channel,
                        },
                    )
            if not rows:
                return BatchResult()
            outcomes = await self._publish_rows(rows)
            confirmed, failures = _confirmed_prefixes(rows, outcomes)
            if confirmed:
                await tx.queue(self._mark, {"ids": confirmed})
            for row_id, error in failures:
                await tx.queue(self._record_failure, {"row_id": row_id, "error": error})
        # Counted after the commit: only what is durably marked as published.
        by_type: dict[str, int] = defaultdict(int)
        confirmed_ids = set(confirmed)
        for row in rows:
            if row.id in confirmed_ids:
                by_type[row.event_type] += 1
        for type_, count in by_type.items():
            EVENTS_PUBLISHED.labels(type=type_).inc(count)
        self.published_count += len(confirmed)
        failed = len(rows) - len(confirmed)
        for partition in {row.partition for row in rows if row.id in confirmed_ids}:
            self._partition_backoff.pop(partition, None)
        if failures:
            log.warning(
                "outbox_publish_unconfirmed",
                schema=self.schema,
                rows=len(rows),
                confirmed=len(confirmed),
                first_error=failures[0][1],
            )
        broker_failure = bool(failures) and not self.broker.is_connected
        if failures and not broker_failure:
            # The broker is fine, so these rows are the problem: park their partitions (with
            # growing delays) and keep publishing the others.
            by_id = {row.id: row.partition for row in rows}
            for row_id, _ in failures:
                self._park(by_id[row_id])
        partitions = len({row.partition for row in rows})
        return BatchResult(len(rows), len(confirmed), failed, partitions, broker_failure)

    def _park(self, partition: int) -> None:
        backoff = self._partition_backoff.setdefault(partition, Backoff(0.5, 60.0))
        self._parked[partition] = time.monotonic() + backoff.next_delay()

    async def _publish_rows(self, rows: Sequence[Any]) -> list[BaseException | None]:
        """Publish all rows at once; the outcome of each (``None`` = confirmed).

        The payload comes as the JSON text the outbox holds and goes out as the message body
        as it is: it is parsed once (validated as a CloudEvent, for the message's properties),
        never decoded to a dict and encoded again. A row whose payload is not a CloudEvent is
        known bad before sending: the rows after it in its partition are not sent at all, so
        they cannot overtake it.
        """
        outcomes: list[BaseException | None] = [None] * len(rows)
        sends: list[tuple[CloudEvent, bytes | None]] = []
        spans: list[Span | None] = []
        indexes: list[int] = []
        bad_partitions: set[int] = set()
        for index, row in enumerate(rows):
            if row.partition in bad_partitions:
                outcomes[index] = _NotSentError()
                continue
            body = row.payload.encode()
            try:
                event = CloudEvent.model_validate_json(body)
            except ValueError as exc:
                outcomes[index] = exc
                bad_partitions.add(row.partition)
                PUBLISH_FAILURES.labels(type=row.event_type).inc()
                continue
            # Tracing on: a producer span per event, a child of the context it was written in,
            # whose own context the message carries (a new body; the row keeps the writer's).
            span = tracing.start_publish_span(event, self.broker.exchange_name)
            if span is not None:
                traceparent = tracing.format_traceparent(span.get_span_context())
                event, body = event.model_copy(update={"traceparent": traceparent}), None
            spans.append(span)
            sends.append((event, body))
            indexes.append(index)
        results: list[BaseException | None] = []
        try:
            if sends:
                try:
                    results = await self.broker.publish_many(sends)
                except BrokerUnavailableError as exc:
                    results = [exc] * len(sends)
        finally:
            for span, result in itertools.zip_longest(spans, results):
                if span is not None:
                    tracing.end_span(span, result)
        for index, result in zip(indexes, results, strict=True):
            if result is not None:
                PUBLISH_FAILURES.labels(type=rows[index].event_type).inc()
                outcomes[index] = result
        return outcomes

    # -- maintenance -------------------------------------------------------------------------

    async def _maybe_update_backlog(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if now - self._backlog_at < (0.2 if force else 1.0):
            return
        self._backlog_at = now
        await self.update_backlog()

    async def update_backlog(self) -> int:
        async with self.db.engine.connect() as conn:
            count, oldest = (await conn.execute(self._count_backlog)).one()
        backlog = int(count)
        self._backlog.set(backlog)
        self.oldest_unpublished = oldest.timestamp() if oldest is not None else None
        return backlog

    def oldest_age_seconds(self) -> float:
        oldest = self.oldest_unpublished
        return max(0.0, time.time() - oldest) if oldest is not None else 0.0

    async def delete_published(self) -> int:
        """Delete rows published more than ``outbox_retention_hours`` ago (in chunks)."""
        params = {"seconds": self.retention_hours * 3600.0}
        total = 0
        while True:
            async with self.db.engine.begin() as conn:
                deleted = (await conn.execute(self._delete_expired, params)).rowcount
            total += deleted
            if deleted < _CLEANUP_CHUNK or self._stopping:
                break
        if total:
            log.info("outbox_cleaned", schema=self.schema, deleted=total)
        return total

    # -- LISTEN ------------------------------------------------------------------------------

    async def _listen_loop(self) -> None:
        backoff = Backoff(initial=0.5, maximum=30.0)
        dsn = libpq_url(self.settings.database_url)
        while not self._stopping:
            try:
                async with await psycopg.AsyncConnection.connect(
                    dsn, autocommit=True, connect_timeout=5, application_name="swe-outbox-listen"
                ) as conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self._listening.set()
                    backoff.reset()
                    # Anything committed before LISTEN was active sent its NOTIFY to nobody.
                    self.wake()
                    while not self._stopping:
                        async for _ in conn.notifies(timeout=self.poll_seconds):
                            self.wake()
                        # Quiet for a while: make sure the connection is still alive.
                        await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._listening.clear()
                delay = backoff.next_delay()
                log.warning(
                    "outbox_listen_failed",
                    schema=self.schema,
                    error=f"{exc.__class__.__name__}: {exc}",
                    retry_in_seconds=round(delay, 2),
                )
                await asyncio.sleep(delay)
            finally:
                self._listening.clear()


class _NotSentError(Exception):
    """Held back behind an earlier row of its partition that failed."""


def _confirmed_prefixes(
    rows: Sequence[Any], outcomes: list[BaseException | None]
) -> tuple[list[int], list[tuple[int, str]]]:
    """Ids to mark as published (per partition, up to its first failure) and that failure."""
    blocked: set[int] = set()
    confirmed: list[int] = []
    failures: list[tuple[int, str]] = []
    for row, error in zip(rows, outcomes, strict=True):
        if row.partition in blocked:
            continue
        if error is None:
            confirmed.append(row.id)
        else:
            blocked.add(row.partition)
            text = f"{error.__class__.__name__}: {error}"[:_ERROR_MAX]
            failures.append((row.id, text))
    return confirmed, failures
