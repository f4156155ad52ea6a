"""Fixtures: a throwaway database migrated with the analytics migrations, the app running with
its consumer on a unique exchange and queue, and a token factory standing in for auth."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import ExchangeType

from swe_analytics.ingest.service import ingest
from swe_analytics.main import create_app
from swe_analytics.settings import Settings
from swe_common.db import Database
from swe_common.events import CloudEvent
from swe_common.events.consumer import dlq_name, retry_queue_name
from swe_common.migrations import upgrade_head
from swe_common.testing import (
    TokenFactory,
    create_test_database,
    drop_test_database,
    running_app,
    unique_name,
)

SERVICE_DIR = Path(__file__).resolve().parents[1]
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
RETRY_DELAYS = [200]


@dataclass
class Env:
    """One running analytics service over its own database, exchange and queue."""

    settings: Settings
    app: Any
    client: Any
    db: Database
    queue: str
    tokens: TokenFactory

    async def ingest(self, events: Sequence[CloudEvent]) -> int:
        async with self.db.transaction() as session:
            return await ingest(session, events)

    def as_user(self, user: uuid.UUID) -> dict[str, str]:
        return self.tokens.headers(user, roles=("user",))

    def as_admin(self) -> dict[str, str]:
        return self.tokens.headers(uuid.uuid4(), roles=("admin",))

    async def publish(self, events: Sequence[CloudEvent]) -> None:
        connection = await aio_pika.connect(AMQP_URL)
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(
                self.settings.events_exchange, ExchangeType.TOPIC, durable=True
            )
            for event in events:
                message = aio_pika.Message(
                    body=event.to_json(),
                    message_id=event.id,
                    content_type="application/cloudevents+json",
                )
                await exchange.publish(message, routing_key=event.type)
        finally:
            await connection.close()


async def _delete_broker_objects(exchange: str, queue: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel()
        for name in (queue, dlq_name(queue), *(retry_queue_name(queue, d) for d in RETRY_DELAYS)):
            await channel.queue_delete(name)
        await channel.exchange_delete(exchange)
    finally:
        await connection.close()


@asynccontextmanager
async def analytics_env(tokens: TokenFactory, **overrides: Any) -> AsyncIterator[Env]:
    url = create_test_database("swe_test_analytics")
    queue = unique_name("analytics.events")
    values: dict[str, Any] = {
        "database_url": url,
        "environment": "test",
        "events_exchange": unique_name("swe.events.test"),
        "redis_key_prefix": unique_name("swe:test:analytics"),
        "consumer_retry_delays_ms": RETRY_DELAYS,
        "consumer_max_attempts": 3,
        "db_pool_size": 5,
        **overrides,
    }
    settings = Settings(**values)
    try:
        upgrade_head(SERVICE_DIR, url)
        app = create_app(settings, queue=queue)
        app.state.token_verifier = tokens.verifier()
        db = Database(settings)
        try:
            async with running_app(app) as client:
                yield Env(settings, app, client, db, queue, tokens)
        finally:
            await db.dispose()
            await _delete_broker_objects(settings.events_exchange, queue)
    finally:
        drop_test_database(url)


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture(scope="session")
async def env(tokens: TokenFactory) -> AsyncIterator[Env]:
    """Shared by tests that only look at their own (fresh-id) projects."""
    async with analytics_env(tokens) as shared:
        yield shared


@pytest.fixture
async def fresh_env(tokens: TokenFactory) -> AsyncIterator[Env]:
    """For tests that look at everything (admins, rebuild): nobody else's events in sight."""
    async with analytics_env(tokens) as own:
        yield own
