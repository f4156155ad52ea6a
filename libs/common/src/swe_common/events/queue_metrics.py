"""Queue depths on /metrics: how many messages wait in each queue a process consumes (the
consumer's lag, in messages) and in its dead-letter queue.

Read from RabbitMQ with a passive ``queue.declare`` per queue on one channel of the process's
broker connection, every ``queue_metrics_seconds`` by a background task (never per request or
per scrape), each round bounded by a timeout. A queue that does not exist yet (its consumer has
not declared it) is skipped, not created.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import aiormq
import structlog
from aio_pika.abc import AbstractRobustChannel
from prometheus_client import Gauge

from swe_common.events.broker import Broker
from swe_common.tasks import cancel_and_wait

log = structlog.stdlib.get_logger(__name__)

QUEUE_MESSAGES = Gauge(
    "swe_events_queue_messages",
    "Messages ready in a queue this process consumes, not yet taken by a consumer: the "
    "consumer's lag in messages (read from RabbitMQ every SWE_QUEUE_METRICS_SECONDS)",
    ["queue"],
)
DLQ_MESSAGES = Gauge(
    "swe_events_dlq_messages",
    "Messages parked in a queue's dead-letter queue (<queue>.dlq), waiting for an operator "
    "(swe-events dlq list/replay)",
    ["queue"],
)


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    messages: int | None  # None: the queue does not exist (yet)
    dead_letters: int | None
    consumers: int | None

    def as_dict(self) -> dict[str, int | None]:
        return {
            "messages": self.messages,
            "dead_letters": self.dead_letters,
            "consumers": self.consumers,
        }


class QueueWatcher:
    """Reads the depth of ``queues`` and their DLQs into the gauges, in the background."""

    def __init__(
        self,
        broker: Broker,
        queues: Sequence[str],
        *,
        interval_seconds: float = 15.0,
        timeout_seconds: float = 5.0,
    ) -> None:
        self.broker = broker
        self.queues = list(dict.fromkeys(queues))
        self.interval_seconds = interval_seconds
        self.timeout_seconds = timeout_seconds
        self.last: dict[str, QueueDepth] = {}
        self._gauges = {q: (QUEUE_MESSAGES.labels(q), DLQ_MESSAGES.labels(q)) for q in self.queues}
        self._channel: AbstractRobustChannel | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        if self.queues and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="swe-queue-metrics")

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            await cancel_and_wait([task])
        await self._close_channel()

    async def _loop(self) -> None:
        # Not `while True`: a read that turns the stop's cancellation into an error (aiormq
        # mid-RPC) must not keep the loop going.
        while not self._stopping:
            try:
                await self.broker.wait_connected()
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("queue_metrics_failed", error=f"{exc.__class__.__name__}: {exc}")
            await asyncio.sleep(self.interval_seconds)

    async def refresh(self) -> dict[str, QueueDepth]:
        """Read every queue now (one round at a time); the gauges and ``last`` are updated."""
        async with self._lock, asyncio.timeout(self.timeout_seconds):
            depths = {}
            for queue in self.queues:
                messages, consumers = await self._depth(queue)
                dead, _ = await self._depth(f"{queue}.dlq")
                depth = QueueDepth(queue, messages, dead, consumers)
                ready, parked = self._gauges[queue]
                if messages is not None:
                    ready.set(messages)
                if dead is not None:
                    parked.set(dead)
                depths[queue] = depth
            self.last = depths
            return depths

    async def _depth(self, queue: str) -> tuple[int | None, int | None]:
        channel = self._channel
        if channel is None or channel.is_closed:
            channel = self._channel = await self.broker.connection.channel()
        try:
            # robust=False: a passive look is not to be repeated on every reconnection.
            declared = await channel.declare_queue(queue, passive=True, robust=False)
        except aiormq.exceptions.ChannelNotFoundEntity:
            # RabbitMQ closes the channel on a missing queue: the next read opens another.
            await self._close_channel()
            return None, None
        result = declared.declaration_result
        return int(result.message_count or 0), int(result.consumer_count or 0)

    async def _close_channel(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(Exception):
                await channel.close()
