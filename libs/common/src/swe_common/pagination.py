"""The one way list endpoints paginate, sort and report totals.

Query parameters: ``limit`` (1-100, default 20), ``offset`` (default 0), ``sort`` (comma-separated
field names from the endpoint's allow-list, ``-`` for descending). Responses are ``Page[T]``:
``{"items": [...], "total": n, "limit": l, "offset": o}``. A sort field the endpoint does not
allow answers 422 naming the allowed ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

import sqlalchemy as sa
from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.db import read_rows
from swe_common.errors import Unprocessable
from swe_common.types import Name

T = TypeVar("T")
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int = 20
    offset: int = 0
    sort: tuple[str, ...] = ()


def page_params(
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
    more CPU than the rest of the request)."""
    ordered = statement.order_by(*order_by(params, allowed_sort, default_sort))
    paged = (
        ordered.add_columns(sa.func.count().over().label("total"))
        .limit(params.limit)
        .offset(params.offset)
    )
    rows = (await session.execute(paged)).all() if entities else await read_rows(session, paged)
    if rows:
        total = int(rows[0].total)
    elif params.offset == 0:
        total = 0
    else:
        counted = sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
        total = int(await session.scalar(counted) or 0)
    found = [row[0] for row in rows] if entities else list(rows)
    items = [to_item(entity) for entity in found] if to_item else found
    return Page[Any](items=items, total=total, limit=params.limit, offset=params.offset)
