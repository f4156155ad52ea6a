"""Domain events: CloudEvents on one RabbitMQ topic exchange, a transactional outbox with a
relay, idempotent consumers with an inbox, retries and a dead-letter queue.

A service defines its event tables on its metadata, publishes through :class:`Outbox` inside
its request transaction, declares its :class:`Subscription` s, and runs one
:class:`EventRuntime` in its lifespan.
"""

from swe_common.events.catalog import EventCatalog, EventSpec
from swe_common.events.consumer import EventConsumer, Handler, Subscription
from swe_common.events.envelope import CloudEvent, build_event
from swe_common.events.outbox import Outbox
from swe_common.events.relay import OutboxRelay
from swe_common.events.runtime import EventRuntime
from swe_common.events.tables import (
    EventTables,
    create_event_tables,
    define_event_tables,
    drop_event_tables,
)

__all__ = [
    "CloudEvent",
    "EventCatalog",
    "EventConsumer",
    "EventRuntime",
    "EventSpec",
    "EventTables",
    "Handler",
    "Outbox",
    "OutboxRelay",
    "Subscription",
    "build_event",
    "create_event_tables",
    "define_event_tables",
    "drop_event_tables",
]
