from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from websockets.typing import Subprotocol

from swe_agents.main import create_app
from swe_agents.settings import Settings
from swe_agents.worker import Worker
from swe_common.events import build_event
from swe_common.security import WS_BEARER, WS_PROTOCOL, redis_revocation_check
from swe_common.testing import (
    TokenFactory,
    eventually,
    migrated_test_database,
    running_app,
    served,
    unique_name,
)
from swe_common.testing_llm import FakeProvider

from .fake_projects import FakeProjects
from .gitrepo import planted_repo

SERVICE_DIR = Path(__file__).resolve().parents[1]
AMQP = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_test_database(SERVICE_DIR) as url:
        yield url


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture(scope="session")
async def provider() -> AsyncIterator[FakeProvider]:
    fake = FakeProvider(api_key="sk-test-key")
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="session")
async def fake_projects() -> AsyncIterator[FakeProjects]:
    fake = FakeProjects()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="session")
def settings(
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    provider: FakeProvider,
    fake_projects: FakeProjects,
) -> Settings:
    return Settings(
        database_url=database_url,
        projects_url=fake_projects.url,
        environment="test",
        events_exchange=unique_name("swe.events.test"),
        events_queue=unique_name("agents.events"),
        work_queue=unique_name("agents.runs"),
        redis_prefix=unique_name("test:agents"),
        allow_file_repositories=True,
        checkout_cache_dir=str(tmp_path_factory.mktemp("cache")),
        lease_seconds=3,
        heartbeat_seconds=0.5,
        reaper_interval_seconds=0.5,
        outbox_poll_seconds=0.2,
        max_active_runs_per_project=4,
        worker_concurrency=2,
        llm_base_url=provider.base_url,
        llm_api_key="sk-test-key",
        llm_model="fake-model",
        consumer_retry_delays_ms=[200],
        work_dir=str(tmp_path_factory.mktemp("work")),
        healthcheck_heartbeat_file=str(tmp_path_factory.mktemp("health") / "worker-alive"),
    )


@pytest.fixture(scope="session")
async def app(settings: Settings, tokens: TokenFactory) -> AsyncIterator[Any]:
    application = create_app(settings)
    application.state.token_verifier = tokens.verifier()
    async with running_app(application) as client:
        application.state.client = client
        for consumer in application.state.events.consumers:
            await asyncio.wait_for(consumer.wait_consuming(), 20)
        await asyncio.wait_for(application.state.queue_task, 20)
        yield application
    await _delete_broker_objects(settings)


@pytest.fixture(scope="session")
async def client(app: Any) -> Any:
    return app.state.client


@pytest.fixture(scope="module")
async def worker(settings: Settings, app: Any) -> AsyncIterator[Worker]:
    instance = Worker(settings)
    task = asyncio.create_task(instance.run())
    await asyncio.wait_for(instance.ready.wait(), 20)
    yield instance
    instance.stop()
    await asyncio.wait_for(task, 30)


@pytest.fixture(scope="session")
def revocation_prefix() -> str:
    """Where this session's revocation markers live (auth's ``redis_key_prefix``)."""
    return unique_name("test:revoked") + ":"


@pytest.fixture(scope="session")
async def revocations(revocation_prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    yield client
    keys = [key async for key in client.scan_iter(f"{revocation_prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(scope="session")
async def server(
    settings: Settings,
    tokens: TokenFactory,
    app: Any,
    revocations: aioredis.Redis,
    revocation_prefix: str,
) -> AsyncIterator[str]:
    """A second API instance on a real port (WebSockets need one), checking revocations in
    Redis as a deployed service does."""
    application = create_app(settings)
    application.state.token_verifier = tokens.verifier(
        is_revoked=redis_revocation_check(revocations, prefix=revocation_prefix)
    )
    async with served(application, lifespan=True) as base_url:
        yield base_url.removeprefix("http://")


async def _delete_broker_objects(settings: Settings) -> None:
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel()
        for queue in (
            settings.work_queue,
            f"{settings.work_queue}.dlq",
            *(f"{settings.work_queue}.retry.{d}ms" for d in settings.consumer_retry_delays_ms),
            settings.events_queue,
            f"{settings.events_queue}.dlq",
            *(f"{settings.events_queue}.retry.{d}ms" for d in settings.consumer_retry_delays_ms),
        ):
            await channel.queue_delete(queue)
        await channel.exchange_delete(settings.events_exchange)
    client = aioredis.from_url("redis://127.0.0.1:6379/0")
    await client.aclose()


@pytest.fixture(scope="session")
async def publish(settings: Settings) -> AsyncIterator[Any]:
    """Publish an event to the test exchange as another service would."""
    connection = await aio_pika.connect(AMQP)
    channel = await connection.channel(publisher_confirms=True)
    exchange = await channel.declare_exchange(
        settings.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )

    async def send(
        type_: str, data: dict[str, Any], source: str = "/swe/test", event_id: str | None = None
    ) -> str:
        """``event_id``: an id sent before, to publish the same event again (a redelivery)."""
        subject = str(data.get("id") or data.get("project_id") or "")
        event = build_event(source=source, type_=type_, data=data, subject=subject)
        if event_id is not None:
            event = event.model_copy(update={"id": event_id})
        await exchange.publish(
            aio_pika.Message(event.to_json(), message_id=event.id), routing_key=type_
        )
        return event.id

    yield send
    await connection.close()


@pytest.fixture(scope="session")
async def captured(settings: Settings, app: Any) -> AsyncIterator[list[dict[str, Any]]]:
    """Every agents.* event the service publishes, as a downstream consumer sees it."""
    connection = await aio_pika.connect(AMQP)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        settings.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, "agents.#")
    events: list[dict[str, Any]] = []

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        async with message.process():
            events.append(json.loads(message.body))

    await queue.consume(on_message)
    yield events
    await connection.close()


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[Any]:
    eng = create_async_engine(database_url)
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return planted_repo(tmp_path_factory.mktemp("repos") / "planted")


class Projects:
    """Creates projects the way the projects service announces them."""

    def __init__(self, publish: Any, engine: Any) -> None:
        self.publish = publish
        self.engine = engine

    async def create(
        self,
        owner: uuid.UUID,
        repository_url: str,
        members: list[dict[str, str]] | None = None,
        **extra: Any,
    ) -> uuid.UUID:
        project_id = uuid.uuid4()
        snapshot = {
            "id": str(project_id),
            "name": f"p-{project_id.hex[:6]}",
            "description": "",
            "repository_url": repository_url,
            "default_branch": "main",
            "enabled": True,
            "owner_id": str(owner),
            "settings": {},
            "members": members or [],
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00+00:00",
            **extra,
        }
        await self.publish("projects.project.created", snapshot)
        await eventually(lambda: self.exists(project_id), timeout=15)
        return project_id

    async def exists(self, project_id: uuid.UUID) -> bool:
        async with self.engine.connect() as conn:
            row = await conn.execute(
                sa.text("SELECT 1 FROM agents.projects WHERE id = :id"), {"id": project_id}
            )
            return row.first() is not None


@pytest.fixture(scope="session")
async def projects(publish: Any, engine: Any, app: Any) -> Projects:
    return Projects(publish, engine)


def bearer_protocols(token: str) -> list[Subprotocol]:
    """The subprotocols a console offers: the platform's, then the token (never in the URL)."""
    return [Subprotocol(WS_PROTOCOL), Subprotocol(f"{WS_BEARER}.{token}")]


async def wait_run(
    client: Any, headers: dict[str, str], run_id: str, *statuses: str, timeout: float = 60
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        run = (await client.get(f"/api/v1/agents/runs/{run_id}", headers=headers)).json()
        return run if run.get("status") in statuses else None

    return await eventually(probe, timeout=timeout, interval=0.2)
