"""The outbox relay: nothing lost, nothing doubled, order kept per aggregate, woken on commit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from swe_common.db import Database
from swe_common.events import CloudEvent
from swe_common.events.broker import Broker
from swe_common.events.outbox import partition_of
from swe_common.events.relay import OutboxRelay
from swe_common.testing import eventually, unique_name


class Boom(Exception):
    pass


async def unpublished(db, schema) -> int:
    outbox = schema.tables.outbox
    async with db.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(outbox.c.published_at.is_(None))
        return (await conn.execute(query)).scalar_one()


async def outbox_ids(db, schema) -> list[str]:
    outbox = schema.tables.outbox
    async with db.engine.connect() as conn:
        return list((await conn.execute(sa.select(outbox.c.event_id))).scalars())


async def test_event_committed_while_broker_is_down_is_published_when_it_returns(
    make_settings, db, schema, runtimes, rabbit, gate, add_notes, outbox, note_added
):
    settings = make_settings(amqp_url=gate.url)  # nothing listens there yet
    runtime = runtimes(settings, db, schema.tables)
    started = time.monotonic()
    await runtime.start()
    assert time.monotonic() - started < 1.0
    assert not runtime.is_connected
    tap = await rabbit.tap(settings.events_exchange)

    [committed] = await add_notes(("a-1", 1))
    try:
        async with db.transaction() as session:
            await outbox.publish(session, note_added, {"aggregate": "a-2"}, subject="a-2")
            raise Boom
    except Boom:
        pass
    assert await outbox_ids(db, schema) == [committed]
    assert await unpublished(db, schema) == 1

    await gate.open()
    await eventually(lambda: _async(tap.messages), timeout=20)
    await eventually(lambda: _zero(unpublished(db, schema)))
    assert tap.ids == [committed]
    message = tap.messages[0]
    event = CloudEvent.from_json(message.body)
    assert event.id == committed and event.type == "evtest.note.added"
    assert message.content_type == "application/cloudevents+json"
    assert message.routing_key == "evtest.note.added"
    assert message.headers["ce-type"] == "evtest.note.added"


async def test_events_committed_while_the_connection_is_lost_go_out_after_reconnect(
    make_settings, db, schema, runtimes, rabbit, gate, add_notes
):
    await gate.open()
    settings = make_settings(amqp_url=gate.url)
    runtime = runtimes(settings, db, schema.tables)
    await runtime.start()
    tap = await rabbit.tap(settings.events_exchange)
    first = await add_notes(("b-1", 1))
    await eventually(lambda: _async(len(tap.messages) == 1), timeout=10)

    await gate.close()  # drops the relay's connection, refuses new ones
    await eventually(lambda: _async(not runtime.is_connected))
    during = await add_notes(("b-1", 2), ("b-2", 1))
    await gate.open()

    await eventually(lambda: _async(len(tap.messages) == 3), timeout=30)
    # Order is kept per aggregate (b-1's two events); b-2 is another partition, which another
    # relay lane (or instance) may publish first.
    assert sorted(tap.ids) == sorted(first + during)
    b1 = [i for i in tap.ids if i in (first[0], during[0])]
    assert b1 == [first[0], during[0]]


async def test_two_relays_publish_every_row_once_in_order_per_aggregate(
    make_settings, db, schema, runtimes, rabbit, add_notes
):
    settings = make_settings(outbox_batch_size=50)
    tap = await rabbit.tap(settings.events_exchange)
    relays = [runtimes(settings, db, schema.tables) for _ in range(2)]
    for runtime in relays:
        await runtime.start()

    aggregates = [f"agg-{n}" for n in range(97)]
    next_seq: dict[str, int] = defaultdict(int)
    expected: list[str] = []
    for batch in range(20):  # 20 transactions of 100 events over 97 aggregates
        notes = []
        for i in range(100):
            aggregate = aggregates[(batch * 100 + i * 7) % len(aggregates)]
            next_seq[aggregate] += 1
            notes.append((aggregate, next_seq[aggregate]))
        expected += await add_notes(*notes)

    await eventually(lambda: _async(len(tap.messages) >= 2000), timeout=60)
    await eventually(lambda: _zero(unpublished(db, schema)))
    assert sum(runtime.relay.published_count for runtime in relays) == 2000
    assert len(tap.messages) == 2000
    assert sorted(tap.ids) == sorted(expected)
    seen: dict[str, list[int]] = defaultdict(list)
    for message in tap.messages:
        data = json.loads(message.body)["data"]
        seen[data["aggregate"]].append(data["seq"])
    for aggregate, seqs in seen.items():
        assert seqs == list(range(1, next_seq[aggregate] + 1)), aggregate


async def test_relay_wakes_on_commit_without_waiting_for_the_poll(
    make_settings, db, schema, runtimes, rabbit, add_notes
):
    settings = make_settings(outbox_poll_seconds=30)
    tap = await rabbit.tap(settings.events_exchange)
    runtime = runtimes(settings, db, schema.tables)
    await runtime.start()
    await eventually(lambda: _async(runtime.is_connected and runtime.relay.listening))
    await add_notes(("c-1", 1))  # consumes the wake-up LISTEN itself causes
    await eventually(lambda: _async(len(tap.messages) == 1), timeout=10)

    committed_at = time.monotonic()
    await add_notes(("c-1", 2))
    await eventually(lambda: _async(len(tap.messages) == 2), timeout=10)
    assert time.monotonic() - committed_at < 3.0


async def test_a_commit_wakes_a_local_relay_directly_and_others_by_notify(
    make_settings, db, schema, runtimes, rabbit, add_notes
):
    """With a relay in the writer's process, the commit wakes it and sends no NOTIFY (which
    would serialise concurrent commits); without one, a NOTIFY wakes the other processes'."""
    import psycopg

    from swe_common.events.outbox import notify_channel, unregister_local_relay
    from swe_common.events.relay import libpq_url

    settings = make_settings(outbox_poll_seconds=30)
    tap = await rabbit.tap(settings.events_exchange)
    runtime = runtimes(settings, db, schema.tables)
    await runtime.start()
    await eventually(lambda: _async(runtime.relay.publishing and runtime.relay.listening))
    async with await psycopg.AsyncConnection.connect(
        libpq_url(settings.database_url), autocommit=True
    ) as listener:
        await listener.execute(f'LISTEN "{notify_channel("evtest")}"')

        async def notifications(seconds: float) -> int:
            return len([n async for n in listener.notifies(timeout=seconds)])

        await add_notes(("n-1", 1))
        await eventually(lambda: _async(len(tap.messages) == 1), timeout=10)
        assert await notifications(0.5) == 0

        # The relay as another process sees it: not in the writer's process.
        unregister_local_relay("evtest", runtime.relay)
        committed_at = time.monotonic()
        await add_notes(("n-1", 2))
        await eventually(lambda: _async(len(tap.messages) == 2), timeout=10)
        assert time.monotonic() - committed_at < 3.0
        assert await notifications(0.5) == 1


async def test_a_relay_woken_for_a_partition_another_relay_holds_wakes_that_relay(
    make_settings, db, schema, runtimes, rabbit, add_notes
):
    """Relay B (another process) is in the middle of a pass over aggregate h-1's partition when
    h-1's next event is committed in relay A's process: A, woken directly, cannot take the
    partition and NOTIFYs, so B publishes the event after its pass instead of at its next poll
    (30 s here)."""
    import asyncio

    from swe_common.events.outbox import unregister_local_relay

    settings = make_settings(outbox_poll_seconds=30)
    tap = await rabbit.tap(settings.events_exchange)
    b = runtimes(settings, db, schema.tables)
    await b.start()
    await eventually(lambda: _async(b.relay.publishing and b.relay.listening))
    unregister_local_relay("evtest", b.relay)  # B as another process sees it
    gate = asyncio.Event()
    publish_rows = b.relay._publish_rows

    async def held_publish(rows):
        await gate.wait()  # B holds the partition's lock meanwhile
        return await publish_rows(rows)

    b.relay._publish_rows = held_publish
    first = await add_notes(("h-1", 1))  # no local relay: a NOTIFY wakes B, which takes it
    await eventually(lambda: _async(b.relay._busy > 0), timeout=10)

    a = runtimes(settings, db, schema.tables)
    await a.start()
    await eventually(lambda: _async(a.relay.publishing and a.relay.listening))
    committed_at = time.monotonic()
    second = await add_notes(("h-1", 2))  # wakes A directly; B holds h-1's partition
    await asyncio.sleep(0.5)  # A's pass, which cannot take the partition
    gate.set()

    await eventually(lambda: _async(len(tap.messages) == 2), timeout=10)
    assert time.monotonic() - committed_at < 5.0
    assert tap.ids == first + second
    assert a.relay.published_count == 0


async def test_published_rows_older_than_retention_are_deleted(
    make_settings, db, schema, runtimes, rabbit, add_notes
):
    settings = make_settings(outbox_retention_hours=1)
    tap = await rabbit.tap(settings.events_exchange)
    runtime = runtimes(settings, db, schema.tables)
    runtime.relay.cleanup_interval_seconds = 0.2
    await runtime.start()
    old = await add_notes(("d-1", 1), ("d-2", 1))
    recent = await add_notes(("d-3", 1))
    await eventually(lambda: _async(len(tap.messages) == 3), timeout=10)
    await eventually(lambda: _zero(unpublished(db, schema)))

    outbox = schema.tables.outbox
    async with db.transaction() as session:
        await session.execute(
            sa.update(outbox)
            .where(outbox.c.event_id.in_(old))
            .values(published_at=sa.func.now() - sa.text("interval '2 hours'"))
        )

    await eventually(lambda: _equal(outbox_ids(db, schema), recent), timeout=10)


async def test_a_row_that_cannot_be_published_holds_back_only_its_own_partition(
    make_settings, db, schema, runtimes, rabbit, add_notes
):
    settings = make_settings()
    tap = await rabbit.tap(settings.events_exchange)
    outbox = schema.tables.outbox
    blocked = partition_of("bad")
    same = next(f"x-{n}" for n in range(1000) if partition_of(f"x-{n}") == blocked)
    other = next(f"x-{n}" for n in range(1000) if partition_of(f"x-{n}") != blocked)
    async with db.transaction() as session:  # not a CloudEvent: can never be published
        await session.execute(
            sa.insert(outbox).values(
                event_id="bad-1",
                event_type="evtest.note.added",
                partition=blocked,
                partition_key="bad",
                payload={"nonsense": True},
            )
        )
    [behind] = await add_notes((same, 1))
    [free] = await add_notes((other, 1))
    runtime = runtimes(settings, db, schema.tables)
    await runtime.start()

    await eventually(lambda: _async(tap.ids == [free]), timeout=10)

    async def pending_rows() -> dict[str, Any]:
        async with db.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(outbox.c.event_id, outbox.c.attempts, outbox.c.last_error).where(
                    outbox.c.published_at.is_(None)
                )
            )
            return {row.event_id: row for row in rows}

    async def failure_recorded() -> bool:
        # The relay records the failed attempt in its own transaction: it may commit a moment
        # after the free partition's event reached the broker.
        row = (await pending_rows()).get("bad-1")
        return row is not None and row.attempts >= 1

    await eventually(failure_recorded, timeout=10)
    pending = await pending_rows()
    assert set(pending) == {"bad-1", behind}  # order kept: nothing overtakes the bad row
    assert "ValidationError" in pending["bad-1"].last_error


async def _async(value):
    return value


async def _zero(awaitable) -> bool:
    return await awaitable == 0


async def _equal(awaitable, expected) -> bool:
    return await awaitable == expected


async def test_several_relays_and_a_batching_consumer_keep_every_aggregates_order(
    make_settings, db, schema, runtimes, rabbit, outbox, note_added
):
    """Three relay instances (one stopped half-way) publish what eight concurrent writers
    commit in small transactions; the consumer (batching by default) checks, in its own
    transaction, that each aggregate's sequence numbers arrive as 1, 2, 3, ..."""
    import asyncio

    from sqlalchemy.dialects.postgresql import insert as pg_insert

    from swe_common.events import Subscription

    effects = schema.effects
    out_of_order: list[tuple[str, int, int]] = []

    async def check(session, event: CloudEvent) -> None:
        aggregate, seq = event.data["aggregate"], event.data["seq"]
        last = await session.scalar(
            sa.select(effects.c.count).where(effects.c.aggregate == aggregate).with_for_update()
        )
        if seq != (last or 0) + 1:
            out_of_order.append((aggregate, last or 0, seq))
        await session.execute(
            pg_insert(effects)
            .values(aggregate=aggregate, count=seq)
            .on_conflict_do_update(index_elements=[effects.c.aggregate], set_={"count": seq})
        )

    settings = make_settings(outbox_batch_size=20, db_pool_size=12)
    queue = unique_name("evtest.order")
    rabbit.consumer_queues(queue, settings.consumer_retry_delays_ms)
    consumer = runtimes(settings, db, schema.tables, [Subscription(queue, {"evtest.#": check})])
    await consumer.start()
    await consumer.consumers[0].wait_consuming()
    relays = [runtimes(settings, db, schema.tables) for _ in range(3)]
    for runtime in relays:
        await runtime.start()

    writers, per_writer, events_per_aggregate = 8, 5, 30
    expected = {
        f"w{w}-a{a}": events_per_aggregate for w in range(writers) for a in range(per_writer)
    }

    async def writer(w: int) -> None:
        # This writer's aggregates, round-robin; each transaction 1 to 3 events.
        pending = [
            (f"w{w}-a{a}", s) for s in range(1, events_per_aggregate + 1) for a in range(per_writer)
        ]
        size = 0
        while pending:
            size = size % 3 + 1
            chunk, pending = pending[:size], pending[size:]
            async with db.transaction() as session:
                for aggregate, seq in chunk:
                    await outbox.publish(
                        session, note_added, {"aggregate": aggregate, "seq": seq}, subject=aggregate
                    )

    tasks = [asyncio.create_task(writer(w)) for w in range(writers)]
    await asyncio.sleep(0.5)
    await relays[0].stop()  # an instance goes away mid-stream; the others take its partitions
    await asyncio.gather(*tasks)

    await eventually(lambda: _equal(counts(db, schema), expected), timeout=60)
    assert out_of_order == []
    assert await unpublished(db, schema) == 0


async def counts(db, schema) -> dict[str, int]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.select(schema.effects.c.aggregate, schema.effects.c.count))
        return dict(rows.all())


async def test_rows_written_outside_a_session_wake_the_relay_once_committed(
    make_settings, db, schema, outbox, note_added, runtimes, rabbit
):
    """``Outbox.insert_if`` run in autocommit, then ``Outbox.committed``: published at once,
    not at the next poll, by the local relay or (without one) by a NOTIFY."""
    from swe_common.events.outbox import unregister_local_relay

    settings = make_settings(outbox_poll_seconds=30)
    tap = await rabbit.tap(settings.events_exchange)
    runtime = runtimes(settings, db, schema.tables)
    await runtime.start()
    await eventually(lambda: _async(runtime.relay.publishing and runtime.relay.listening))
    guard = sa.select(sa.literal_column("1").label("one")).cte("always")
    statement = outbox.insert_if(guard)

    async def write(seq: int) -> None:
        event = outbox.event(note_added, {"aggregate": "w-1", "seq": seq}, subject="w-1")
        values = outbox.values(event)
        async with db.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(statement, values)
            await outbox.committed(autocommit, [values["partition"]])

    await write(1)  # after the wake-up LISTEN itself causes
    await eventually(lambda: _async(len(tap.messages) == 1), timeout=10)
    for seq, local in ((2, True), (3, False)):
        if not local:  # the relay as another process sees it
            unregister_local_relay("evtest", runtime.relay)
        written_at = time.monotonic()
        await write(seq)
        await eventually(lambda: _async(len(tap.messages) == seq), timeout=10)  # noqa: B023
        assert time.monotonic() - written_at < 3.0


class TurnCounter:
    """A TCP proxy in front of PostgreSQL counting round trips: the times the server answers
    after the client has sent something (PostgreSQL answers a pipeline only at its Flush or
    Sync, so statements sent together and answered together are one turn)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.turns = 0
        self._client_spoke = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self.upstream)
        self._writers |= {client_w, server_w}

        async def pipe(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, from_client: bool
        ) -> None:
            with contextlib.suppress(Exception):
                while data := await reader.read(65536):
                    if from_client:
                        self._client_spoke = True
                    elif self._client_spoke:
                        self._client_spoke = False
                        self.turns += 1
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(pipe(client_r, server_w, True), pipe(server_r, client_w, False))


async def test_a_relay_pass_is_two_postgres_round_trips(
    make_settings, db, schema, add_notes, rabbit
):
    """BEGIN goes out with the claim and the marks with the COMMIT (psycopg's pipeline mode):
    a pass that publishes is two round trips (four before: BEGIN, claim, mark, COMMIT), an
    empty one two as well (three before)."""
    url = sa.make_url(make_settings().database_url)
    counter = TurnCounter((url.host or "127.0.0.1", url.port or 5432))
    port = await counter.open()
    settings = make_settings(database_url=url.set(port=port).render_as_string(False))
    proxied = Database(settings)
    broker = Broker.from_settings(settings)
    await broker.start()
    try:
        await asyncio.wait_for(broker.wait_connected(), 10)
        tap = await rabbit.tap(settings.events_exchange)
        relay = OutboxRelay(settings, proxied, schema.tables, broker)
        await add_notes(("rt-1", 1))
        assert (await relay.publish_batch()).published == 1  # the pooled connection made
        await add_notes(("rt-1", 2), ("rt-2", 1))
        counter.turns = 0
        assert (await relay.publish_batch()).published == 2
        assert counter.turns == 2
        counter.turns = 0
        assert (await relay.publish_batch()).selected == 0
        assert counter.turns == 2
        await eventually(lambda: _async(len(tap.messages) == 3), timeout=10)
        assert await unpublished(db, schema) == 0
    finally:
        await broker.close()
        await proxied.dispose()
        await counter.close()


async def prepared_statements(db: Database) -> int:
    """The prepared statements of the pooled connection (the pool's only one)."""
    async with db.engine.connect() as conn:
        count = sa.select(sa.func.count()).select_from(sa.text("pg_prepared_statements"))
        return int((await conn.execute(count)).scalar_one())


async def test_passes_go_on_after_psycopg_drops_the_connections_prepared_statements(
    make_settings, schema, add_notes, outbox, note_added, rabbit
):
    """By its sixth pass on a connection the relay's statements (and BEGIN and COMMIT) run as
    statements psycopg prepared; psycopg sends DEALLOCATE ALL on that connection after any
    ROLLBACK (here a request's transaction that failed) and forgets them at the same time, so
    the next pass prepares afresh instead of failing with 'prepared statement does not exist'
    (what the named PREPAREs of c2fa0e0 did)."""
    settings = make_settings(db_pool_size=1, db_max_overflow=0)  # one connection for all
    one = Database(settings)
    broker = Broker.from_settings(settings)
    await broker.start()
    try:
        await asyncio.wait_for(broker.wait_connected(), 10)
        tap = await rabbit.tap(settings.events_exchange)
        relay = OutboxRelay(settings, one, schema.tables, broker)
        for seq in range(1, 8):
            await add_notes(("dp-1", seq))
            assert (await relay.publish_batch()).published == 1
        assert await prepared_statements(one) > 0
        with contextlib.suppress(Boom):
            async with one.transaction() as session:
                await outbox.publish(session, note_added, {"aggregate": "dp-2"}, subject="dp-2")
                raise Boom  # ROLLBACK, then psycopg's DEALLOCATE ALL
        assert await prepared_statements(one) == 0
        for seq in range(8, 15):
            await add_notes(("dp-1", seq))
            assert (await relay.publish_batch()).published == 1
        await eventually(lambda: _async(len(tap.messages) == 14), timeout=10)
        assert [json.loads(m.body)["data"]["seq"] for m in tap.messages] == list(range(1, 15))
    finally:
        await broker.close()
        await one.dispose()
