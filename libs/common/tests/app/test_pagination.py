"""Lists paginate, sort and count the same way everywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from swe_common.db import Database, read_rows
from swe_common.errors import Unprocessable
from swe_common.pagination import Listing, Page, PageParams, page_params, paginate
from swe_common.settings import ServiceSettings

items = sa.Table(
    "page_items",
    sa.MetaData(schema="pagetest"),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(20)),
)


@pytest.fixture(scope="module")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(ServiceSettings(database_url=database_url, db_schema="pagetest"))
    async with database.engine.begin() as conn:
        await conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS pagetest"))
        await conn.run_sync(items.metadata.create_all)
        await conn.execute(sa.delete(items))
        await conn.execute(
            sa.insert(items), [{"id": i, "name": f"item-{i:02d}"} for i in range(1, 46)]
        )
    yield database
    await database.dispose()


async def _page(db: Database, params: PageParams):
    async with db.sessionmaker() as session:
        return await paginate(
            session,
            sa.select(items.c.id),
            params,
            allowed_sort={"id": items.c.id, "name": items.c.name},
            default_sort=[items.c.id],
        )


async def test_page_reports_total_and_window(db):
    page = await _page(db, PageParams(limit=20, offset=40))
    assert page.total == 45
    assert page.items == [41, 42, 43, 44, 45]
    assert (page.limit, page.offset) == (20, 40)


async def test_page_past_the_end_is_empty_and_still_reports_the_total(db):
    page = await _page(db, PageParams(limit=20, offset=60))
    assert (page.items, page.total) == ([], 45)


async def test_filtered_set_reports_its_own_total(db):
    async with db.sessionmaker() as session:
        page: Page[Any] = await paginate(
            session,
            sa.select(items.c.id).where(items.c.id > 40),
            PageParams(limit=2),
            allowed_sort={"id": items.c.id},
            default_sort=[items.c.id],
        )
    assert (page.items, page.total) == ([41, 42], 5)


async def test_sort_descending_by_allowed_field(db):
    page = await _page(db, PageParams(limit=3, sort=("-name",)))
    assert page.items == [45, 44, 43]


async def test_sort_by_unknown_field_is_refused_naming_allowed_ones(db):
    with pytest.raises(Unprocessable) as refused:
        await _page(db, PageParams(sort=("password",)))
    assert "allowed: id, name" in refused.value.detail


async def test_sort_parameter_is_split_on_commas():
    assert (await page_params(limit=5, offset=0, sort="name, -id")).sort == ("name", "-id")


def _above(shape: object) -> sa.Select[Any]:
    statement = sa.select(items.c.id, items.c.name)
    if shape == "above":
        statement = statement.where(items.c.id > sa.bindparam("floor"))
    return statement


LISTING = Listing(_above, allowed_sort={"id": items.c.id}, default_sort=[items.c.id])


async def test_a_listing_pages_its_shapes_with_the_values_bound(db):
    async with db.sessionmaker() as session:
        first: Page[Any] = await LISTING.page(session, "above", {"floor": 40}, PageParams(limit=2))
        again: Page[Any] = await LISTING.page(
            session, "above", {"floor": 10}, PageParams(limit=2, offset=3)
        )
        every: Page[Any] = await LISTING.page(
            session, "all", {}, PageParams(limit=2, sort=("-id",))
        )
        past: Page[Any] = await LISTING.page(session, "above", {"floor": 40}, PageParams(offset=10))
    assert first.items[0] == {"id": 41, "name": "item-41", "total": 5}
    assert ([r["id"] for r in first.items], first.total) == ([41, 42], 5)
    assert ([r["id"] for r in again.items], again.total) == ([14, 15], 35)
    assert ([r["id"] for r in every.items], every.total) == ([45, 44], 45)
    assert (past.items, past.total) == ([], 5)


def test_a_listing_builds_each_shape_and_order_once():
    paged = LISTING.paged("above", PageParams(sort=("-id",)))
    assert LISTING.paged("above", PageParams(limit=5, offset=5, sort=("-id",))) is paged
    assert LISTING.paged("above", PageParams()) is not paged
    with pytest.raises(Unprocessable):
        LISTING.paged("above", PageParams(sort=("name",)))


HEAD = sa.select(items.c.name.label("head_name")).where(items.c.id == sa.bindparam("head_id"))


async def test_a_page_along_another_row_keeps_its_order_window_and_total(db):
    async def along(head_id: int, params: PageParams) -> Any:
        async with db.sessionmaker() as session:
            values = {"floor": 10, "head_id": head_id}
            return await LISTING.page_along(session, HEAD, "head", "above", values, params)

    head, page = await along(3, PageParams(limit=4, offset=2, sort=("-id",)))
    assert head == {"head_name": "item-03"}
    assert [r["id"] for r in page.items] == [43, 42, 41, 40]
    assert page.items[0] == {"id": 43, "name": "item-43", "total": 35}
    assert page.total == 35
    head, page = await along(3, PageParams(offset=40))  # past the end: counted on its own
    assert (head, page.items, page.total) == ({"head_name": "item-03"}, [], 35)
    assert await along(99, PageParams()) is None  # no row to go along with: no page read


async def test_a_page_along_another_row_reads_that_row_once(db):
    # The head's values come on the page's first row only: a driver parses each value it
    # receives (a project's members, JSON, were parsed once per row of the page).
    params = PageParams(limit=3, offset=5, sort=("-id",))
    fused = LISTING._along_statement(HEAD, "head", "above", params)
    values = {"floor": 10, "head_id": 3, "page_limit": 3, "page_offset": 5}
    async with db.sessionmaker() as session:
        rows = await read_rows(session, fused, values)
    assert [(row.head_name, row.id) for row in rows] == [("item-03", 40), (None, 39), (None, 38)]
