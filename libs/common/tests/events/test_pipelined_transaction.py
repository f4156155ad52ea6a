"""``swe_common.db.pipelined_transaction``: statements sent without waiting for each other in
one transaction, committed at the block's end, rolled back on an error, and the pooled
connection handed back as it was taken (not in autocommit, no transaction open)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from swe_common.db import Database, pipelined_transaction


@pytest.fixture
def checked_in(db) -> Iterator[list[tuple[bool, str]]]:
    """(autocommit, transaction status) of each connection the pool takes back."""
    seen: list[tuple[bool, str]] = []

    def record(dbapi_connection: Any, _record: Any) -> None:
        driver = dbapi_connection.driver_connection
        seen.append((driver.autocommit, driver.info.transaction_status.name))

    event.listen(db.engine.sync_engine.pool, "checkin", record)
    yield seen
    event.remove(db.engine.sync_engine.pool, "checkin", record)


async def effect_counts(db, schema) -> dict[str, int]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.select(schema.effects.c.aggregate, schema.effects.c.count))
        return dict(rows.all())


async def test_queued_writes_commit_with_the_block(db, schema, checked_in):
    table = schema.effects
    insert = sa.insert(table).values(
        aggregate=sa.bindparam("aggregate"), count=sa.bindparam("count")
    )
    select = sa.select(table.c.aggregate, table.c.count).where(
        table.c.aggregate == sa.bindparam("aggregate")
    )
    async with pipelined_transaction(db.engine) as tx:
        await tx.queue(insert, {"aggregate": "p-1", "count": 1})
        rows = await tx.rows(select, {"aggregate": "p-1"})  # sees its own transaction's write
        assert [(row.aggregate, row.count) for row in rows] == [("p-1", 1)]
        await tx.queue(insert, {"aggregate": "p-2", "count": 2})
    assert await effect_counts(db, schema) == {"p-1": 1, "p-2": 2}
    assert checked_in[0] == (False, "IDLE")


async def test_a_queued_statement_takes_its_parameters_as_sqlalchemy_does(db, schema):
    """As ``connection.execute`` (and so the block with statement tracing on): a parameter
    named as a column of an INSERT or UPDATE without its own values is a value to set."""
    table = schema.effects
    async with pipelined_transaction(db.engine) as tx:
        await tx.queue(sa.insert(table), {"aggregate": "p-7", "count": 4})
        await tx.queue(
            sa.update(table).where(table.c.aggregate == sa.bindparam("target")),
            {"target": "p-7", "count": 5},
        )
    assert await effect_counts(db, schema) == {"p-7": 5}


async def test_an_error_in_a_queued_statement_rolls_everything_back(db, schema, checked_in):
    table = schema.effects
    insert = sa.insert(table).values(
        aggregate=sa.bindparam("aggregate"), count=sa.bindparam("count")
    )
    with pytest.raises(sa.exc.IntegrityError):  # raised as SQLAlchemy raises it
        async with pipelined_transaction(db.engine) as tx:
            await tx.queue(insert, {"aggregate": "p-3", "count": 1})
            await tx.queue(insert, {"aggregate": "p-3", "count": 2})  # duplicate key
    with pytest.raises(RuntimeError):
        async with pipelined_transaction(db.engine) as tx:
            await tx.queue(insert, {"aggregate": "p-4", "count": 1})
            raise RuntimeError("the caller failed")
    assert await effect_counts(db, schema) == {}
    # Each connection back in the pool out of autocommit and out of any transaction.
    assert checked_in[:2] == [(False, "IDLE"), (False, "IDLE")]
    async with db.transaction() as session:  # the pooled connections still work
        await session.execute(insert, {"aggregate": "p-5", "count": 1})
    assert await effect_counts(db, schema) == {"p-5": 1}


async def test_an_error_read_while_a_later_statement_is_sent_is_raised_as_sqlalchemy_does(
    db, schema, checked_in
):
    """psycopg reads the answers that have arrived each time it sends in pipeline mode, and
    PostgreSQL sends an error at once: the error of a queued statement can come out of the
    ``queue`` of a later one. It is raised as SQLAlchemy raises it there too (it came out as
    psycopg's own UniqueViolation before), and everything rolls back."""
    table = schema.effects
    insert = sa.insert(table).values(
        aggregate=sa.bindparam("aggregate"), count=sa.bindparam("count")
    )
    with pytest.raises(sa.exc.IntegrityError):
        async with pipelined_transaction(db.engine) as tx:
            await tx.queue(insert, {"aggregate": "p-7", "count": 1})
            await tx.queue(insert, {"aggregate": "p-7", "count": 2})  # duplicate key
            await answer_arrived(tx)
            await tx.queue(insert, {"aggregate": "p-8", "count": 1})  # reads the error
    assert await effect_counts(db, schema) == {}
    assert checked_in[0] == (False, "IDLE")


async def answer_arrived(tx: Any) -> None:
    """Until the server's answer to what ``tx`` sent is there to read (white box: the psycopg
    connection's socket), so that the next send reads it."""
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[None] = loop.create_future()
    socket = tx._driver.pgconn.socket

    def readable() -> None:
        if not arrived.done():
            arrived.set_result(None)

    loop.add_reader(socket, readable)
    try:
        await asyncio.wait_for(arrived, 10)
    finally:
        loop.remove_reader(socket)


async def test_a_statement_whose_preparing_run_an_error_cut_off_runs_again(
    make_settings, db, schema
):
    """psycopg prepares a statement on the server at its sixth run on a connection
    (``prepare_threshold`` 5). In pipeline mode it counts the statement as prepared as soon as
    the Parse is queued, without checking its answer; a Parse cut off by an earlier error of
    the same pipeline never reached the server. The rollback after the error must forget it
    (psycopg's ROLLBACK clears its prepared statements and sends DEALLOCATE ALL), or the next
    run would fail: 'prepared statement "_pg3_N" does not exist' (as it does with psycopg's
    clear() stubbed out)."""
    one = Database(make_settings(db_pool_size=1, db_max_overflow=0))  # always the same connection
    table = schema.effects
    insert = sa.insert(table).values(
        aggregate=sa.bindparam("aggregate"), count=sa.bindparam("count")
    )
    bump = (
        sa.update(table)
        .where(table.c.aggregate == sa.bindparam("target"))
        .values(count=table.c.count + 1)
    )
    try:
        async with pipelined_transaction(one.engine) as tx:
            await tx.queue(insert, {"aggregate": "p-6", "count": 0})
        for _ in range(5):  # below the threshold: sent unprepared
            async with pipelined_transaction(one.engine) as tx:
                await tx.queue(bump, {"target": "p-6"})
        with pytest.raises(sa.exc.IntegrityError):
            async with pipelined_transaction(one.engine) as tx:
                await tx.queue(insert, {"aggregate": "p-6", "count": 9})  # duplicate key
                await tx.queue(bump, {"target": "p-6"})  # its Parse aborted with it
        async with pipelined_transaction(one.engine) as tx:
            await tx.queue(bump, {"target": "p-6"})
        async with pipelined_transaction(one.engine) as tx:  # and once prepared for real
            await tx.queue(bump, {"target": "p-6"})
            rows = await tx.rows(
                sa.select(table.c.count).where(table.c.aggregate == sa.bindparam("aggregate")),
                {"aggregate": "p-6"},
            )
        assert [row.count for row in rows] == [7]
    finally:
        await one.dispose()
