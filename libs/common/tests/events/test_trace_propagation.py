"""The trace context a CloudEvent carries, through the outbox, the relay's publish and RabbitMQ
to the consumer: each handling is a span of the trace that wrote the event."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from swe_common import tracing
from swe_common.context import current_trace, traceparent_var
from swe_common.events import CloudEvent, Subscription
from swe_common.testing import eventually, unique_name

TYPE = "evtest.note.added"


async def start_consumer(make_settings, db, schema, runtimes, rabbit, handler, max_batch=100):
    settings = make_settings()
    queue = unique_name("evtest.traced")
    rabbit.consumer_queues(queue, settings.consumer_retry_delays_ms)
    subscription = Subscription(queue, {TYPE: handler}, max_batch=max_batch)
    runtime = runtimes(settings, db, schema.tables, [subscription])
    await runtime.start()
    [consumer] = runtime.consumers
    await asyncio.wait_for(consumer.wait_consuming(), 10)
    return settings, runtime


@pytest.fixture
def exporter():
    spans = InMemorySpanExporter()
    with tracing.tracing_to(spans, process="evtest"):
        yield spans


def _hex(span_id: int) -> str:
    return format(span_id, "016x")


@pytest.mark.parametrize("max_batch", [1, 100])
async def test_the_consumer_span_is_the_child_of_the_publish_which_is_the_writers_child(
    exporter, make_settings, db, schema, runtimes, rabbit, add_notes, max_batch
):
    seen: dict[str, tuple[str | None, str | None, str | None]] = {}

    async def handler(session, event: CloudEvent) -> None:
        context = current_trace()
        seen[event.id] = (tracing.current_traceparent(), context.traceparent, event.traceparent)

    settings, runtime = await start_consumer(
        make_settings, db, schema, runtimes, rabbit, handler, max_batch=max_batch
    )
    tap = await rabbit.tap(settings.events_exchange, TYPE)
    with tracing.span("request") as request:
        # As ServiceMiddleware does: the request's span rides in the events it writes.
        token = traceparent_var.set(tracing.current_traceparent())
        try:
            ids = await add_notes(("t-1", 1), ("t-2", 1), ("t-3", 1))
        finally:
            traceparent_var.reset(token)
    assert request is not None
    await eventually(lambda: asyncio.sleep(0, len(seen) == 3), timeout=15)
    await eventually(lambda: asyncio.sleep(0, len(tap.messages) == 3), timeout=15)

    finished = exporter.get_finished_spans()
    trace_id = request.get_span_context().trace_id
    by_name: dict[str, list[Any]] = {}
    for span in finished:
        by_name.setdefault(span.name, []).append(span)
    publishes = {s.attributes["messaging.message.id"]: s for s in by_name[f"publish {TYPE}"]}
    processes = {s.attributes["messaging.message.id"]: s for s in by_name[f"process {TYPE}"]}
    assert set(publishes) == set(processes) == set(ids)
    for event_id in ids:
        published, processed = publishes[event_id], processes[event_id]
        # One trace: writer -> publish (producer) -> process (consumer).
        assert published.context.trace_id == processed.context.trace_id == trace_id
        assert published.kind is SpanKind.PRODUCER and processed.kind is SpanKind.CONSUMER
        assert published.parent.span_id == request.get_span_context().span_id
        assert processed.parent.span_id == published.context.span_id
        assert processed.attributes["messaging.consumer.group.name"]
        # The handler runs inside its span: what it writes continues the trace from there.
        inside, for_events, carried = seen[event_id]
        assert inside is not None and _hex(processed.context.span_id) in inside
        assert for_events == inside
        # The message on the wire carries the publish span's context, in the body and header.
        assert carried is not None and _hex(published.context.span_id) in carried
    for message in tap.messages:
        body = json.loads(message.body)
        assert message.headers["traceparent"] == body["traceparent"]
        assert _hex(publishes[body["id"]].context.span_id) in body["traceparent"]
    await runtime.stop()


async def test_with_tracing_off_the_event_keeps_the_writers_traceparent_and_no_span_is_made(
    make_settings, db, schema, runtimes, rabbit, add_notes
):
    assert not tracing.enabled()
    seen: list[tuple[str | None, str | None]] = []

    async def handler(session, event: CloudEvent) -> None:
        seen.append((event.traceparent, current_trace().traceparent))

    await start_consumer(make_settings, db, schema, runtimes, rabbit, handler)
    writer = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    token = traceparent_var.set(writer)
    try:
        await add_notes(("off-1", 1))
    finally:
        traceparent_var.reset(token)
    await eventually(lambda: asyncio.sleep(0, len(seen) == 1), timeout=15)
    assert seen == [(writer, writer)]
