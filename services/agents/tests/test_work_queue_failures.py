"""The worker's run queue follows the common consumer's rules: a run message whose processing
keeps failing is retried with backoff, parked in ``<work queue>.dlq`` after
``consumer_max_attempts`` attempts (the run itself untouched: each attempt rolled back), and
``swe-events dlq replay`` gives it back to the worker; a message that is not a run message goes
straight to the DLQ. Real RabbitMQ and PostgreSQL; each test has a work queue of its own."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import sqlalchemy as sa

from swe_agents.queue import declare_work_queue
from swe_agents.settings import Settings
from swe_agents.worker import Worker
from swe_common.events.cli import main as swe_events
from swe_common.events.dlq import DeadLetter, list_dead_letters
from swe_common.testing import TokenFactory, eventually, unique_name

from .conftest import AMQP, wait_run


@pytest.fixture
async def own_queue(settings: Settings, app: Any) -> AsyncIterator[Settings]:
    """The test's settings with a work queue of its own, declared (with its DLQ and retry
    queues) before any run is queued, so it gets the test's run messages and no others."""
    own = settings.model_copy(update={"work_queue": unique_name("agents.runs")})
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        await declare_work_queue(channel, own)
        yield own
        for delay in own.consumer_retry_delays_ms:
            await channel.queue_delete(f"{own.work_queue}.retry.{delay}ms")
        await channel.queue_delete(f"{own.work_queue}.dlq")
        await channel.queue_delete(own.work_queue)


@pytest.fixture
async def start_worker() -> AsyncIterator[Any]:
    started: list[tuple[Worker, asyncio.Task[None]]] = []

    async def start(settings: Settings) -> Worker:
        worker = Worker(settings)
        task = asyncio.create_task(worker.run())
        started.append((worker, task))
        await asyncio.wait_for(worker.ready.wait(), 20)
        return worker

    yield start
    for worker, task in started:
        worker.stop()
        await asyncio.wait_for(task, 30)


async def _dead_letters(queue: str, count: int) -> list[DeadLetter] | None:
    letters = await list_dead_letters(AMQP, queue)
    return letters if len(letters) >= count else None


async def test_a_run_message_that_keeps_failing_is_dead_lettered_and_replays_with_the_cli(
    client: Any,
    tokens: TokenFactory,
    projects: Any,
    planted: Path,
    engine: Any,
    own_queue: Settings,
    start_worker: Any,
) -> None:
    owner = uuid.uuid4()
    headers = tokens.headers(owner)
    project = await projects.create(owner, f"file://{planted}")
    body = {"project_id": str(project), "name": "analyzer", "type": "code_analyzer"}
    agent = (await client.post("/api/v1/agents", json=body, headers=headers)).json()
    run = (
        await client.post(f"/api/v1/agents/{agent['id']}/start", json={}, headers=headers)
    ).json()
    # A run row the worker cannot process (its trigger is not an object): every attempt fails.
    async with engine.begin() as conn:
        trigger = await conn.scalar(
            sa.text("SELECT trigger FROM agents.runs WHERE id = :id"), {"id": run["id"]}
        )
        await conn.execute(
            sa.text("UPDATE agents.runs SET trigger = '[]'::jsonb WHERE id = :id"),
            {"id": run["id"]},
        )
    await start_worker(own_queue)

    letters = await eventually(lambda: _dead_letters(own_queue.work_queue, 1), timeout=30)
    [letter] = letters
    assert letter.attempts == own_queue.consumer_max_attempts
    assert letter.event_type == "agents.run.queued"
    assert letter.error is not None and letter.error.startswith("AttributeError")
    assert letter.queue == own_queue.work_queue
    # Nothing half-done: each failed attempt was rolled back, the run still waits.
    async with engine.connect() as conn:
        waiting = await conn.execute(
            sa.text("SELECT status, attempts FROM agents.runs WHERE id = :id"), {"id": run["id"]}
        )
        assert tuple(waiting.one()) == ("pending", 0)

    async with engine.begin() as conn:  # the operator fixes the cause...
        await conn.execute(
            sa.text("UPDATE agents.runs SET trigger = CAST(:t AS jsonb) WHERE id = :id"),
            {"t": json.dumps(trigger), "id": run["id"]},
        )
    replay = ["dlq", "replay", own_queue.work_queue, "--all", "--amqp-url", AMQP]
    assert await asyncio.to_thread(swe_events, replay) == 0  # ...and replays the message

    done = await wait_run(client, headers, run["id"], "completed", "failed", timeout=90)
    assert (done["status"], done["attempts"]) == ("completed", 1)
    assert await list_dead_letters(AMQP, own_queue.work_queue) == []


async def test_a_message_that_is_not_a_run_message_goes_straight_to_the_dlq(
    own_queue: Settings, start_worker: Any
) -> None:
    await start_worker(own_queue)
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(b'{"not": "a cloudevent"}', message_id="garbage-1"),
            routing_key=own_queue.work_queue,
        )
    letters = await eventually(lambda: _dead_letters(own_queue.work_queue, 1), timeout=20)
    assert [(d.attempts, d.error_type) for d in letters] == [(0, "Unreadable")]
    assert letters[0].error is not None and letters[0].error.startswith("not a run message")
