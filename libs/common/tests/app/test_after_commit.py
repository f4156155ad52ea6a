"""after_commit: a notification of a state change is heard only once the change is committed,
never when its transaction rolls back, whichever code commits the session."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
import sqlalchemy as sa
from fastapi import APIRouter

from swe_common.app import ServiceSpec, create_service_app
from swe_common.db import Database, after_commit, after_commit_settled
from swe_common.deps import SessionDep
from swe_common.errors import Conflict
from swe_common.security import api_key_scope
from swe_common.settings import LogFormat, ServiceSettings
from swe_common.testing import eventually, running_app, unique_name

notes = sa.Table(
    "notes",
    sa.MetaData(schema="aftercommit"),
    sa.Column("id", sa.Uuid, primary_key=True),
)


@pytest.fixture(scope="module")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(ServiceSettings(database_url=database_url, db_schema="aftercommit"))
    async with database.engine.begin() as conn:
        await conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS aftercommit"))
        await conn.run_sync(notes.metadata.create_all)
    yield database
    await database.dispose()


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def heard(redis: aioredis.Redis) -> AsyncIterator[tuple[str, list[str]]]:
    """A channel of this test and what a listener heard on it."""
    channel = unique_name("test:aftercommit")
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel)
    messages: list[str] = []

    async def listen() -> None:
        # One at a time, as they come: the listener never ends (a comprehension would not either).
        async for message in pubsub.listen():
            if message["type"] == "message":
                messages.append(message["data"])  # noqa: PERF401

    task = asyncio.create_task(listen())
    yield channel, messages
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await pubsub.aclose()


async def _heard(redis: aioredis.Redis, channel: str, messages: list[str]) -> list[str]:
    """What was heard since the last call, once the after-commit callbacks started so far have
    run. A marker published after them arrives after whatever they published (a subscriber
    hears one server's publishes in the order they were made), so no fixed wait is needed for
    "nothing else came"; the messages up to the marker are consumed."""
    await after_commit_settled()
    marker = f"marker:{uuid.uuid4()}"
    await redis.publish(channel, marker)

    async def arrived() -> bool:
        return marker in messages

    await eventually(arrived, timeout=10)
    at = messages.index(marker)
    heard = messages[:at]
    del messages[: at + 1]
    return heard


def _announce(redis: aioredis.Redis, channel: str, note: uuid.UUID) -> Any:
    async def publish() -> None:
        await redis.publish(channel, str(note))

    return publish


async def test_a_committed_change_is_heard_after_the_commit(
    db: Database, redis: aioredis.Redis, heard: tuple[str, list[str]]
) -> None:
    channel, messages = heard
    note = uuid.uuid4()
    async with db.transaction() as session:
        await session.execute(sa.insert(notes).values(id=note))
        after_commit(session, _announce(redis, channel, note))
        assert await _heard(redis, channel, messages) == []  # not before the commit
    assert await _heard(redis, channel, messages) == [str(note)]


async def test_a_rolled_back_change_is_never_heard(
    db: Database, redis: aioredis.Redis, heard: tuple[str, list[str]]
) -> None:
    channel, messages = heard
    note = uuid.uuid4()
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await session.execute(sa.insert(notes).values(id=note))
            after_commit(session, _announce(redis, channel, note))
            raise RuntimeError("the handler failed after announcing")
    # Another transaction commits meanwhile: the dropped callback must not come with it.
    async with db.transaction() as session:
        assert await session.scalar(sa.select(notes.c.id).where(notes.c.id == note)) is None
    assert await _heard(redis, channel, messages) == []


async def test_a_session_reused_after_a_rollback_announces_only_what_it_commits(
    db: Database, redis: aioredis.Redis, heard: tuple[str, list[str]]
) -> None:
    channel, messages = heard
    lost, kept = uuid.uuid4(), uuid.uuid4()
    async with db.sessionmaker() as session:
        await session.execute(sa.insert(notes).values(id=lost))
        after_commit(session, _announce(redis, channel, lost))
        await session.rollback()
        await session.execute(sa.insert(notes).values(id=kept))
        after_commit(session, _announce(redis, channel, kept))
        await session.commit()
    assert await _heard(redis, channel, messages) == [str(kept)]


async def test_a_failing_callback_is_logged_and_the_others_still_run(
    db: Database, redis: aioredis.Redis, heard: tuple[str, list[str]]
) -> None:
    channel, messages = heard
    note = uuid.uuid4()

    async def broken() -> None:
        raise ConnectionError("redis is down")

    async with db.transaction() as session:
        await session.execute(sa.insert(notes).values(id=note))
        after_commit(session, broken)
        after_commit(session, _announce(redis, channel, note))
    assert await _heard(redis, channel, messages) == [str(note)]


async def test_a_request_that_fails_after_announcing_is_never_heard(
    database_url: str, redis: aioredis.Redis, heard: tuple[str, list[str]]
) -> None:
    channel, messages = heard
    router = APIRouter(prefix="/api/v1/notes", dependencies=[api_key_scope("notes")])

    @router.post("/{fail}", status_code=201)
    async def add(fail: bool, session: SessionDep) -> dict[str, str]:
        note = uuid.uuid4()
        await session.execute(sa.insert(notes).values(id=note))
        after_commit(session, _announce(redis, channel, note))
        if fail:
            raise Conflict("refused after the change was written")
        return {"id": str(note)}

    settings = ServiceSettings(
        service_name="aftercommit", database_url=database_url, log_format=LogFormat.json
    )
    app = create_service_app(
        ServiceSpec(settings=settings, title="t", routers=[router], verify_tokens=False)
    )
    async with running_app(app) as client:
        refused = await client.post("/api/v1/notes/true")
        assert refused.status_code == 409
        created = await client.post("/api/v1/notes/false")
        assert created.status_code == 201
    assert await _heard(redis, channel, messages) == [created.json()["id"]]
