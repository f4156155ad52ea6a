"""A fresh database with the projects migrations, a unique events exchange with a tap on it,
and the app running in-process with test tokens."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import sqlalchemy as sa
from aio_pika.abc import AbstractIncomingMessage, ExchangeType
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from swe_common.testing import (
    TokenFactory,
    eventually,
    migrated_test_database,
    running_app,
    unique_name,
)
from swe_projects.main import create_app
from swe_projects.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parents[1]
# Helpers beside this file; pytest's importlib mode does not put it on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))
MAX_WEBHOOK_BODY = 64 * 1024
WEBHOOK_BUDGET = 30  # signed deliveries per project and minute


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_test_database(SERVICE_DIR) as url:
        yield url


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        environment="test",
        events_exchange=unique_name("swe.events.test"),
        github_enterprise_hosts=["ghe.example.com"],
        webhook_secret_key=SecretStr("test-key-" + uuid.uuid4().hex),
        webhook_max_body_bytes=MAX_WEBHOOK_BODY,
        webhook_rate_limit_per_minute=WEBHOOK_BUDGET,
        outbox_poll_seconds=0.2,
        db_pool_size=5,
    )


@dataclass
class EventTap:
    """Every projects.* event published on the test exchange, in arrival order."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def of(self, subject: object, type_: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e.get("subject") == str(subject) and (type_ is None or e["type"] == type_)
        ]

    async def wait_for(self, subject: object, type_: str, count: int = 1) -> list[dict[str, Any]]:
        async def arrived() -> list[dict[str, Any]]:
            found = self.of(subject, type_)
            return found if len(found) >= count else []

        return await eventually(arrived, timeout=15)


@pytest.fixture(scope="session")
async def event_tap(settings: Settings) -> AsyncIterator[EventTap]:
    tap = EventTap()
    connection = await aio_pika.connect(settings.amqp_url.get_secret_value())
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        settings.events_exchange, ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(
        unique_name("projects.test-tap"), exclusive=True, auto_delete=True
    )
    await queue.bind(exchange, routing_key="projects.#")

    async def record(message: AbstractIncomingMessage) -> None:
        async with message.process():
            tap.events.append(json.loads(message.body))

    await queue.consume(record)
    try:
        yield tap
    finally:
        await channel.exchange_delete(settings.events_exchange)
        await connection.close()


@pytest.fixture(scope="session")
async def running(
    settings: Settings, tokens: TokenFactory, event_tap: EventTap
) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    app = create_app(settings)
    app.state.token_verifier = tokens.verifier()
    async with running_app(app) as http:
        yield app, http


@pytest.fixture(scope="session")
def app(running: tuple[FastAPI, AsyncClient]) -> FastAPI:
    return running[0]


@pytest.fixture(scope="session")
def client(running: tuple[FastAPI, AsyncClient]) -> AsyncClient:
    return running[1]


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    headers: dict[str, str]


@pytest.fixture
def make_user(tokens: TokenFactory) -> Any:
    def make(*roles: str, **kwargs: Any) -> User:
        user_id = uuid.uuid4()
        return User(user_id, tokens.headers(user_id, roles=roles or ("user",), **kwargs))

    return make


@pytest.fixture
def owner(make_user: Any) -> User:
    return make_user("user")


def _project_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"project-{uuid.uuid4().hex[:8]}",
        "description": "A test project",
        "repository_url": "https://github.com/octocat/Hello-World",
        "default_branch": "main",
    }
    body.update(overrides)
    return body


@pytest.fixture
def project_body() -> Any:
    return _project_body


@pytest.fixture
def create_project(client: AsyncClient) -> Any:
    async def create(user: User, **overrides: Any) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/projects", json=_project_body(**overrides), headers=user.headers
        )
        assert response.status_code == 201, response.text
        return response.json()

    return create


@pytest.fixture
def add_member(client: AsyncClient) -> Any:
    async def add(project: dict[str, Any], by: User, member: User, role: str) -> None:
        response = await client.post(
            f"/api/v1/projects/{project['id']}/members",
            json={"user_id": str(member.id), "role": role},
            headers=by.headers,
        )
        assert response.status_code == 201, response.text

    return add


@dataclass
class Outbox:
    """Reads the service's outbox table: what was committed for publication, in order."""

    engine: AsyncEngine

    async def events(self, subject: object) -> list[dict[str, Any]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.text(
                    "SELECT payload FROM projects.event_outbox "
                    "WHERE payload->>'subject' = :subject ORDER BY id"
                ),
                {"subject": str(subject)},
            )
            return [row[0] for row in rows]

    async def types(self, subject: object) -> list[str]:
        return [event["type"] for event in await self.events(subject)]


@pytest.fixture(scope="session")
async def outbox(database_url: str) -> AsyncIterator[Outbox]:
    engine = create_async_engine(database_url, poolclass=sa.NullPool)
    yield Outbox(engine)
    await engine.dispose()
