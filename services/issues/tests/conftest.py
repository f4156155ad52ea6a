"""Fixtures: one throwaway database (migrated), one running issues app per session with its own
exchange and queues on the real RabbitMQ, fakes for GitHub and for the projects service's
lookup endpoint, a bus helper that publishes and captures events, and project seeding."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage, ExchangeType
from fastapi import FastAPI

from swe_common.events import build_event
from swe_common.testing import (
    TokenFactory,
    eventually,
    migrated_test_database,
    running_app,
    served,
    unique_name,
)
from swe_common.testing_github import FakeGitHub
from swe_issues.main import create_app
from swe_issues.projects_read_model import repository as projects_repository
from swe_issues.projects_read_model.schemas import ProjectSnapshot
from swe_issues.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parents[1]
# The fakes live beside this file; pytest's importlib mode does not put it on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from issues_fake_projects import FakeProjects, snapshot  # noqa: E402

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
GITHUB_TOKEN = "ghs_fake_token_for_tests"
RETRY_DELAYS_MS = [200, 400]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_test_database(SERVICE_DIR) as url:
        yield url


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture(scope="session")
async def fake_github() -> AsyncIterator[FakeGitHub]:
    fake = FakeGitHub(token=GITHUB_TOKEN)
    async with served(fake.app()) as fake.url:
        yield fake


@pytest.fixture(scope="session")
async def fake_projects() -> AsyncIterator[FakeProjects]:
    fake = FakeProjects()
    async with served(fake.app()) as fake.url:
        yield fake


@dataclass
class Bus:
    """Publishes events to the test exchange and records what the service publishes."""

    exchange: aio_pika.abc.AbstractExchange
    received: list[dict[str, Any]] = field(default_factory=list)

    async def publish(self, type_: str, data: dict[str, Any], subject: str | None = None) -> str:
        source = "/swe/" + type_.split(".", 1)[0]
        event = build_event(source=source, type_=type_, data=data, subject=subject)
        await self.exchange.publish(
            aio_pika.Message(event.to_json(), content_type="application/cloudevents+json"),
            routing_key=type_,
        )
        return event.id

    def events(self, type_: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in self.received
            if e["type"] == type_ and all(e["data"].get(k) == v for k, v in match.items())
        ]

    async def wait_for(self, type_: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        async def probe() -> list[dict[str, Any]]:
            return self.events(type_, **match)

        return (await eventually(probe, timeout=timeout))[-1]


@dataclass
class Env:
    app: FastAPI
    client: Any
    settings: Settings
    bus: Bus
    tokens: TokenFactory
    github: FakeGitHub
    projects: FakeProjects

    def headers(self, user: str, **kwargs: Any) -> dict[str, str]:
        return self.tokens.headers(user, **kwargs)

    def agent_headers(self, team: Team) -> dict[str, str]:
        """The maintainer's account given the agent role (an automation account, "fix-bot")."""
        return self.headers(team.maintainer, roles=("agent",), preferred_username="fix-bot")

    async def create_issue(self, team: Team, assignee: str | None = None) -> dict[str, Any]:
        """An issue in the team's project, created (and assigned, if asked) by its owner."""
        body = {"project_id": team.project_id, "title": "Login fails on Safari"}
        return await self._create("/api/v1/issues", body, team, assignee)

    async def create_pr(
        self, team: Team, number: int, assignee: str | None = None
    ) -> dict[str, Any]:
        """A tracked pull request in the team's project, created (and assigned, if asked) by
        its owner."""
        body = {"project_id": team.project_id, "number": number, "title": "Fix login"}
        return await self._create("/api/v1/prs", body, team, assignee)

    async def _create(
        self, path: str, body: dict[str, Any], team: Team, assignee: str | None
    ) -> dict[str, Any]:
        owner = self.headers(team.owner)
        created = await self.client.post(path, json=body, headers=owner)
        assert created.status_code == 201, created.text
        if assignee is None:
            return created.json()
        assigned = await self.client.patch(
            f"{path}/{created.json()['id']}", json={"assignee_id": assignee}, headers=owner
        )
        assert assigned.status_code == 200, assigned.text
        return assigned.json()


async def _delete_queues(channel: aio_pika.abc.AbstractChannel, prefix: str) -> None:
    for purpose in ("projects", "webhooks", "agent_runs"):
        queue = f"{prefix}.{purpose}"
        names = [queue, f"{queue}.dlq", *(f"{queue}.retry.{d}ms" for d in RETRY_DELAYS_MS)]
        for name in names:
            await channel.queue_delete(name)


@pytest.fixture(scope="session")
async def env(
    database_url: str,
    tokens: TokenFactory,
    fake_github: FakeGitHub,
    fake_projects: FakeProjects,
) -> AsyncIterator[Env]:
    exchange_name = unique_name("swe.events.test")
    prefix = unique_name("issuestest")
    settings = Settings(
        database_url=database_url,
        events_exchange=exchange_name,
        consumer_queue_prefix=prefix,
        consumer_retry_delays_ms=RETRY_DELAYS_MS,
        consumer_max_attempts=3,
        outbox_poll_seconds=0.2,
        projects_url=fake_projects.url,
        github_api_url=fake_github.url,
        github_token=GITHUB_TOKEN,
        environment="test",
        db_pool_size=5,
    )
    connection = await aio_pika.connect_robust(AMQP_URL)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(exchange_name, ExchangeType.TOPIC, durable=True)
    capture = await channel.declare_queue(exclusive=True, auto_delete=True)
    await capture.bind(exchange, "issues.#")
    bus = Bus(exchange)

    async def record(message: AbstractIncomingMessage) -> None:
        async with message.process():
            bus.received.append(json.loads(message.body))

    await capture.consume(record)
    app = create_app(settings)
    app.state.token_verifier = tokens.verifier()
    try:
        async with running_app(app) as client:
            for consumer in app.state.events.consumers:
                await asyncio.wait_for(consumer.wait_consuming(), 20)
            yield Env(app, client, settings, bus, tokens, fake_github, fake_projects)
    finally:
        await _delete_queues(channel, prefix)
        await channel.exchange_delete(exchange_name)
        await connection.close()


@dataclass
class Team:
    """A project in the read model, with one user per role."""

    project_id: str
    owner: str
    maintainer: str
    viewer: str
    stranger: str
    admin: str


@pytest.fixture
def seed(env: Env) -> Callable[..., Any]:
    async def make(**kwargs: Any) -> Team:
        team = Team(
            "",
            str(uuid.uuid4()),
            str(uuid.uuid4()),
            str(uuid.uuid4()),
            str(uuid.uuid4()),
            str(uuid.uuid4()),
        )
        members = [
            {"user_id": team.maintainer, "role": "maintainer"},
            {"user_id": team.viewer, "role": "viewer"},
        ]
        data = snapshot(team.owner, members=members, **kwargs)
        async with env.app.state.db.transaction() as session:
            await projects_repository.upsert_snapshot(session, ProjectSnapshot.model_validate(data))
        team.project_id = data["id"]
        return team

    return make
