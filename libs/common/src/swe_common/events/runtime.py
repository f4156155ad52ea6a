"""Everything a service process runs for events, started and stopped by the app's lifespan.

``EventRuntime(settings, db, tables, subscriptions)``: one broker connection, the outbox relay
(when the service publishes, i.e. ``tables`` is given), one consumer per subscription, and the
queue-depth gauges of the consumers' queues (and of ``watched_queues``) with their DLQs.
``start()`` returns at once, RabbitMQ up or not; the pieces connect in the background.
``stop()`` stops taking messages, lets the handlers in flight finish, lets the relay finish its
batch, then closes the connection.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from swe_common.db import Database
from swe_common.events.broker import Broker
from swe_common.events.consumer import EventConsumer, Subscription
from swe_common.events.queue_metrics import QueueWatcher
from swe_common.events.relay import OutboxRelay
from swe_common.events.tables import EventTables
from swe_common.settings import ServiceSettings

log = structlog.stdlib.get_logger(__name__)


class EventRuntime:
    def __init__(
        self,
        settings: ServiceSettings,
        db: Database,
        tables: EventTables | None,
        subscriptions: Sequence[Subscription] = (),
        *,
        watched_queues: Sequence[str] = (),
    ) -> None:
        queues = [s.queue for s in subscriptions]
        if len(set(queues)) != len(queues):
            raise ValueError(f"two subscriptions share a queue: {queues}")
        if subscriptions and tables is None:
            raise ValueError("consuming needs the service's event tables (for the inbox)")
        self.settings = settings
        self.db = db
        self.broker = Broker.from_settings(settings)
        self.relay: OutboxRelay | None = (
            OutboxRelay(settings, db, tables, self.broker) if tables is not None else None
        )
        self.consumers: list[EventConsumer] = [
            EventConsumer(settings, db, tables, subscription, self.broker)  # type: ignore[arg-type]
            for subscription in subscriptions
        ]
        self.queue_watcher = QueueWatcher(
            self.broker,
            [*queues, *watched_queues],
            interval_seconds=settings.queue_metrics_seconds,
        )
        self._started = False

    @property
    def is_connected(self) -> bool:
        """Whether RabbitMQ is connected right now (for ``/health/ready``)."""
        return self.broker.is_connected

    async def start(self) -> None:
        """Start connecting, relaying and consuming in the background; returns promptly."""
        if self._started:
            return
        self._started = True
        await self.broker.start()
        if self.relay is not None:
            await self.relay.start()
        for consumer in self.consumers:
            await consumer.start()
        await self.queue_watcher.start()
        log.info(
            "events_started",
            relay=self.relay is not None,
            queues=[c.queue_name for c in self.consumers],
        )

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await self.queue_watcher.stop()
        for consumer in self.consumers:
            await consumer.stop()
        if self.relay is not None:
            await self.relay.stop()
        await self.broker.close()
        log.info("events_stopped")
