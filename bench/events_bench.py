"""Event bus benchmark: what the outbox + relay + inbox cost against raw aio-pika.

1. raw: aio-pika publishes N messages to a quorum queue with publisher confirms (a window of
   messages in flight) while a consumer acks them; rate = N / time until the last is acked.
2. pipeline: N events written through ``Outbox.publish`` in committed transactions of
   ``TX_SIZE`` events, relayed to RabbitMQ by ``OutboxRelay`` and handled by an ``EventConsumer``
   (inbox row + no-op handler, one transaction per event); rate = N / time from the first
   insert to the last handled event.
3. latency: events committed one per transaction at a steady ``RATE`` per second; time from
   the commit returning to the handler being called, p50/p99.

Fresh database, unique exchange and queue names, everything removed afterwards.
Run: ``uv run python bench/events_bench.py`` (``EVENTS_BENCH_N`` to change N).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika
import sqlalchemy as sa
import structlog
from aio_pika.abc import AbstractIncomingMessage, DeliveryMode
from prometheus_client import REGISTRY
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from swe_common.db import Database, schema_metadata
from swe_common.events import (
    CloudEvent,
    EventCatalog,
    EventRuntime,
    Outbox,
    Subscription,
    define_event_tables,
)
from swe_common.events.consumer import dlq_name, retry_queue_name
from swe_common.settings import ServiceSettings
from swe_common.testing import create_test_database, drop_test_database, unique_name

AMQP_URL = os.environ.get("SWE_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
N = int(os.environ.get("EVENTS_BENCH_N", "20000"))
TX_SIZE = 500  # events per committed transaction in the throughput run
RAW_WINDOW = 1000  # raw publishes in flight at once
RAW_PREFETCH = 256
RATE = 200  # events per second in the latency run
LATENCY_SECONDS = 5.0
AGGREGATES = 1000
SCHEMA = "evbench"
RESULTS = Path(__file__).parent / "results" / "events.json"


class Tick(BaseModel):
    aggregate: str
    seq: int


catalog = EventCatalog("evbench")
TICKED = catalog.define("evbench.clock.ticked", Tick, "benchmark event")


async def bench_raw(connection: aio_pika.abc.AbstractConnection) -> dict[str, Any]:
    queue_name = unique_name("evbench.raw")
    publish_channel = await connection.channel(publisher_confirms=True)
    consume_channel = await connection.channel(publisher_confirms=False)
    await consume_channel.set_qos(prefetch_count=RAW_PREFETCH)
    queue = await consume_channel.declare_queue(
        queue_name, durable=True, arguments={"x-queue-type": "quorum"}
    )
    done = asyncio.Event()
    received = 0

    async def on_message(message: AbstractIncomingMessage) -> None:
        nonlocal received
        await message.ack()
        received += 1
        if received == N:
            done.set()

    await queue.consume(on_message)
    body = CloudEvent(source="evbench", type=TICKED.type, data={"aggregate": "a", "seq": 0})
    payload = body.to_json()
    started = time.perf_counter()
    for first in range(0, N, RAW_WINDOW):
        await asyncio.gather(
            *(
                publish_channel.default_exchange.publish(
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
    published = time.perf_counter() - started
    await asyncio.wait_for(done.wait(), 120)
    elapsed = time.perf_counter() - started
    await queue.delete(if_unused=False, if_empty=False)
    await publish_channel.close()
    await consume_channel.close()
    return {
        "messages": N,
        "publish_seconds": round(published, 3),
        "seconds": round(elapsed, 3),
        "rate_per_s": round(N / elapsed),
    }


def handled_ok(queue: str) -> float:
    value = REGISTRY.get_sample_value(
        "swe_events_handled_total", {"queue": queue, "type": TICKED.type, "outcome": "ok"}
    )
    return value or 0.0


async def wait_for(predicate: Any, timeout: float, interval: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark stage did not finish in time")
        await asyncio.sleep(interval)


async def bench_pipeline(database_url: str) -> dict[str, Any]:
    metadata = schema_metadata(SCHEMA)
    tables = define_event_tables(metadata)
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    await engine.dispose()

    exchange = unique_name("swe.events.bench")
    queue = unique_name("evbench.consumer")
    settings = ServiceSettings(
        service_name="evbench",
        database_url=database_url,
        db_schema=SCHEMA,
        events_exchange=exchange,
        amqp_url=AMQP_URL,
    )
    db = Database(settings)
    outbox = Outbox(tables, source="evbench")
    handled_at: dict[str, float] = {}

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        handled_at[event.id] = time.perf_counter()

    runtime = EventRuntime(settings, db, tables, [Subscription(queue, {TICKED.type: handle})])
    result: dict[str, Any] = {}
    try:
        await runtime.start()
        await asyncio.wait_for(runtime.consumers[0].wait_consuming(), 15)
        assert runtime.relay is not None

        # Throughput: N events in transactions of TX_SIZE, as fast as one writer goes.
        started = time.perf_counter()
        seq = 0
        for _ in range(0, N, TX_SIZE):
            async with db.transaction() as session:
                for _ in range(TX_SIZE):
                    seq += 1
                    await outbox.publish(
                        session,
                        TICKED,
                        Tick(aggregate=f"agg-{seq % AGGREGATES}", seq=seq),
                        subject=f"agg-{seq % AGGREGATES}",
                    )
        inserted = time.perf_counter() - started
        await wait_for(lambda: runtime.relay.published_count >= N, 180)
        relayed = time.perf_counter() - started
        await wait_for(lambda: handled_ok(queue) >= N, 180)
        elapsed = time.perf_counter() - started
        result["throughput"] = {
            "events": N,
            "events_per_transaction": TX_SIZE,
            "insert_seconds": round(inserted, 3),
            "published_seconds": round(relayed, 3),
            "seconds": round(elapsed, 3),
            "rate_per_s": round(N / elapsed),
            "insert_rate_per_s": round(N / inserted),
            "relay_rate_per_s": round(N / relayed),
        }

        # Latency: one event per transaction at a steady rate.
        handled_at.clear()
        committed_at: dict[str, float] = {}
        count = int(RATE * LATENCY_SECONDS)
        begin = time.perf_counter()
        for i in range(count):
            target = begin + i / RATE
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            async with db.transaction() as session:
                event = await outbox.publish(
                    session, TICKED, Tick(aggregate=f"lat-{i % 50}", seq=i), subject=f"lat-{i}"
                )
            committed_at[event.id] = time.perf_counter()
        await wait_for(lambda: all(e in handled_at for e in committed_at), 60)
        latencies = sorted((handled_at[e] - committed_at[e]) * 1000 for e in committed_at)
        result["latency"] = {
            "events": count,
            "rate_per_s": RATE,
            "p50_ms": round(statistics.median(latencies), 2),
            "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
            "max_ms": round(latencies[-1], 2),
        }
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


def markdown(results: dict[str, Any]) -> str:
    raw, pipe, lat = results["raw"], results["pipeline"]["throughput"], results["latency"]
    lines = [
        f"Event bus benchmark, N = {N} ({results['machine']})",
        "",
        "| path | events | seconds | events/s |",
        "|---|---:|---:|---:|",
        f"| raw aio-pika publish (confirms) + consume, quorum queue "
        f"| {raw['messages']} | {raw['seconds']} | {raw['rate_per_s']} |",
        f"| outbox -> relay -> RabbitMQ -> consumer with inbox "
        f"| {pipe['events']} | {pipe['seconds']} | {pipe['rate_per_s']} |",
        f"| (of which: outbox inserts, {TX_SIZE}/transaction) "
        f"| {pipe['events']} | {pipe['insert_seconds']} | {pipe['insert_rate_per_s']} |",
        f"| (of which: all relayed, from first insert) "
        f"| {pipe['events']} | {pipe['published_seconds']} | {pipe['relay_rate_per_s']} |",
        "",
        f"Pipeline / raw throughput ratio: **{results['ratio']:.2f}**",
        "",
        f"Commit-to-handled latency at {lat['rate_per_s']} events/s ({lat['events']} events, "
        f"one per transaction): p50 **{lat['p50_ms']} ms**, p99 **{lat['p99_ms']} ms**, "
        f"max {lat['max_ms']} ms",
    ]
    return "\n".join(lines)


async def main() -> None:
    logging.disable(logging.WARNING)  # keep the output to the results
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        cache_logger_on_first_use=False,
    )
    started = time.perf_counter()
    connection = await aio_pika.connect(AMQP_URL)
    try:
        raw = await bench_raw(connection)
    finally:
        await connection.close()
    database_url = create_test_database("swe_bench_events")
    try:
        pipeline = await bench_pipeline(database_url)
    finally:
        drop_test_database(database_url)
    results = {
        "benchmark": "events",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        "n": N,
        "raw": raw,
        "pipeline": {"throughput": pipeline["throughput"]},
        "latency": pipeline["latency"],
        "ratio": round(pipeline["throughput"]["rate_per_s"] / raw["rate_per_s"], 3),
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(markdown(results))
    where = RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS
    print(f"\n(written to {where}; total {results['total_seconds']} s)")


if __name__ == "__main__":
    asyncio.run(main())
