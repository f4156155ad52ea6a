"""An event and its change's own writes in one statement (``Outbox.publish(with_writes=...)``):
both land with the commit, neither with a rollback, and it is one round trip."""

import sqlalchemy as sa
from sqlalchemy import event as sa_event


class Boom(Exception):
    pass


async def _state(db, schema) -> tuple[list[str], dict[str, int]]:
    async with db.engine.connect() as conn:
        events = list((await conn.execute(sa.select(schema.tables.outbox.c.event_id))).scalars())
        effects = {
            row.aggregate: row.count for row in await conn.execute(sa.select(schema.effects))
        }
    return [str(e) for e in events], effects


async def test_the_writes_and_the_event_commit_together_in_one_statement(
    db, schema, outbox, note_added
):
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa_event.listen(db.engine.sync_engine, "before_cursor_execute", seen)
    try:
        async with db.transaction() as session:
            event = await outbox.publish(
                session,
                note_added,
                {"aggregate": "a-1"},
                subject="a-1",
                with_writes=[
                    sa.insert(schema.effects).values(aggregate="a-1", count=1),
                    sa.insert(schema.effects).values(aggregate="a-2", count=2),
                ],
            )
    finally:
        sa_event.remove(db.engine.sync_engine, "before_cursor_execute", seen)
    assert await _state(db, schema) == ([event.id], {"a-1": 1, "a-2": 2})
    inserts = [s for s in statements if "INSERT" in s]
    assert len(inserts) == 1, statements


async def test_a_rollback_takes_the_writes_with_the_event(db, schema, outbox, note_added):
    try:
        async with db.transaction() as session:
            await outbox.publish(
                session,
                note_added,
                {"aggregate": "a-1"},
                with_writes=[sa.insert(schema.effects).values(aggregate="a-1", count=1)],
            )
            raise Boom
    except Boom:
        pass
    assert await _state(db, schema) == ([], {})


def _bump_then_note(schema, outbox):
    """A statement of fixed structure: bump an aggregate's counter and, only if it exists,
    write the event (``Outbox.insert_if``)."""
    effects = schema.effects
    bumped = (
        sa.update(effects)
        .where(effects.c.aggregate == sa.bindparam("target"))
        .values(count=effects.c.count + 1)
        .returning(effects.c.aggregate)
        .cte("bumped")
    )
    return outbox.insert_if(bumped).add_cte(bumped).returning(outbox.table.c.event_id)


async def test_insert_if_writes_the_event_only_when_its_guard_has_a_row(
    db, schema, outbox, note_added
):
    statement = _bump_then_note(schema, outbox)
    async with db.engine.begin() as conn:
        await conn.execute(sa.insert(schema.effects).values(aggregate="a-1", count=1))
    written = outbox.event(note_added, {"aggregate": "a-1"}, subject="a-1")
    not_written = outbox.event(note_added, {"aggregate": "a-2"}, subject="a-2")
    async with db.engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        hit = await autocommit.execute(statement, {"target": "a-1", **outbox.values(written)})
        miss = await autocommit.execute(statement, {"target": "a-2", **outbox.values(not_written)})
    assert (hit.all(), miss.all()) == ([(written.id,)], [])
    assert await _state(db, schema) == ([written.id], {"a-1": 2})
