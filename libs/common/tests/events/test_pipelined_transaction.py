"""``swe_common.db.pipelined_transaction``: statements sent without waiting for each other in
one transaction, committed at the block's end, rolled back on an error, and the pooled
connection handed back as it was taken (not in autocommit, no transaction open)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from swe_common.db import pipelined_transaction


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
