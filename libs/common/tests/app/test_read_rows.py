"""``read_rows`` runs a plain select on the psycopg cursor itself: the rows read as SQLAlchemy's
would (same values, same keys, by attribute and by name), its statements are still timed in
``swe_db_query_duration_seconds``, an error is SQLAlchemy's exception, and a select whose
values SQLAlchemy converts (an Enum class) still comes back converted."""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import JSONB

from swe_common import db as db_module
from swe_common.db import Database, read_row, read_rows, read_values
from swe_common.metrics import register_engine
from swe_common.settings import ServiceSettings

SCHEMA = "readrowstest"
metadata = sa.MetaData(schema=SCHEMA)


class Colour(enum.Enum):
    red = "red"
    blue = "blue"


things = sa.Table(
    "things",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("labels", sa.ARRAY(sa.String), nullable=False),
    sa.Column("extra", sa.JSON, nullable=True),
    sa.Column("colour", sa.Enum(Colour, native_enum=False), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
BY_ID = sa.select(things.c.id, things.c.name, things.c.labels, things.c.extra, things.c.at).where(
    things.c.id == sa.bindparam("thing_id")
)
SERVICE = "readrowstest"


@pytest.fixture(scope="module")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(ServiceSettings(database_url=database_url, db_schema=SCHEMA))
    register_engine(SERVICE, database.engine)
    async with database.engine.begin() as conn:
        await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.run_sync(metadata.create_all)
    yield database
    await database.dispose()


def selects() -> float:
    labels = {"service": SERVICE, "operation": "select"}
    return REGISTRY.get_sample_value("swe_db_query_duration_seconds_count", labels) or 0.0


async def test_plain_select_reads_as_sqlalchemy_would(db: Database) -> None:
    rows = [
        {
            "id": uuid.uuid4(),
            "name": f"thing {n}",
            "labels": ["a", f"n{n}"],
            "extra": {"n": n, "nested": [1, {"k": "v"}]} if n % 2 else None,
            "colour": Colour.red,
            "at": datetime(2026, 12, 3, 10, n, tzinfo=UTC),
        }
        for n in range(5)
    ]
    async with db.engine.begin() as conn:
        await conn.execute(sa.insert(things), rows)
    page = (
        sa.select(things.c.name, things.c.labels, sa.func.count().over().label("total"))
        .where(things.c.name.like("thing%"))
        .order_by(things.c.at.desc())
        .limit(3)
    )
    before = selects()
    async with db.reader() as session:
        # The read's own connection, through SQLAlchemy's execution.
        connection = await session.connection()
        for statement, params in ((BY_ID, {"thing_id": rows[1]["id"]}), (page, None)):
            direct = await read_rows(session, statement, params)
            through_sqlalchemy = (await connection.execute(statement, params)).all()
            assert direct == through_sqlalchemy
            assert [r._fields for r in direct] == [r._fields for r in through_sqlalchemy]
        one = await read_row(session, BY_ID, {"thing_id": rows[1]["id"]})
        missing = await read_row(session, BY_ID, {"thing_id": uuid.uuid4()})
    assert one is not None and missing is None
    assert (one.name, one.labels, one.extra) == ("thing 1", ["a", "n1"], rows[1]["extra"])
    assert one._mapping["at"] == rows[1]["at"]
    # Both statements went to the cursor directly (nothing for SQLAlchemy to convert)...
    assert sum(plain is not None for plain in db_module._PLAIN.values()) >= 2
    # ...and each read was timed: 2 direct + 2 through SQLAlchemy + 2 read_row.
    assert selects() - before == 6


async def test_converted_values_still_converted(db: Database) -> None:
    thing = {"id": uuid.uuid4(), "name": "blue", "labels": [], "colour": Colour.blue}
    async with db.engine.begin() as conn:
        await conn.execute(sa.insert(things), [{**thing, "at": datetime.now(UTC)}])
    async with db.reader() as session:
        row = await read_row(
            session,
            sa.select(things.c.colour).where(things.c.id == sa.bindparam("i")),
            {"i": thing["id"]},
        )
    assert row is not None and row.colour is Colour.blue


async def test_read_values_are_the_rows_values_with_their_names(db: Database) -> None:
    # Directly (psycopg's tuples) and through SQLAlchemy (a converted Enum): the same names
    # and values as read_rows; JSON with text beyond ASCII parsed as json.loads would.
    thing = {
        "id": uuid.uuid4(),
        "name": "values",
        "labels": ["é"],
        "extra": {"naïve": ["日本", 1.5, None, True]},
        "colour": Colour.blue,
        "at": datetime.now(UTC),
    }
    async with db.engine.begin() as conn:
        await conn.execute(sa.insert(things), [thing])
    converted = sa.select(things.c.name, things.c.colour).where(things.c.id == sa.bindparam("i"))
    cases = ((BY_ID, {"thing_id": thing["id"]}), (converted, {"i": thing["id"]}))
    async with db.reader() as session:
        read = [
            (await read_values(session, q, p), await read_rows(session, q, p)) for q, p in cases
        ]
        none = await read_values(session, BY_ID, {"thing_id": uuid.uuid4()})
    for (names, values), rows in read:
        assert list(names) == list(rows[0]._fields)
        assert [tuple(v) for v in values] == [tuple(r) for r in rows]
    (names, (by_id,)), _ = read[0]
    assert dict(zip(names, by_id, strict=True))["extra"] == thing["extra"]
    (_, ((name, colour),)), _ = read[1]
    assert (name, colour) == ("values", Colour.blue)
    assert list(none[1]) == []


async def test_an_error_is_sqlalchemys(db: Database) -> None:
    missing = sa.table("no_such_table", sa.column("x"), schema=SCHEMA)
    async with db.reader() as session:
        with pytest.raises(sa.exc.ProgrammingError):
            await read_rows(session, sa.select(missing.c.x))
        # The connection is still good for the next read.
        assert await read_rows(session, BY_ID, {"thing_id": uuid.uuid4()}) == []


# -- the read session: lazy, autocommit on the driver, the pool left as it was --------------------


@contextmanager
def checkins(db: Database) -> Iterator[list[bool | None]]:
    """The autocommit flag of each connection put back in the pool while the block runs (None:
    a connection discarded): what the next writer would get."""
    seen: list[bool | None] = []

    def checked_in(dbapi_connection: Any, _record: Any) -> None:
        seen.append(None if dbapi_connection is None else dbapi_connection.autocommit)

    pool = db.engine.sync_engine.pool
    event.listen(pool, "checkin", checked_in)
    try:
        yield seen
    finally:
        event.remove(pool, "checkin", checked_in)


def checked_out(db: Database) -> int:
    return db.engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]


async def test_a_read_session_takes_no_connection_until_a_statement_runs(db: Database) -> None:
    with checkins(db) as seen:
        async with db.reader() as session:
            assert checked_out(db) == 0
            assert await read_rows(session, BY_ID, {"thing_id": uuid.uuid4()}) == []
            assert checked_out(db) == 1
            # The ORM runs on the same connection: one per read, whatever runs.
            await session.execute(sa.text("SELECT 1"))
            assert checked_out(db) == 1
        assert checked_out(db) == 0
        async with db.reader() as session:
            pass  # nothing ran: nothing checked out, nothing checked in
    assert seen == [False]  # back in the pool out of autocommit


async def test_a_read_session_commits_each_statement_and_hands_back_a_transactional_one(
    db: Database,
) -> None:
    thing_id = uuid.uuid4()
    insert = sa.insert(things).values(
        id=thing_id, name="written by a read", labels=[], colour=Colour.red, at=datetime.now(UTC)
    )
    async with db.reader() as session:
        await session.execute(insert)  # nobody commits: each statement committed as it ran
    async with db.engine.connect() as other:
        assert (await other.execute(sa.select(things.c.name).where(things.c.id == thing_id))).one()
    # A pooled connection in a writer's hands is transactional again: rolled back, still there.
    async with db.engine.connect() as writer:
        await writer.execute(sa.delete(things).where(things.c.id == thing_id))
        await writer.rollback()
    async with db.reader() as session:
        assert await read_row(session, BY_ID, {"thing_id": thing_id}) is not None


async def test_a_read_connection_that_cannot_leave_autocommit_is_discarded(db: Database) -> None:
    with checkins(db) as seen:
        async with db.reader() as session:
            await read_rows(session, BY_ID, {"thing_id": uuid.uuid4()})
            read = db_module._read_connection(session)
            assert read is not None and read.connection is not None
            driver: Any = read.connection.connection.driver_connection
            # A transaction left open under read_rows (no ORM to roll it back): autocommit
            # cannot be unset, so the connection must not go back to the pool.
            await driver.execute("BEGIN")
    assert driver.closed
    assert seen == [None]
    async with db.reader() as session:  # the pool hands out a good one
        assert await read_rows(session, BY_ID, {"thing_id": uuid.uuid4()}) == []


async def test_a_closed_read_session_takes_no_connection_again(db: Database) -> None:
    async with db.reader() as session:
        pass
    with pytest.raises(sa.exc.ResourceClosedError):
        await read_rows(session, BY_ID, {"thing_id": uuid.uuid4()})
    assert checked_out(db) == 0


async def test_a_read_sessions_after_commit_callbacks_run_when_it_ends_well(db: Database) -> None:
    ran: list[str] = []

    def callback(name: str) -> db_module.AfterCommit:
        async def run() -> None:
            ran.append(name)

        return run

    async with db.reader() as session:
        await read_rows(session, BY_ID, {"thing_id": uuid.uuid4()})
        db_module.after_commit(session, callback("ended"))
        await db_module.end_read(session)
    async with db.reader() as session:  # a read that failed: never ended, never heard
        await read_rows(session, BY_ID, {"thing_id": uuid.uuid4()})
        db_module.after_commit(session, callback("failed"))
    await db_module.after_commit_settled()
    assert ran == ["ended"]


JSON_TEXTS = ["{}", "[]", ' {"a": [1, 2.5, null]} ', "\n[true]\n", '"naïve 日本"', "7", "null"]


async def test_json_values_read_as_json_loads_would(db: Database) -> None:
    # JSONB as PostgreSQL writes it (no whitespace around it) and JSON text kept as it was
    # stored (with its whitespace, which the scanner alone does not take): both parsed.
    columns = [
        sa.cast(sa.literal(text), kind).label(f"{kind.__name__.lower()}_{n}")
        for n, text in enumerate(JSON_TEXTS)
        for kind in (sa.JSON, JSONB)
    ]
    async with db.reader() as session:
        (row,) = await read_rows(session, sa.select(*columns))
    assert list(row) == [json.loads(text) for text in JSON_TEXTS for _ in (sa.JSON, JSONB)]


@pytest.mark.parametrize("text", [b"", b" ", b"{} x", b'{"a": 1}}', b"{", b"nul"])
def test_json_that_is_not_json_is_refused(text: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        db_module.json_loads(text)
