"""Events leave through the outbox and reach RabbitMQ as CloudEvents."""

import asyncio
import json

import aio_pika
import pytest
from auth_testkit import register

from swe_auth.events import catalog


@pytest.fixture
async def auth_events(settings):
    """A private queue bound to every auth.* event on the test exchange."""
    connection = await aio_pika.connect(settings.amqp_url.get_secret_value())
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        settings.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, routing_key="auth.#")
    yield queue
    await connection.close()


async def _next_matching(queue, predicate, timeout=15.0):
    async def wait():
        async with queue.iterator() as messages:
            async for message in messages:
                async with message.process():
                    event = json.loads(message.body)
                    if predicate(event):
                        return event
        return None

    return await asyncio.wait_for(wait(), timeout)


async def test_registration_reaches_the_broker_as_a_cloudevent(client, auth_events):
    user = await register(client)
    event = await _next_matching(
        auth_events, lambda e: e["type"] == "auth.user.registered" and e["subject"] == user["id"]
    )
    assert event["specversion"] == "1.0"
    assert event["source"] == "/swe/auth"
    assert event["data"]["username"] == user["username"]


async def test_audit_events_reach_the_broker(client, auth_events):
    user = await register(client)
    event = await _next_matching(
        auth_events,
        lambda e: e["type"] == "auth.audit.recorded" and e["data"]["user_id"] == user["id"],
    )
    assert event["data"]["action"] == "user_registered"


def test_catalog_lists_every_agreed_auth_event():
    assert set(catalog.specs) == {
        "auth.user.registered",
        "auth.user.updated",
        "auth.user.disabled",
        "auth.token.revoked",
        "auth.password_reset.requested",
        "auth.email_verification.requested",
        "auth.registration.attempted",
        "auth.audit.recorded",
    }
