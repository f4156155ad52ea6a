"""The event metrics an operator alerts on move when the thing happens, against the real
Postgres and RabbitMQ: the outbox backlog and its oldest row's age while the broker is away, a
queue's depth (the consumer's lag), a dead letter in the DLQ depth and the dead-lettered count,
and the time lag of a handled event."""

from __future__ import annotations

import asyncio

import aio_pika
from prometheus_client import REGISTRY

from swe_common.events import CloudEvent, Subscription, build_event
from swe_common.events.broker import Broker, event_message
from swe_common.events.dlq import replay_dead_letters
from swe_common.events.queue_metrics import QueueWatcher
from swe_common.testing import eventually, unique_name

TYPE = "evtest.note.added"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_outbox_backlog_and_oldest_age_grow_while_the_broker_is_away_and_clear_after(
    make_settings, db, schema, runtimes, rabbit, gate, add_notes
):
    settings = make_settings(amqp_url=gate.url, outbox_poll_seconds=0.1)
    runtime = runtimes(settings, db, schema.tables)
    await runtime.start()
    await rabbit.tap(settings.events_exchange)
    await add_notes(("b-1", 1), ("b-2", 1))

    async def backlog_of_two() -> bool:
        return sample("swe_outbox_backlog", schema="evtest") == 2

    await eventually(backlog_of_two, timeout=10)
    first = sample("swe_outbox_oldest_unpublished_age_seconds", schema="evtest")
    await asyncio.sleep(0.3)
    # Computed at scrape time: it grows between two counts.
    assert sample("swe_outbox_oldest_unpublished_age_seconds", schema="evtest") > first > 0

    await gate.open()

    async def drained() -> bool:
        return (
            sample("swe_outbox_backlog", schema="evtest") == 0
            and sample("swe_outbox_oldest_unpublished_age_seconds", schema="evtest") == 0
        )

    await eventually(drained, timeout=20)


async def test_queue_depth_counts_messages_waiting_for_a_consumer(make_settings, rabbit):
    settings = make_settings()
    queue = unique_name("evtest.lag")
    rabbit.queues.add(queue)
    channel = await rabbit.connection.channel()
    await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})
    for n in range(3):
        await channel.default_exchange.publish(aio_pika.Message(f"{n}".encode()), queue)
    await channel.close()
    broker = Broker.from_settings(settings)
    await broker.start()
    watcher = QueueWatcher(broker, [queue])
    try:
        await broker.wait_connected()

        async def three() -> bool:
            depths = await watcher.refresh()
            return depths[queue].messages == 3

        await eventually(three, timeout=10)
        assert sample("swe_events_queue_messages", queue=queue) == 3
        # No DLQ declared for it: reported as unknown, not as zero, and nothing is created.
        assert watcher.last[queue].dead_letters is None
        await watcher.refresh()  # the channel closed by the missing DLQ is replaced
        assert watcher.last[queue].messages == 3
    finally:
        await watcher.stop()
        await broker.close()


async def test_a_dead_lettered_event_raises_the_dlq_depth_and_the_dead_lettered_count(
    make_settings, db, schema, runtimes, rabbit, add_notes
):
    broken = True

    async def handler(session, event: CloudEvent) -> None:
        if broken:
            raise RuntimeError("boom")

    settings = make_settings(queue_metrics_seconds=0.1)
    queue = unique_name("evtest.metrics")
    rabbit.consumer_queues(queue, settings.consumer_retry_delays_ms)
    runtime = runtimes(settings, db, schema.tables, [Subscription(queue, {TYPE: handler})])
    await runtime.start()
    [consumer] = runtime.consumers
    await asyncio.wait_for(consumer.wait_consuming(), 10)

    async def dlq_depth_is(expected: float) -> bool:
        return sample("swe_events_dlq_messages", queue=queue) == expected and (
            REGISTRY.get_sample_value("swe_events_dlq_messages", {"queue": queue}) is not None
        )

    await eventually(lambda: dlq_depth_is(0), timeout=10)
    labels = {"queue": queue, "type": TYPE}
    dead_before = sample("swe_events_handled_total", **labels, outcome="dead_lettered")
    await add_notes(("d-1", 1))

    await eventually(lambda: dlq_depth_is(1), timeout=20)
    dead = sample("swe_events_handled_total", **labels, outcome="dead_lettered")
    assert dead == dead_before + 1
    assert sample("swe_events_handled_total", **labels, outcome="retried") == 2

    # Fixed and replayed: handled once, the DLQ empty again, its lag observed.
    broken = False
    lag_before = sample("swe_event_lag_seconds_count", queue=queue)

    await replay_dead_letters(settings.amqp_url.get_secret_value(), queue)
    await eventually(lambda: dlq_depth_is(0), timeout=20)

    async def lag_observed() -> bool:
        return sample("swe_event_lag_seconds_count", queue=queue) == lag_before + 1

    await eventually(lag_observed, timeout=10)
    # The event was created before its three attempts and the replay: its lag says so.
    assert sample("swe_event_lag_seconds_sum", queue=queue) > 0


async def test_a_published_event_handled_at_once_has_a_small_lag(
    make_settings, db, schema, runtimes, rabbit
):
    async def handler(session, event: CloudEvent) -> None:
        return None

    settings = make_settings()
    queue = unique_name("evtest.lag")
    rabbit.consumer_queues(queue, settings.consumer_retry_delays_ms)
    runtime = runtimes(settings, db, schema.tables, [Subscription(queue, {TYPE: handler})])
    await runtime.start()
    await asyncio.wait_for(runtime.consumers[0].wait_consuming(), 10)
    event = build_event(source="evtest", type_=TYPE, data={"aggregate": "l-1"}, subject="l-1")
    await rabbit.publish(settings.events_exchange, event_message(event), TYPE)

    async def observed() -> bool:
        return sample("swe_event_lag_seconds_count", queue=queue) == 1

    await eventually(observed, timeout=10)
    assert 0 <= sample("swe_event_lag_seconds_sum", queue=queue) < 10
