"""One throwaway database, app and fake GitHub per test session; helpers for the flows."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
import redis.asyncio as aioredis

from swe_auth.accounts.service import NewUser
from swe_auth.bootstrap import create_admin
from swe_auth.clock import ManualClock
from swe_auth.main import create_app
from swe_auth.settings import Settings
from swe_common.testing import (
    migrated_test_database,
    running_app,
    unique_name,
)
from swe_common.testing_mail import SmtpServer

# Test helpers live beside this file; pytest's importlib mode does not put it on sys.path.
sys.path.insert(0, str(Path(__file__).parent))

from auth_fake_github import FakeGitHub
from auth_testkit import PASSWORD, SERVICE_DIR, login, new_identity, register


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_test_database(SERVICE_DIR, "swe_test_auth") as url:
        yield url


@pytest.fixture(scope="session")
def redis_prefix() -> str:
    return unique_name("test-auth") + ":"


@pytest.fixture(scope="session")
async def fake_github() -> AsyncIterator[FakeGitHub]:
    github = FakeGitHub("test-client-id", "test-client-secret")
    await github.start()
    yield github
    await github.stop()


@pytest.fixture(scope="session")
def smtp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    """The SMTP server every mail of the session goes to (a real one, its own process)."""
    with SmtpServer(tmp_path_factory.mktemp("smtp")) as server:
        yield server


CONSOLE = "http://console.test"
RETRY_DELAYS_MS = [200, 400]


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_prefix: str, fake_github: FakeGitHub, smtp: SmtpServer
) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        events_exchange=unique_name("swe.events.test"),
        redis_key_prefix=redis_prefix,
        log_level="DEBUG",
        login_rate_limit_per_minute=10_000,
        github_client_id=fake_github.client_id,
        github_client_secret=fake_github.client_secret,
        github_base_url=fake_github.url,
        github_api_url=fake_github.url,
        github_redirect_uri="http://testserver/api/v1/auth/github/callback",
        outbox_poll_seconds=0.2,
        revocation_resync_seconds=0.2,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        console_base_url=CONSOLE,
        consumer_queue_prefix=unique_name("authtest").replace(".", "-"),
        consumer_retry_delays_ms=RETRY_DELAYS_MS,
        consumer_max_attempts=3,
    )


@pytest.fixture(scope="session")
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(autouse=True)
def _real_time_again(clock: ManualClock) -> Iterator[None]:
    yield
    clock.reset()


# A teardown that cannot finish must fail the run, not hang it.
TEARDOWN_SECONDS = 60


@pytest.fixture(scope="session")
async def app(settings: Settings, clock: ManualClock, redis_prefix: str) -> AsyncIterator[Any]:
    application = create_app(settings, clock=clock)
    context = running_app(application)
    application.state.test_client = await context.__aenter__()
    for consumer in application.state.events.consumers:
        await asyncio.wait_for(consumer.wait_consuming(), 20)
    try:
        yield application
    finally:
        try:
            await asyncio.wait_for(context.__aexit__(None, None, None), TEARDOWN_SECONDS)
        finally:
            await asyncio.wait_for(
                _clean_broker_and_redis(settings, redis_prefix), TEARDOWN_SECONDS
            )


def consumer_queues(settings: Settings) -> list[str]:
    names = []
    for purpose in ("mail", "projects"):
        queue = f"{settings.consumer_queue_prefix}.{purpose}"
        retries = [f"{queue}.retry.{d}ms" for d in settings.consumer_retry_delays_ms]
        names += [queue, f"{queue}.dlq", *retries]
    return names


async def _clean_broker_and_redis(settings: Settings, redis_prefix: str) -> None:
    connection = await aio_pika.connect(settings.amqp_url.get_secret_value(), timeout=10)
    async with connection:
        channel = await connection.channel()
        await channel.exchange_delete(settings.events_exchange)
        for name in consumer_queues(settings):
            await channel.queue_delete(name)
    redis = aioredis.from_url(settings.redis_url.get_secret_value(), socket_timeout=5)
    try:
        async for key in redis.scan_iter(match=f"{redis_prefix}*"):
            await redis.delete(key)
    finally:
        await redis.aclose()


@pytest.fixture
def client(app: Any) -> httpx.AsyncClient:
    return app.state.test_client


@pytest.fixture
def runtime(app: Any) -> Any:
    return app.state.auth


@pytest.fixture
async def user(client: httpx.AsyncClient) -> dict[str, Any]:
    return await register(client)


@pytest.fixture
async def tokens(client: httpx.AsyncClient, user: dict[str, Any]) -> dict[str, Any]:
    return await login(client, user)


@pytest.fixture
async def admin(client: httpx.AsyncClient, runtime: Any) -> dict[str, Any]:
    identity = new_identity()
    async with runtime.db.transaction() as session:
        created = await create_admin(
            session, runtime, NewUser(identity["email"], identity["username"], PASSWORD)
        )
    user = {**identity, "id": str(created.id), "password": PASSWORD}
    return {**user, "tokens": await login(client, user)}
