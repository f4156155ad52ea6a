"""Events published on the exchange by the other services reach the figures, once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aio_pika
import pytest
import sqlalchemy as sa
from aio_pika.abc import ExchangeType
from prometheus_client import REGISTRY

from swe_common.events import CloudEvent
from swe_common.events.dlq import list_dead_letters
from swe_common.testing import eventually

from .conftest import AMQP_URL, Env
from .factories import at, issue, project_history

pytestmark = pytest.mark.asyncio


async def _consuming(env: Env) -> None:
    consumer = env.app.state.events.consumers[0]
    await eventually(lambda: _true(consumer.consuming), timeout=15)


async def _true(value: bool) -> bool:
    return value


async def test_published_events_update_the_figures(env: Env) -> None:
    await _consuming(env)
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)

    await env.publish(history)

    async def figures() -> dict[str, Any] | None:
        response = await env.client.get(
            f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner)
        )
        body = response.json() if response.status_code == 200 else None
        return body if body and body["pull_requests"]["reviewed"] == 1 else None

    body = await eventually(figures, timeout=20)
    assert body["issues"]["resolved"] == 2
    assert body["runs"]["by_status"] == {"completed": 2, "failed": 1}


async def test_redelivered_events_are_stored_once(env: Env) -> None:
    await _consuming(env)
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)

    await env.publish(history)
    await env.publish(history)

    async def stored() -> int:
        async with env.db.transaction() as session:
            return int(
                await session.scalar(
                    sa.text(
                        "SELECT count(*) FROM analytics.event_inbox WHERE event_id = ANY(:ids)"
                    ),
                    {"ids": [e.id for e in history]},
                )
                or 0
            ) == len(history)

    await eventually(stored, timeout=20)
    async with env.db.transaction() as session:
        count = await session.scalar(
            sa.text("SELECT count(*) FROM analytics.events WHERE project_id = :p"),
            {"p": project_id},
        )
    body = (
        await env.client.get(f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner))
    ).json()
    assert count == len(history)
    assert body["issues"]["total"] == 3


async def test_sensitive_auth_events_are_not_subscribed(env: Env) -> None:
    keys = set(env.app.state.events.consumers[0].subscription.handlers)

    assert "auth.password_reset.requested" not in keys
    assert "auth.audit.recorded" not in keys
    assert {"projects.project.created", "issues.issue.resolved", "agents.run.completed"} <= keys


async def _batches(queue: str) -> tuple[float, float]:
    """(batches, messages) the queue's consumer handled in batches so far."""
    count = REGISTRY.get_sample_value("swe_event_batch_size_count", {"queue": queue}) or 0.0
    total = REGISTRY.get_sample_value("swe_event_batch_size_sum", {"queue": queue}) or 0.0
    return count, total


async def _publish_at_once(env: Env, events: list[CloudEvent]) -> None:
    """Publish without waiting for each confirm in turn, so the consumer gets a burst."""
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            env.settings.events_exchange, ExchangeType.TOPIC, durable=True
        )
        await asyncio.gather(
            *(
                exchange.publish(
                    aio_pika.Message(body=e.to_json(), message_id=e.id), routing_key=e.type
                )
                for e in events
            )
        )
    finally:
        await connection.close()


async def _stored(env: Env, project_id: uuid.UUID) -> int:
    async with env.db.transaction() as session:
        found = await session.scalar(
            sa.text("SELECT count(*) FROM analytics.events WHERE project_id = :p"),
            {"p": project_id},
        )
    return int(found or 0)


async def _figures(env: Env, owner: uuid.UUID, project_id: uuid.UUID) -> dict[str, Any]:
    response = await env.client.get(
        f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner)
    )
    return response.json() if response.status_code == 200 else {}


async def test_copies_inside_a_batch_and_across_batches_count_once(fresh_env: Env) -> None:
    env = fresh_env
    await _consuming(env)
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)
    burst = [e for pair in zip(history, history, strict=True) for e in pair]  # each twice

    await _publish_at_once(env, burst)
    await eventually(lambda: _equal(_stored(env, project_id), len(history)), timeout=20)
    await _publish_at_once(env, history)  # and again, after the first copies were committed

    async def settled() -> bool:
        return (await _batches(env.queue))[1] >= 3 * len(history)

    await eventually(settled, timeout=20)
    batches, messages = await _batches(env.queue)
    body = await _figures(env, owner, project_id)
    assert messages > batches  # some messages were handled together
    assert await _stored(env, project_id) == len(history)
    assert body["issues"] == {**body["issues"], "total": 3, "resolved": 2}
    assert body["runs"]["by_status"] == {"completed": 2, "failed": 1}
    assert body["pull_requests"]["reviewed"] == 1


async def test_a_poison_event_in_a_batch_is_dead_lettered_alone(fresh_env: Env) -> None:
    env = fresh_env
    await _consuming(env)
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)
    created = at(7)
    # PostgreSQL's jsonb refuses the NUL character: this event can never be stored.
    poison = issue(uuid.uuid4(), project_id, "created", created=created, updated=created)
    poison.data["title"] = "nul \x00 inside"
    burst = [*history[:8], poison, *history[8:]]

    await _publish_at_once(env, burst)

    letters = await eventually(lambda: list_dead_letters(AMQP_URL, env.queue), timeout=30)
    assert [letter.event_id for letter in letters] == [poison.id]
    body = await eventually(lambda: _reviewed(env, owner, project_id), timeout=20)
    assert body["issues"]["total"] == 3
    assert body["runs"]["by_status"] == {"completed": 2, "failed": 1}
    assert await _stored(env, project_id) == len(history)


async def _reviewed(env: Env, owner: uuid.UUID, project_id: uuid.UUID) -> dict[str, Any] | None:
    body = await _figures(env, owner, project_id)
    return body if body and body["pull_requests"]["reviewed"] == 1 else None


async def _equal(awaitable, expected) -> bool:
    return await awaitable == expected
