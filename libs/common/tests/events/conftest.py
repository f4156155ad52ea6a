"""Fixtures for the event bus tests: a throwaway database with an ``evtest`` schema, unique
exchange and queue names per test, and a TCP gate to make RabbitMQ unreachable on demand."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest
import sqlalchemy as sa
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, ExchangeType
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import create_async_engine

from swe_common.db import Database, schema_metadata
from swe_common.events import (
    EventCatalog,
    EventRuntime,
    EventSpec,
    EventTables,
    Outbox,
    define_event_tables,
)
from swe_common.events.consumer import dlq_name, retry_queue_name
from swe_common.settings import ServiceSettings
from swe_common.testing import create_test_database, drop_test_database, free_port, unique_name

SCHEMA = "evtest"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


class NoteAdded(BaseModel):
    aggregate: str
    seq: int = 0


catalog = EventCatalog("evtest")
NOTE_ADDED = catalog.define("evtest.note.added", NoteAdded, "A note was added to an aggregate")


@dataclass
class Schema:
    metadata: sa.MetaData
    tables: EventTables
    effects: sa.Table  # the state a handler changes: one counter per aggregate


def _define_schema() -> Schema:
    metadata = schema_metadata(SCHEMA)
    tables = define_event_tables(metadata)
    effects = sa.Table(
        "effects",
        metadata,
        sa.Column("aggregate", sa.String(100), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    return Schema(metadata, tables, effects)


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    url = create_test_database("swe_test_events")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
            await conn.run_sync(_define_schema().metadata.create_all)
        yield url
    finally:
        await engine.dispose()
        drop_test_database(url)


@pytest.fixture(scope="session")
def schema() -> Schema:
    return _define_schema()


@pytest.fixture
def exchange_name() -> str:
    return unique_name("swe.events.test")


@pytest.fixture
def make_settings(database_url: str, exchange_name: str) -> Callable[..., ServiceSettings]:
    def make(**overrides: Any) -> ServiceSettings:
        values: dict[str, Any] = {
            "service_name": "evtest",
            "database_url": database_url,
            "db_schema": SCHEMA,
            "events_exchange": exchange_name,
            "amqp_url": AMQP_URL,
            "db_pool_size": 5,
            "consumer_retry_delays_ms": [50, 100],
            "consumer_max_attempts": 3,
        }
        values.update(overrides)
        return ServiceSettings(**values)

    return make


@pytest.fixture
async def db(
    make_settings: Callable[..., ServiceSettings], schema: Schema
) -> AsyncIterator[Database]:
    database = Database(make_settings())
    async with database.transaction() as session:
        await session.execute(
            sa.text(f"TRUNCATE {SCHEMA}.event_outbox, {SCHEMA}.event_inbox, {SCHEMA}.effects")
        )
    yield database
    await database.dispose()


@pytest.fixture
def outbox(schema: Schema) -> Outbox:
    return Outbox(schema.tables, source="evtest")


@dataclass
class Tap:
    """A queue bound to the test exchange that records every message, in arrival order."""

    queue: AbstractQueue
    messages: list[AbstractIncomingMessage] = field(default_factory=list)

    @property
    def ids(self) -> list[str | None]:
        return [m.message_id for m in self.messages]


class Rabbit:
    """Test-side RabbitMQ access; deletes every queue and exchange it was told about."""

    def __init__(self, connection: aio_pika.abc.AbstractConnection) -> None:
        self.connection = connection
        self.queues: set[str] = set()
        self.exchanges: set[str] = set()

    async def tap(self, exchange: str, routing_key: str = "#") -> Tap:
        channel = await self.connection.channel()
        ex = await channel.declare_exchange(exchange, ExchangeType.TOPIC, durable=True)
        self.exchanges.add(exchange)
        name = unique_name("evtest.tap")
        queue = await channel.declare_queue(
            name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        self.queues.add(name)
        await queue.bind(ex, routing_key)
        tap = Tap(queue)

        async def record(message: AbstractIncomingMessage) -> None:
            tap.messages.append(message)

        await queue.consume(record, no_ack=True)
        return tap

    def consumer_queues(self, queue: str, delays: list[int]) -> None:
        self.queues |= {queue, dlq_name(queue), *(retry_queue_name(queue, d) for d in delays)}

    async def publish(self, exchange: str, message: aio_pika.Message, routing_key: str) -> None:
        channel = await self.connection.channel(publisher_confirms=True)
        try:
            ex = await channel.declare_exchange(exchange, ExchangeType.TOPIC, durable=True)
            self.exchanges.add(exchange)
            await ex.publish(message, routing_key=routing_key)
        finally:
            await channel.close()

    async def cleanup(self) -> None:
        channel = await self.connection.channel()
        for name in self.queues:
            await channel.queue_delete(name)
        for name in self.exchanges:
            await channel.exchange_delete(name)
        await channel.close()


@pytest.fixture
async def rabbit(exchange_name: str) -> AsyncIterator[Rabbit]:
    connection = await aio_pika.connect(AMQP_URL)
    helper = Rabbit(connection)
    helper.exchanges.add(exchange_name)
    try:
        yield helper
    finally:
        await helper.cleanup()
        await connection.close()


@pytest.fixture
async def runtimes(rabbit: Rabbit) -> AsyncIterator[Callable[..., EventRuntime]]:
    """Make runtimes that are stopped at the end of the test, whatever happens (before the
    test's queues and exchange are deleted, or their robust channels would declare them again)."""
    made: list[EventRuntime] = []

    def make(*args: Any, **kwargs: Any) -> EventRuntime:
        runtime = EventRuntime(*args, **kwargs)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        await runtime.stop()


class TcpGate:
    """A TCP proxy in front of RabbitMQ: closed (connection refused) until opened; closing it
    again drops every proxied connection, as a broker outage would."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5672)) -> None:
        self.upstream = upstream
        self.port = free_port()  # opened later: outside the range outgoing connections take
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_w.close()
            return
        self._writers |= {client_w, server_w}

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))
        self._writers -= {client_w, server_w}


@pytest.fixture
async def gate() -> AsyncIterator[TcpGate]:
    tcp_gate = TcpGate()
    yield tcp_gate
    await tcp_gate.close()


@pytest.fixture
def note_added() -> EventSpec:
    return NOTE_ADDED


@pytest.fixture
def add_notes(db: Database, outbox: Outbox, schema: Schema) -> Callable[..., Any]:
    """Commit, in one transaction, a state change plus one event per (aggregate, seq)."""

    async def add(*notes: tuple[str, int]) -> list[str]:
        ids = []
        async with db.transaction() as session:
            for aggregate, seq in notes:
                event = await outbox.publish(
                    session, NOTE_ADDED, NoteAdded(aggregate=aggregate, seq=seq), subject=aggregate
                )
                ids.append(event.id)
        return ids

    return add


async def handled(queue: str, type_: str, outcome: str) -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value(
        "swe_events_handled_total", {"queue": queue, "type": type_, "outcome": outcome}
    )
    return value or 0.0


@pytest.fixture
def handled_count() -> Callable[[str, str, str], Any]:
    return handled
