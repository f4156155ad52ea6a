"""The one way list endpoints paginate, sort and report totals.

Query parameters: ``limit`` (1-100, default 20), ``offset`` (default 0), ``sort`` (comma-separated
field names from the endpoint's allow-list, ``-`` for descending). Responses are ``Page[T]``:
``{"items": [...], "total": n, "limit": l, "offset": o}``. A sort field the endpoint does not
allow answers 422 naming the allowed ones.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar, cast

import sqlalchemy as sa
from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.db import read_rows, read_values
from swe_common.errors import Unprocessable
from swe_common.types import Name

T = TypeVar("T")
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# Page[X] per X, made once: pydantic's own lookup of a parametrized model costs more than the
# dict's, on every page.
_PAGE_MODELS: dict[Any, Any] = {}


def _page_model(model: Any) -> Any:
    found = _PAGE_MODELS.get(model)
    if found is None:
        found = _PAGE_MODELS[model] = cast(Any, Page)[model]
    return found


_AnyPage: type[Page[Any]] = _page_model(Any)


def page_of(model: type[T], page: Page[Any], items: list[Any] | None = None) -> Page[T]:
    """``page`` with its items (dicts of rows, as ``Listing`` reads them), or ``items`` in
    their place, validated into ``model`` in one call: validating each item apart cost a page
    of 20 a sixth more CPU than the whole page at once."""
    validated: Page[T] = _page_model(model).model_validate(
        {
            "items": page.items if items is None else items,
            "total": page.total,
            "limit": page.limit,
            "offset": page.offset,
        }
    )
    return validated


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int = 20
    offset: int = 0
    sort: tuple[str, ...] = ()


async def page_params(  # async: FastAPI runs a plain def dependency in a worker thread
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")] = 0,
    sort: Annotated[
        Name | None, Query(description="Comma-separated fields; prefix '-' for descending")
    ] = None,
) -> PageParams:
    fields = tuple(part.strip() for part in (sort or "").split(",") if part.strip())
    return PageParams(limit=limit, offset=offset, sort=fields)


PageQuery = Annotated[PageParams, Depends(page_params)]


def order_by(
    params: PageParams,
    allowed: Mapping[str, Any],
    default: Sequence[Any],
) -> list[Any]:
    """ORDER BY clauses for ``params.sort`` from ``allowed`` (field name -> column)."""
    clauses: list[Any] = []
    for field in params.sort:
        name = field.removeprefix("-")
        column = allowed.get(name)
        if column is None:
            raise Unprocessable(
                f"Cannot sort by {name!r}; allowed: {', '.join(sorted(allowed))}",
                errors=[{"field": "query.sort", "message": f"unknown sort field {name!r}"}],
            )
        clauses.append(column.desc() if field.startswith("-") else column.asc())
    return clauses + list(default) if clauses else list(default)


# Bind names of a page's window; a listing's own statement must not use them.
_LIMIT = sa.bindparam("page_limit", type_=sa.Integer)
_OFFSET = sa.bindparam("page_offset", type_=sa.Integer)
_TOTAL = sa.func.count().over().label("total")
_ORDINAL = "page_ordinal"
# Sort orders cached per listing shape: a sort is a client's choice among few fields, yet bound
# the cache so that a client cycling through orders cannot grow it without end.
_MAX_CACHED = 512


def _paged(statement: sa.Select[Any], clauses: Sequence[Any]) -> sa.Select[Any]:
    """``statement`` ordered, windowed by the bound limit and offset, with the total of the
    whole filtered set riding along as ``count(*) OVER ()`` (computed before LIMIT)."""
    return statement.order_by(*clauses).add_columns(_TOTAL).limit(_LIMIT).offset(_OFFSET)


def _counted(statement: sa.Select[Any]) -> sa.Select[Any]:
    return sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())


async def _run_page(
    session: AsyncSession,
    paged: sa.Select[Any],
    counted: Callable[[], sa.Select[Any]],
    values: Mapping[str, Any],
    params: PageParams,
    *,
    entities: bool,
    to_item: Callable[[Any], Any] | None,
    as_dicts: bool = False,
) -> Page[Any]:
    bound = {**values, "page_limit": params.limit, "page_offset": params.offset}
    found: list[Any]
    if as_dicts:
        # A row's values by key: pydantic validates a dict in a third of the CPU it spends
        # reading the same fields off a SQLAlchemy row by attribute.
        keys, values_of_rows = await read_values(session, paged, bound)
        found = [dict(zip(keys, row, strict=True)) for row in values_of_rows]
        first_total = found[0]["total"] if found else None
    else:
        rows = (
            (await session.execute(paged, bound)).all()
            if entities
            else await read_rows(session, paged, bound)
        )
        found = [row[0] for row in rows] if entities else list(rows)
        first_total = rows[0].total if rows else None
    if first_total is not None:
        total = int(first_total)
    elif params.offset == 0:
        total = 0
    else:  # a page past the end: no row carries the total
        total = int(await session.scalar(counted(), dict(values)) or 0)
    items = [to_item(entity) for entity in found] if to_item else found
    return _AnyPage(items=items, total=total, limit=params.limit, offset=params.offset)


async def paginate(
    session: AsyncSession,
    statement: sa.Select[Any],
    params: PageParams,
    *,
    allowed_sort: Mapping[str, Any],
    default_sort: Sequence[Any],
    to_item: Callable[[Any], T] | None = None,
    entities: bool = True,
) -> Page[T]:
    """One page of ``statement`` (a select of one ORM entity) and the size of the whole filtered
    set, in one round trip: the total rides along with the rows as ``count(*) OVER ()``
    (computed before LIMIT). Only a page past the end, with no rows to carry it, is counted by
    a query of its own. On a busy service each round trip costs a turn of the event loop.

    ``entities=False``: ``statement`` selects a table's columns (``sa.select(Model.__table__)``)
    and runs without the ORM (``swe_common.db.read_rows``); the items are its rows, which read
    by attribute like the objects: for a page a request only returns (a page of 20 objects cost
    more CPU than the rest of the request).

    For a statement built per request; a hot list builds its statements once (``Listing``)."""
    paged = _paged(statement, order_by(params, allowed_sort, default_sort))
    return await _run_page(
        session,
        paged,
        lambda: _counted(statement),
        {},
        params,
        entities=entities,
        to_item=to_item,
    )


class Listing:
    """A list endpoint's statements built once per *shape* (which filters a request uses, as
    the endpoint defines it) and sort order, the request's values bound at execution
    (``sa.bindparam`` in the statement ``build(shape)`` returns). Building a select per request,
    and SQLAlchemy deriving its cache key, cost more CPU than running it; a statement object
    used again is found in the compiled cache by identity (see ``swe_common.db.read_rows``).
    Same pages, totals and sort rules as ``paginate``; rows are read without the ORM and the
    items are dicts of them (column key -> value; ``total`` among them), for ``to_item`` or the
    caller to validate into the response's models."""

    def __init__(
        self,
        build: Callable[[Hashable], sa.Select[Any]],
        *,
        allowed_sort: Mapping[str, Any],
        default_sort: Sequence[Any],
    ) -> None:
        self._build = build
        self._allowed_sort = allowed_sort
        self._default_sort = tuple(default_sort)
        self._filtered: dict[Hashable, sa.Select[Any]] = {}
        self._paged: dict[tuple[Hashable, tuple[str, ...]], sa.Select[Any]] = {}
        self._counted: dict[Hashable, sa.Select[Any]] = {}
        self._along: dict[tuple[Hashable, Hashable, tuple[str, ...]], sa.Select[Any]] = {}

    def statement(self, shape: Hashable) -> sa.Select[Any]:
        """The filtered select of ``shape`` (unordered, unwindowed)."""
        statement = self._filtered.get(shape)
        if statement is None:
            statement = self._build(shape)
            if len(self._filtered) < _MAX_CACHED:
                self._filtered[shape] = statement
        return statement

    def paged(self, shape: Hashable, params: PageParams) -> sa.Select[Any]:
        key = (shape, params.sort)
        paged = self._paged.get(key)
        if paged is None:
            clauses = order_by(params, self._allowed_sort, self._default_sort)  # 422 if unknown
            paged = _paged(self.statement(shape), clauses)
            if len(self._paged) < _MAX_CACHED:
                self._paged[key] = paged
        return paged

    def _count(self, shape: Hashable) -> sa.Select[Any]:
        counted = self._counted.get(shape)
        if counted is None:
            counted = _counted(self.statement(shape))
            if len(self._counted) < _MAX_CACHED:
                self._counted[shape] = counted
        return counted

    async def page(
        self,
        session: AsyncSession,
        shape: Hashable,
        values: Mapping[str, Any],
        params: PageParams,
        *,
        to_item: Callable[[Any], T] | None = None,
    ) -> Page[T]:
        """One page of ``shape``'s rows with ``values`` bound (see ``paginate``)."""
        return await _run_page(
            session,
            self.paged(shape, params),
            lambda: self._count(shape),
            values,
            params,
            entities=False,
            to_item=to_item,
            as_dicts=True,
        )

    def _along_statement(
        self, along: sa.Select[Any], along_key: Hashable, shape: Hashable, params: PageParams
    ) -> sa.Select[Any]:
        key = (along_key, shape, params.sort)
        fused = self._along.get(key)
        if fused is None:
            clauses = order_by(params, self._allowed_sort, self._default_sort)  # 422 if unknown
            # The page numbers its rows in its own order: the join's output is put back in it
            # (SQL keeps no order through a join without an ORDER BY of its own).
            numbered = _paged(self.statement(shape), clauses).add_columns(
                sa.func.row_number().over(order_by=clauses).label(_ORDINAL)
            )
            page = numbered.lateral("page")
            head = along.subquery("along")
            # The head's values on the page's first row only (the others NULL): the driver
            # then reads them once, not once per row (a project's members, a JSON column,
            # were parsed 20 times for a page of 20). The first row holds the page's lowest
            # ordinal, or none for an empty page (the one row the outer join makes).
            ordinal = page.c[_ORDINAL]
            first = sa.or_(ordinal.is_(None), ordinal == sa.func.min(ordinal).over())
            heads: list[Any] = [sa.case((first, c)).label(c.key) for c in head.c]
            fused = (
                sa.select(*heads, *page.c)
                .select_from(head.outerjoin(page, sa.true()))
                .order_by(ordinal)
            )
            if len(self._along) < _MAX_CACHED:
                self._along[key] = fused
        return fused

    async def page_along(
        self,
        session: AsyncSession,
        along: sa.Select[Any],
        along_key: Hashable,
        shape: Hashable,
        values: Mapping[str, Any],
        params: PageParams,
    ) -> tuple[dict[str, Any], Page[Any]] | None:
        """The one row of ``along`` and a page of ``shape`` (as ``page``), in one round trip:
        for a list whose caller's right to it is read from another table (the project's access
        columns), a round trip less. ``along`` (built once, keyed by ``along_key``) selects at
        most one row, its columns named apart from the listing's and its values in ``values``
        too. None when ``along`` has no row (no page read)."""
        fused = self._along_statement(along, along_key, shape, params)
        bound = {**values, "page_limit": params.limit, "page_offset": params.offset}
        keys, rows = await read_values(session, fused, bound)
        if not rows:
            return None
        width = len(along.selected_columns)
        head = dict(zip(keys[:width], rows[0][:width], strict=True))
        page_keys = keys[width:-1]  # without the ordinal
        items = [
            dict(zip(page_keys, row[width:-1], strict=True))
            for row in rows
            if row[-1] is not None  # the one row of an empty page: its columns are NULL
        ]
        if items:
            total = int(items[0]["total"])
        elif params.offset == 0:
            total = 0
        else:  # a page past the end: no row carries the total
            total = int(await session.scalar(self._count(shape), dict(values)) or 0)
        return head, _AnyPage(items=items, total=total, limit=params.limit, offset=params.offset)
