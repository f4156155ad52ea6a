"""Event bus benchmark: what the outbox + relay + inbox cost against raw aio-pika.

1. raw: aio-pika publishes N messages to a quorum queue with publisher confirms (a window of
   messages in flight) while a consumer in the same process acks them; rate = N / time until
   the last is acked.
2. pipeline: ``WRITERS`` concurrent writers commit small transactions (1 to 3 events each,
   through ``Outbox.publish``, as request handlers do under load) until N events are
   committed; ``OutboxRelay`` publishes them and an ``EventConsumer`` with the inbox handles
   them (default batching, a no-op handler per event). The relay and the consumer run in this
   process, like raw's publisher and consumer; the writers run in a child process, standing
   for the service's request handlers (their work is the service's, not the event bus's, and
   their CPU is taken from the same two cores). rate = N / time from the writers' start to
   the last handled event.
3. latency: first what this machine can commit one event per transaction, in the producing
   process: PostgreSQL's own rate (psycopg, ``WRITERS`` connections, INSERT + COMMIT, no
   SQLAlchemy, no relay) and the writers' (``Outbox.publish`` in ``Database.transaction``,
   ``WRITERS`` at once, back to back, with the relay and the consumer at work). Then the writers
   commit one event per transaction at a steady rate, started on a schedule (open loop), at
   ``RATE`` per second and at half that, from ``LATENCY_INSTANCES`` producing processes (the
   service's instances, each with its relay, each offering its share: one process's writers
   do not sustain ``RATE`` here); time from the commit returning (in a writer) to the handler
   being called (in the consumer), p50/p99 (``time.perf_counter`` is the system-wide monotonic
   clock, so the processes' readings compare). Beside each, the broker alone at the same rate:
   raw aio-pika publishing one persistent message per time slot to a quorum queue, each
   publish awaiting its confirm, from the call to the consumer's callback: the part of the
   latency that is RabbitMQ's and the machine's, not the outbox's.

Fresh database, unique exchange and queue names, everything removed afterwards.
Run: ``uv run python bench/events_bench.py`` (``EVENTS_BENCH_N`` to change N).
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aio_pika
import psycopg
import sqlalchemy as sa
import structlog
from aio_pika.abc import AbstractIncomingMessage, DeliveryMode
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from swe_common.db import Database, schema_metadata
from swe_common.events import (
    CloudEvent,
    EventCatalog,
    EventRuntime,
    Outbox,
    OutboxRelay,
    Subscription,
    define_event_tables,
)
from swe_common.events.broker import Broker
from swe_common.events.consumer import EventConsumer, dlq_name, retry_queue_name
from swe_common.events.relay import libpq_url
from swe_common.settings import ServiceSettings
from swe_common.testing import create_test_database, drop_test_database, unique_name

AMQP_URL = os.environ.get("SWE_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
N = int(os.environ.get("EVENTS_BENCH_N", "20000"))
WRITERS = 16  # concurrent writer transactions
TX_EVENTS = (1, 2, 3)  # events per writer transaction, in turn (2 on average)
RAW_WINDOW = 1000  # raw publishes in flight at once
RAW_PREFETCH = 256
RATE = 1000  # events per second in the latency run (one per transaction)
LATENCY_INSTANCES = 2  # producing processes in the latency runs, each with its relay
LATENCY_SECONDS = 5.0
SATURATE_SECONDS = 4.0  # single-event commits back to back, to find the writers' rate
AGGREGATES = 1000
PUB_SCHEMA = "evbench_pub"  # the producing service's outbox
SUB_SCHEMA = "evbench_sub"  # the consuming service's inbox
RESULTS = Path(__file__).parent / "results" / "events.json"
# "latency": only the latency runs (no raw, no throughput), ``EVENTS_BENCH_LATENCY_ROUNDS``
# times: for comparing a change side by side on a busy machine.
ONLY = os.environ.get("EVENTS_BENCH_ONLY", "")


class Tick(BaseModel):
    aggregate: str
    seq: int


catalog = EventCatalog("evbench")
TICKED = catalog.define("evbench.clock.ticked", Tick, "benchmark event")


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def wait_for(predicate: Any, timeout: float, interval: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark stage did not finish in time")
        await asyncio.sleep(interval)


def quiet() -> None:
    logging.disable(logging.WARNING)  # keep the output to the results
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        cache_logger_on_first_use=False,
    )


# -- per-stage timing (latency runs) ----------------------------------------------------------

_relay_pass: ContextVar[list[float]] = ContextVar("relay_pass")


class TimedRelay(OutboxRelay):
    """The relay, noting for each event when its pass started, when its rows were claimed,
    when RabbitMQ confirmed them and when the pass committed (``time.perf_counter``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stages: dict[str, list[float]] = {}

    async def publish_batch(self, lane: int | None = None) -> Any:
        # Each lane is its own task, so the context variable is the pass's own.
        times = [time.perf_counter()]
        _relay_pass.set(times)
        result = await super().publish_batch(lane)
        times.append(time.perf_counter())
        return result

    async def _publish_rows(self, rows: Any) -> list[BaseException | None]:
        times = _relay_pass.get()
        times.append(time.perf_counter())
        outcomes = await super()._publish_rows(rows)
        times.append(time.perf_counter())
        for row in rows:  # the same list: the pass's end is appended to it later
            self.stages[json.loads(row.payload)["id"]] = times
        return outcomes


class ConsumerTimes:
    """When each event was delivered to the consumer, when its batch started and when its
    batch was committed and acked (patched into ``EventConsumer`` for the latency runs)."""

    def __init__(self) -> None:
        self.delivered: dict[str, float] = {}
        self.batch_started: dict[str, float] = {}
        self.settled: dict[str, float] = {}
        self.batch_sizes: list[int] = []
        on_message, process_batch = EventConsumer._on_message, EventConsumer._process_batch
        delivered, started, settled = self.delivered, self.batch_started, self.settled
        sizes = self.batch_sizes

        async def timed_on_message(consumer: EventConsumer, message: Any) -> None:
            delivered[message.message_id] = time.perf_counter()
            await on_message(consumer, message)

        async def timed_process_batch(consumer: EventConsumer, batch: Any) -> None:
            now = time.perf_counter()
            sizes.append(len(batch))
            for _, event in batch:
                started[event.id] = now
            await process_batch(consumer, batch)
            now = time.perf_counter()
            for _, event in batch:
                settled[event.id] = now

        self._saved = (on_message, process_batch)
        EventConsumer._on_message = timed_on_message  # type: ignore[method-assign,assignment]
        EventConsumer._process_batch = timed_process_batch  # type: ignore[method-assign,assignment]

    def clear(self) -> None:
        for times in (self.delivered, self.batch_started, self.settled):
            times.clear()
        self.batch_sizes.clear()


STAGES = (
    ("wake", "commit returned -> the relay's pass started (wake-up, a pass already running)"),
    ("claim", "pass started -> rows claimed (transaction, advisory locks, SELECT)"),
    ("confirm", "claimed -> RabbitMQ confirmed (publish, quorum write)"),
    ("mark", "confirmed -> pass committed (UPDATE published_at, COMMIT; off the event's path)"),
    ("broker", "claimed -> delivered to the consumer (publish, routing, quorum, delivery)"),
    ("queue", "delivered -> its batch started (waiting for the batch before it)"),
    ("inbox", "batch started -> handler called (BEGIN, inbox INSERT)"),
    ("commit", "handler called -> batch committed and acked (off the latency measured)"),
)


def stage_figures(
    committed_at: dict[str, float],
    relay: dict[str, list[float]],
    consumer: ConsumerTimes,
    handled_at: dict[str, float],
) -> dict[str, dict[str, float]]:
    """p50/p99 in ms of each stage, over the events for which every mark is known."""
    samples: dict[str, list[float]] = {name: [] for name, _ in STAGES}
    for event_id, committed in committed_at.items():
        r = relay.get(event_id)
        delivered = consumer.delivered.get(event_id)
        started = consumer.batch_started.get(event_id)
        handled = handled_at.get(event_id)
        settled = consumer.settled.get(event_id)
        if r is None or len(r) < 4 or None in (delivered, started, handled, settled):
            continue  # handled alone (a batch of one goes the one-by-one way) or not timed
        assert delivered is not None and started is not None
        assert handled is not None and settled is not None
        pass_started, claimed, confirmed, committed_pass = r[:4]
        stages = {
            "wake": pass_started - committed,
            "claim": claimed - pass_started,
            "confirm": confirmed - claimed,
            "mark": committed_pass - confirmed,
            "broker": delivered - claimed,
            "queue": started - delivered,
            "inbox": handled - started,
            "commit": settled - handled,
        }
        for name, value in stages.items():
            samples[name].append(value * 1000)
    figures: dict[str, dict[str, float]] = {}
    for name, ms in samples.items():
        if ms:
            ms.sort()
            figures[name] = {
                "p50_ms": round(statistics.median(ms), 2),
                "p99_ms": round(percentile(ms, 0.99), 2),
                "events": len(ms),
            }
    return figures


# -- the producing process ------------------------------------------------------------------


def settings_for(database_url: str, schema: str, exchange: str) -> ServiceSettings:
    return ServiceSettings(
        service_name="evbench",
        database_url=database_url,
        db_schema=schema,
        events_exchange=exchange,
        amqp_url=AMQP_URL,
        db_pool_size=WRITERS,
    )


async def _raw_publish(queue_name: str, pipe: Connection) -> dict[str, Any]:
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        body = CloudEvent(source="evbench", type=TICKED.type, data={"aggregate": "a", "seq": 0})
        payload = body.to_json()
        pipe.send("ready")
        await asyncio.to_thread(pipe.recv)
        started, cpu = time.perf_counter(), time.process_time()
        for first in range(0, N, RAW_WINDOW):
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(
                            payload,
                            message_id=str(i),
                            content_type="application/cloudevents+json",
                            delivery_mode=DeliveryMode.PERSISTENT,
                        ),
                        routing_key=queue_name,
                    )
                    for i in range(first, min(first + RAW_WINDOW, N))
                )
            )
        return {
            "started": started,
            "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu,
        }
    finally:
        await connection.close()


async def open_loop(
    count: int, rate: int, started: float, one: Callable[[int], Coroutine[Any, Any, None]]
) -> None:
    """``one(i)`` for i < ``count``, each started at ``started + i / rate`` whatever the ones
    before are doing (open loop: a slow answer does not delay the next send)."""
    tasks: list[asyncio.Task[None]] = []
    for i in range(count):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)


async def _raw_at_rate(queue_name: str, rate: int, pipe: Connection) -> dict[str, Any]:
    """The broker alone at ``rate``: one persistent message per time slot (open loop: each
    publish starts on time, not after the one before), each awaiting its own confirm; when
    each publish was called."""
    count = int(rate * LATENCY_SECONDS)
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        body = CloudEvent(source="evbench", type=TICKED.type, data={"aggregate": "a", "seq": 0})
        payload = body.to_json()
        sent_at: dict[str, float] = {}
        pipe.send("ready")
        await asyncio.to_thread(pipe.recv)
        started = time.perf_counter()

        async def one(i: int) -> None:
            sent_at[str(i)] = time.perf_counter()
            message = aio_pika.Message(
                payload,
                message_id=str(i),
                content_type="application/cloudevents+json",
                delivery_mode=DeliveryMode.PERSISTENT,
            )
            await channel.default_exchange.publish(message, routing_key=queue_name)

        await open_loop(count, rate, started, one)
        return {"started": started, "seconds": time.perf_counter() - started, "sent_at": sent_at}
    finally:
        await connection.close()


async def _commit_events(db: Database, outbox: Outbox) -> None:
    """N events from ``WRITERS`` concurrent writers, in transactions of 1 to 3 events."""
    counter = iter(range(N))

    async def writer(w: int) -> None:
        turn = w
        while True:
            size = TX_EVENTS[turn % len(TX_EVENTS)]
            turn += 1
            seqs = [s for s in (next(counter, None) for _ in range(size)) if s is not None]
            if not seqs:
                return
            async with db.transaction() as session:
                for seq in seqs:
                    agg = f"agg-{seq % AGGREGATES}"
                    await outbox.publish(session, TICKED, Tick(aggregate=agg, seq=seq), subject=agg)

    await asyncio.gather(*(writer(w) for w in range(WRITERS)))


async def _commit_back_to_back(db: Database, outbox: Outbox) -> int:
    """One event per transaction, ``WRITERS`` at once, each starting when its last returned,
    for ``SATURATE_SECONDS``; how many were committed."""
    committed = 0
    end = time.perf_counter() + SATURATE_SECONDS

    async def writer() -> None:
        nonlocal committed
        while time.perf_counter() < end:
            agg = f"sat-{committed % AGGREGATES}"
            async with db.transaction() as session:
                await outbox.publish(
                    session, TICKED, Tick(aggregate=agg, seq=committed), subject=agg
                )
            committed += 1

    await asyncio.gather(*(writer() for _ in range(WRITERS)))
    return committed


async def _postgres_commits(database_url: str) -> dict[str, float]:
    """PostgreSQL's own rate of one-row transactions from this process: ``WRITERS`` psycopg
    connections, INSERT + COMMIT back to back (what the writers' rate is bounded by)."""
    dsn = libpq_url(database_url)
    conns = [await psycopg.AsyncConnection.connect(dsn) for _ in range(WRITERS)]
    insert = (
        f"INSERT INTO {PUB_SCHEMA}.event_outbox (event_id, event_type, partition, payload, "
        "published_at) VALUES (%s, 'evbench.clock.ticked', 0, '{}', now())"
    )
    committed = 0
    try:
        started, cpu = time.perf_counter(), time.process_time()
        end = started + SATURATE_SECONDS

        async def writer(conn: psycopg.AsyncConnection[Any]) -> None:
            nonlocal committed
            while time.perf_counter() < end:
                async with conn.transaction():
                    await conn.execute(insert, (f"pg-{uuid.uuid4()}",))
                committed += 1

        await asyncio.gather(*(writer(conn) for conn in conns))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        for conn in conns:
            await conn.close()
    return {"seconds": seconds, "committed": committed, "cpu_seconds": cpu}


async def _commit_at_rate(db: Database, outbox: Outbox, count: int, rate: int) -> dict[str, float]:
    """``count`` events, one per transaction, started at ``rate`` per second (open loop: each
    commit starts on time, not after the one before); when each commit returned."""
    committed_at: dict[str, float] = {}
    slots = asyncio.Semaphore(WRITERS)
    started = time.perf_counter()

    async def one(i: int) -> None:
        async with slots:
            agg = f"lat-{i % AGGREGATES}"
            async with db.transaction() as session:
                event = await outbox.publish(
                    session, TICKED, Tick(aggregate=agg, seq=i), subject=agg
                )
            committed_at[event.id] = time.perf_counter()

    await open_loop(count, rate, started, one)
    return committed_at


async def _outbox_drained(db: Database, outbox: sa.Table, timeout: float) -> None:
    """Until no row of the outbox is unpublished (another instance's relay may publish this
    one's rows, so its own relay's count does not tell)."""
    unpublished = (
        sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    )
    deadline = time.monotonic() + timeout
    while True:
        async with db.engine.connect() as conn:
            if not (await conn.execute(unpublished)).scalar_one():
                return
        if time.monotonic() > deadline:
            raise TimeoutError("the outbox was not drained in time")
        await asyncio.sleep(0.02)


async def _produce(
    database_url: str, exchange: str, mode: str, rate: int, instances: int, pipe: Connection
) -> dict[str, Any]:
    """The publishing service. ``fill``: writers only (no relay: the backlog for ``relay``);
    ``relay``: its relay only, started at the signal; ``live``: writers and relay together;
    ``saturate``: single-event transactions back to back, and the relay; ``latency``: writers
    at a steady ``rate`` and the relay; ``postgres``: PostgreSQL's own commit rate."""
    if mode == "postgres":
        pipe.send("ready")
        await asyncio.to_thread(pipe.recv)
        result: dict[str, Any] = {"started": time.perf_counter()}
        return result | await _postgres_commits(database_url)
    settings = settings_for(database_url, PUB_SCHEMA, exchange)
    tables = define_event_tables(schema_metadata(PUB_SCHEMA))
    outbox = Outbox(tables, source="evbench")
    db = Database(settings)
    broker = Broker.from_settings(settings)
    # Timed only in the latency runs: the timing costs the relay CPU the throughput runs measure.
    relay = (TimedRelay if mode == "latency" else OutboxRelay)(settings, db, tables, broker)
    committed_at: dict[str, float] = {}
    count = int(rate * LATENCY_SECONDS) if mode == "latency" else N
    try:
        if mode != "fill":
            await broker.start()
            await asyncio.wait_for(broker.wait_connected(), 30)
        if mode in ("live", "latency", "saturate"):
            await relay.start()
            await wait_for(lambda: relay.publishing and relay.listening, 30)
        async with db.engine.connect() as conn:  # warm up before the clock starts
            await conn.execute(sa.text("SELECT 1"))
        pipe.send("ready")
        await asyncio.to_thread(pipe.recv)
        started, cpu = time.perf_counter(), time.process_time()
        if mode == "relay":
            await relay.start()
        elif mode == "latency":
            committed_at = await _commit_at_rate(db, outbox, count, rate)
        elif mode == "saturate":
            count = await _commit_back_to_back(db, outbox)
        else:
            await _commit_events(db, outbox)
        written = time.perf_counter() - started
        if mode != "fill" and instances > 1:
            await _outbox_drained(db, tables.outbox, 300)
        elif mode != "fill":
            await wait_for(lambda: relay.published_count >= count, 300)
        relayed = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        await relay.stop()
        await broker.close()
        await db.dispose()
    return {
        "started": started,
        "seconds": written,
        "relayed_seconds": relayed,
        "cpu_seconds": cpu,
        "committed_at": committed_at,
        "committed": count,
        "relay_stages": relay.stages if isinstance(relay, TimedRelay) else {},
    }


def _producer(role: str, args: tuple[str, ...], pipe: Connection) -> None:
    quiet()
    if role == "raw":
        pipe.send(asyncio.run(_raw_publish(args[0], pipe)))
    elif role == "raw_latency":
        pipe.send(asyncio.run(_raw_at_rate(args[0], int(args[1]), pipe)))
    else:
        rate = int(args[2]) if len(args) > 2 else RATE
        instances = int(args[3]) if len(args) > 3 else 1
        pipe.send(asyncio.run(_produce(args[0], args[1], role, rate, instances, pipe)))


class Producer:
    """The producing process: started and warmed up, then released by :meth:`go`."""

    def __init__(self, role: str, *args: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=_producer, args=(role, args, child), daemon=True)

    async def start(self) -> None:
        self.process.start()
        if await asyncio.to_thread(self.pipe.recv) != "ready":
            raise RuntimeError("the producing process did not start")

    def go(self) -> None:
        self.pipe.send("go")

    async def result(self) -> dict[str, Any]:
        result: dict[str, Any] = await asyncio.to_thread(self.pipe.recv)
        await asyncio.to_thread(self.process.join, 30)
        return result


# -- the runs (this process consumes) ---------------------------------------------------------


async def bench_raw() -> dict[str, Any]:
    connection = await aio_pika.connect(AMQP_URL)
    queue_name = unique_name("evbench.raw")
    try:
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=RAW_PREFETCH)
        queue = await channel.declare_queue(
            queue_name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        done = asyncio.Event()
        received = 0
        last = 0.0

        async def on_message(message: AbstractIncomingMessage) -> None:
            nonlocal received, last
            await message.ack()
            received += 1
            if received == N:
                last = time.perf_counter()
                done.set()

        await queue.consume(on_message)
        producer = Producer("raw", queue_name)
        await producer.start()
        cpu = time.process_time()
        producer.go()
        published = await producer.result()
        await asyncio.wait_for(done.wait(), 300)
        cpu = time.process_time() - cpu
        elapsed = last - published["started"]
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()
    return {
        "messages": N,
        "publish_seconds": round(published["seconds"], 3),
        "seconds": round(elapsed, 3),
        "rate_per_s": round(N / elapsed),
        "python_cpu_us_per_event": round((published["cpu_seconds"] + cpu) / N * 1e6),
    }


async def bench_raw_latency(rate: int) -> dict[str, Any]:
    """The broker alone at ``rate`` (``_raw_at_rate``): publish-to-callback p50/p99."""
    connection = await aio_pika.connect(AMQP_URL)
    queue_name = unique_name("evbench.rawlat")
    received_at: dict[str, float] = {}
    try:
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=RAW_PREFETCH)
        queue = await channel.declare_queue(
            queue_name, durable=True, arguments={"x-queue-type": "quorum"}
        )

        async def on_message(message: AbstractIncomingMessage) -> None:
            received_at[str(message.message_id)] = time.perf_counter()
            await message.ack()

        await queue.consume(on_message)
        producer = Producer("raw_latency", queue_name, str(rate))
        await producer.start()
        producer.go()
        published = await producer.result()
        sent_at: dict[str, float] = published["sent_at"]
        await wait_for(lambda: len(received_at) >= len(sent_at), 60)
        await queue.delete(if_unused=False, if_empty=False)
    finally:
        await connection.close()
    latencies = sorted((received_at[i] - sent_at[i]) * 1000 for i in sent_at)
    return {
        "messages": len(latencies),
        "achieved_rate_per_s": round(len(latencies) / published["seconds"]),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2),
    }


def merged(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The producing processes' results as one: the first start, the last end, the sums."""
    first = results[0]
    if len(results) == 1:
        return first
    return {
        "started": min(r["started"] for r in results),
        "seconds": max(r["started"] + r["seconds"] for r in results)
        - min(r["started"] for r in results),
        "relayed_seconds": max(r["relayed_seconds"] for r in results),
        "cpu_seconds": sum(r["cpu_seconds"] for r in results),
        "committed_at": {k: v for r in results for k, v in r["committed_at"].items()},
        "committed": sum(r["committed"] for r in results),
        "relay_stages": {k: v for r in results for k, v in r["relay_stages"].items()},
    }


async def create_schemas(database_url: str) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        for schema in (PUB_SCHEMA, SUB_SCHEMA):
            metadata = schema_metadata(schema)
            define_event_tables(metadata)
            await conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
            await conn.run_sync(metadata.create_all)
    await engine.dispose()


async def bench_pipeline(database_url: str) -> dict[str, Any]:
    await create_schemas(database_url)
    exchange = unique_name("swe.events.bench")
    queue = unique_name("evbench.consumer")
    settings = settings_for(database_url, SUB_SCHEMA, exchange)
    tables = define_event_tables(schema_metadata(SUB_SCHEMA))
    db = Database(settings)
    handled_at: dict[str, float] = {}

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        handled_at[event.id] = time.perf_counter()

    consumer_times = ConsumerTimes()
    runtime = EventRuntime(settings, db, tables, [Subscription(queue, {TICKED.type: handle})])
    result: dict[str, Any] = {}

    async def run(
        mode: str, count: int | None, *args: str, instances: int = 1
    ) -> tuple[dict[str, Any], float, float]:
        """The producer in ``mode`` (``instances`` processes of it); its result, the seconds
        from its start to the last event handled (``count`` of them, or as many as it
        committed), and this process's CPU seconds meanwhile."""
        producers = [Producer(mode, database_url, exchange, *args) for _ in range(instances)]
        for producer in producers:
            await producer.start()
        cpu = time.process_time()
        for producer in producers:
            producer.go()
        produced = merged([await producer.result() for producer in producers])
        expected = produced["committed"] if count is None else count
        await wait_for(lambda: len(handled_at) >= expected, 300)
        cpu = time.process_time() - cpu
        return produced, max(handled_at.values()) - produced["started"], cpu

    try:
        await runtime.start()
        await asyncio.wait_for(runtime.consumers[0].wait_consuming(), 15)
        if ONLY == "latency":
            result["latency"] = await latency_runs(run, handled_at, consumer_times)
            return result

        # The event bus: N events committed by the writers beforehand, then relay + consumer.
        filler = Producer("fill", database_url, exchange)
        await filler.start()
        filler.go()
        filled = await filler.result()
        produced, elapsed, cpu = await run("relay", N)
        result["throughput"] = {
            "events": N,
            "writers": WRITERS,
            "events_per_transaction": "1-3 (2 on average)",
            "seconds": round(elapsed, 3),
            "rate_per_s": round(N / elapsed),
            "published_seconds": round(produced["relayed_seconds"], 3),
            "relay_rate_per_s": round(N / produced["relayed_seconds"]),
            "python_cpu_us_per_event": round((produced["cpu_seconds"] + cpu) / N * 1e6),
        }

        # With the writers: they commit while the relay (in their process) publishes.
        handled_at.clear()
        produced, elapsed, cpu = await run("live", N)
        result["with_writers"] = {
            "events": N,
            "writers": WRITERS,
            "seconds": round(elapsed, 3),
            "rate_per_s": round(N / elapsed),
            "writers_seconds": round(produced["seconds"], 3),
            "writers_rate_per_s": round(N / produced["seconds"]),
            "writers_alone_rate_per_s": round(N / filled["seconds"]),
            "python_cpu_us_per_event": round((produced["cpu_seconds"] + cpu) / N * 1e6),
        }

        # What this machine commits one event per transaction: PostgreSQL alone, then the
        # writers with the relay and the consumer at work.
        postgres = Producer("postgres", database_url, exchange)
        await postgres.start()
        postgres.go()
        pg = await postgres.result()
        handled_at.clear()
        produced, elapsed, _ = await run("saturate", None)
        sustained = produced["committed"] / produced["seconds"]
        result["commit_rate"] = {
            "writers": WRITERS,
            "postgres_commits_per_s": round(pg["committed"] / pg["seconds"]),
            "postgres_python_cpu_us_per_commit": round(pg["cpu_seconds"] / pg["committed"] * 1e6),
            "writers_commits_per_s": round(sustained),
            # The producing process's CPU (its relay included) per commit.
            "writers_python_cpu_us_per_commit": round(
                produced["cpu_seconds"] / produced["committed"] * 1e6
            ),
            "handled_seconds_after_last_commit": round(elapsed - produced["seconds"], 3),
        }

        # Latency: one event per transaction at a steady rate, RATE and half that, from
        # LATENCY_INSTANCES processes.
        result["latency"] = await latency_runs(
            run, handled_at, consumer_times, (("at_rate", RATE), ("at_half", RATE // 2))
        )
    finally:
        await runtime.stop()
        await db.dispose()
        connection = await aio_pika.connect(AMQP_URL)
        channel = await connection.channel()
        for name in (
            queue,
            dlq_name(queue),
            *(retry_queue_name(queue, d) for d in settings.consumer_retry_delays_ms),
        ):
            await channel.queue_delete(name)
        await channel.exchange_delete(exchange)
        await connection.close()
    return result


async def latency_runs(
    run: Any,
    handled_at: dict[str, float],
    consumer_times: ConsumerTimes,
    rates: tuple[tuple[str, int], ...] | None = None,
) -> dict[str, Any]:
    """One event per transaction at each steady rate: commit-to-handled and its stages."""
    if rates is None:
        rates = tuple(
            (f"at_{rate}", int(rate))
            for rate in os.environ.get("EVENTS_BENCH_LATENCY_RATES", "350").split(",")
        )
    results: dict[str, Any] = {}
    instances = LATENCY_INSTANCES
    for name, rate in rates:
        raw = await bench_raw_latency(rate)
        handled_at.clear()
        consumer_times.clear()
        share = rate // instances
        count = int(share * LATENCY_SECONDS) * instances
        produced, _, _ = await run(
            "latency", count, str(share), str(instances), instances=instances
        )
        committed_at: dict[str, float] = produced["committed_at"]
        latencies = sorted((handled_at[e] - committed_at[e]) * 1000 for e in committed_at)
        sizes = sorted(consumer_times.batch_sizes) or [1]
        results[name] = {
            "events": len(latencies),
            "offered_per_s": share * instances,
            "instances": instances,
            "achieved_rate_per_s": round(len(latencies) / produced["seconds"]),
            "p50_ms": round(statistics.median(latencies), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
            "max_ms": round(latencies[-1], 2),
            "consumer_batch_p50": statistics.median(sizes),
            "relay_batch_p50": statistics.median(_pass_sizes(produced["relay_stages"]) or [0]),
            "stages": stage_figures(
                committed_at, produced["relay_stages"], consumer_times, handled_at
            ),
            "raw": raw,
        }
    return results


def _pass_sizes(stages: dict[str, list[float]]) -> list[int]:
    counts: dict[int, int] = {}
    for times in stages.values():
        counts[id(times)] = counts.get(id(times), 0) + 1
    return sorted(counts.values())


def stage_table(latency: dict[str, Any]) -> list[str]:
    names = list(latency)
    lines = [
        "| stage (one event per transaction), p50 / p99 ms | "
        + " | ".join(f"{latency[n]['offered_per_s']}/s" for n in names)
        + " |",
        "|---|" + "---:|" * len(names),
    ]
    for stage, label in STAGES:
        cells = []
        for n in names:
            figure = latency[n]["stages"].get(stage)
            cells.append(f"{figure['p50_ms']} / {figure['p99_ms']}" if figure else "-")
        lines.append(f"| {stage}: {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| events per relay pass / per consumer batch (p50) | "
        + " | ".join(
            f"{latency[n]['relay_batch_p50']} / {latency[n]['consumer_batch_p50']}" for n in names
        )
        + " |"
    )
    return lines


def latency_table(latency: dict[str, Any], labels: dict[str, str]) -> list[str]:
    def raw(row: dict[str, Any]) -> str:
        figures = row.get("raw")
        if not figures:
            return "- | -"
        return f"{figures['p50_ms']} | {figures['p99_ms']}"

    return [
        "| commit-to-handled, one event per transaction | offered/s | achieved/s | p50 ms "
        "| p99 ms | max ms | broker alone: p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {labels.get(name, name)} | {row['offered_per_s']} | {row['achieved_rate_per_s']} "
            f"| {row['p50_ms']} | {row['p99_ms']} | {row['max_ms']} | {raw(row)} |"
            for name, row in latency.items()
        ),
    ]


def markdown(results: dict[str, Any]) -> str:
    raw, pipe, live, lat, commits = (
        results["raw"],
        results["pipeline"]["throughput"],
        results["pipeline"]["with_writers"],
        results["latency"],
        results["commit_rate"],
    )
    lines = [
        f"Event bus benchmark, N = {N} ({results['machine']}, "
        f"load average {results['load_average']})",
        "",
        "| path | seconds | events/s | Python CPU µs/event |",
        "|---|---:|---:|---:|",
        f"| raw aio-pika: publish (confirms, {RAW_WINDOW} in flight) + consume, quorum queue "
        f"(before / after the rest: {raw['before']['rate_per_s']} / "
        f"{raw['after']['rate_per_s']}) | {raw['seconds']} | {raw['rate_per_s']} "
        f"| {raw['python_cpu_us_per_event']} |",
        f"| outbox (committed by {WRITERS} writers, 1-3 events/transaction) -> relay -> "
        f"RabbitMQ -> consumer with inbox | {pipe['seconds']} | {pipe['rate_per_s']} "
        f"| {pipe['python_cpu_us_per_event']} |",
        f"| the same with the writers committing meanwhile, in the relay's process "
        f"| {live['seconds']} | {live['rate_per_s']} | {live['python_cpu_us_per_event']} |",
        f"| (the writers alone, no relay running) | | {live['writers_alone_rate_per_s']} | |",
        "",
        f"Pipeline / raw throughput ratio: **{results['ratio']:.2f}** "
        f"(with the writers running: {results['ratio_with_writers']:.2f}; "
        f"their own commit rate / raw: {results['writers_vs_raw']:.2f})",
        "",
        f"One event per transaction, {commits['writers']} at once: PostgreSQL commits "
        f"{commits['postgres_commits_per_s']}/s (psycopg alone), the writers "
        f"{commits['writers_commits_per_s']}/s (SQLAlchemy + outbox, relay and consumer at "
        f"work; {commits['writers_python_cpu_us_per_commit']} µs of the producing process's "
        "CPU a commit, its relay's share included)",
        "",
        *latency_table(
            lat,
            {
                "at_rate": f"at {RATE}/s from {LATENCY_INSTANCES} writing instances",
                "at_half": "at half that rate",
            },
        ),
        "",
        "",
        "(broker alone: raw aio-pika at the same rate, one persistent message per time slot to a "
        "quorum queue, each publish awaiting its confirm, from the call to the consumer's "
        "callback)",
        "",
        *stage_table(lat),
    ]
    return "\n".join(lines)


async def latency_only() -> None:
    """``EVENTS_BENCH_ONLY=latency``: the latency runs alone, nothing written to results."""
    rounds = int(os.environ.get("EVENTS_BENCH_LATENCY_ROUNDS", "1"))
    for round_ in range(rounds):
        load = load_average()
        database_url = create_test_database("swe_bench_events")
        try:
            latency = (await bench_pipeline(database_url))["latency"]
        finally:
            drop_test_database(database_url)
        print(f"round {round_ + 1} (load average {load})")
        print("\n".join([*latency_table(latency, {}), "", *stage_table(latency), ""]))


async def main() -> None:
    quiet()
    if ONLY == "latency":
        await latency_only()
        return
    started = time.perf_counter()
    load = load_average()
    # Raw before and after the pipeline: the machine is shared, so bracket it.
    raw_before = await bench_raw()
    database_url = create_test_database("swe_bench_events")
    try:
        pipeline = await bench_pipeline(database_url)
    finally:
        drop_test_database(database_url)
    raw_after = await bench_raw()
    raw = {
        "before": raw_before,
        "after": raw_after,
        "seconds": round((raw_before["seconds"] + raw_after["seconds"]) / 2, 3),
        "rate_per_s": round((raw_before["rate_per_s"] + raw_after["rate_per_s"]) / 2),
        "python_cpu_us_per_event": round(
            (raw_before["python_cpu_us_per_event"] + raw_after["python_cpu_us_per_event"]) / 2
        ),
    }
    throughput, live = pipeline["throughput"], pipeline["with_writers"]
    results = {
        "benchmark": "events",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        "load_average": load,
        "n": N,
        "raw": raw,
        "pipeline": {"throughput": throughput, "with_writers": live},
        "commit_rate": pipeline["commit_rate"],
        "latency": pipeline["latency"],
        "ratio": round(throughput["rate_per_s"] / raw["rate_per_s"], 3),
        "ratio_with_writers": round(live["rate_per_s"] / raw["rate_per_s"], 3),
        "writers_vs_raw": round(live["writers_alone_rate_per_s"] / raw["rate_per_s"], 3),
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    where = RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS
    print(f"\n(written to {where}; total {results['total_seconds']} s)")


if __name__ == "__main__":
    asyncio.run(main())
