"""One round trip per page: the rows and the size of the whole filtered set together.

``swe_common.pagination.paginate`` counts with a query of its own before it reads the page.
The issues service answers most of the platform's list requests, and each database round
trip costs it a turn of its event loop (on a busy machine, the cost that matters), so here the
total rides along with the rows as ``count(*) OVER ()``. Only a page past the end (no rows to
carry it) needs the separate count.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.pagination import Page, PageParams, order_by


async def page_with_total(
    session: AsyncSession,
    statement: sa.Select[Any],
    params: PageParams,
    *,
    allowed_sort: Mapping[str, Any],
    default_sort: Sequence[Any],
) -> Page[Any]:
    """``statement`` selects one ORM entity; its page, and how many rows it selects in all."""
    ordered = statement.order_by(*order_by(params, allowed_sort, default_sort))
    rows = (
        await session.execute(
            ordered.add_columns(sa.func.count().over().label("total"))
            .limit(params.limit)
            .offset(params.offset)
        )
    ).all()
    if rows:
        total = int(rows[0].total)
    elif params.offset == 0:
        total = 0
    else:
        counted = sa.select(sa.func.count()).select_from(statement.order_by(None).subquery())
        total = int(await session.scalar(counted) or 0)
    items = [row[0] for row in rows]
    return Page[Any](items=items, total=total, limit=params.limit, offset=params.offset)
