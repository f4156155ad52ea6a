"""``read_rows`` runs a plain select on the psycopg cursor itself: the rows read as SQLAlchemy's
would (same values, same keys, by attribute and by name), its statements are still timed in
``swe_db_query_duration_seconds``, an error is SQLAlchemy's exception, and a select whose
values SQLAlchemy converts (an Enum class) still comes back converted."""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from swe_common import db as db_module
from swe_common.db import Database, read_row, read_rows
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
        connection = session.info[db_module._READER_CONNECTION]
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


async def test_an_error_is_sqlalchemys(db: Database) -> None:
    missing = sa.table("no_such_table", sa.column("x"), schema=SCHEMA)
    async with db.reader() as session:
        with pytest.raises(sa.exc.ProgrammingError):
            await read_rows(session, sa.select(missing.c.x))
        # The connection is still good for the next read.
        assert await read_rows(session, BY_ID, {"thing_id": uuid.uuid4()}) == []
