"""The runs work queue: a durable quorum queue bound to ``agents.run.queued`` on the events
exchange, so the outbox relay feeds it and a run row and its work message commit together.

Both the API (before its relay may publish) and the worker declare it; declaring is idempotent.
"""

from __future__ import annotations

import asyncio

import structlog
from aio_pika.abc import AbstractChannel, AbstractQueue, ExchangeType

from swe_agents.events import RunQueued
from swe_agents.settings import Settings
from swe_common.events.broker import QUORUM_QUEUE, Broker
from swe_common.events.consumer import declare_failure_queues

log = structlog.stdlib.get_logger(__name__)


async def declare_work_queue(channel: AbstractChannel, settings: Settings) -> AbstractQueue:
    """The work queue, bound to ``agents.run.queued``, and its retry queues and DLQ (the common
    consumer's, see ``swe_common.events.consumer.FailureQueues``)."""
    exchange = await channel.declare_exchange(
        settings.events_exchange, ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(settings.work_queue, durable=True, arguments=QUORUM_QUEUE)
    await declare_failure_queues(channel, settings.work_queue, settings.consumer_retry_delays_ms)
    await queue.bind(exchange, RunQueued.type)
    return queue


async def ensure_work_queue(broker: Broker, settings: Settings) -> None:
    """Declare the queue as soon as the broker is connected (runs in the background)."""
    while True:
        try:
            await broker.wait_connected()
            channel = await broker.connection.channel()
            try:
                await declare_work_queue(channel, settings)
            finally:
                await channel.close()
            log.info("work_queue_declared", queue=settings.work_queue)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # broker flapping: try again shortly
            log.warning("work_queue_declare_failed", error=str(exc))
            await asyncio.sleep(2)
