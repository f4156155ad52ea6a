"""Typed dependencies every route uses: the request's session and the service's runtime parts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from swe_common.db import Database, close_read, end_read
from swe_common.settings import ServiceSettings

# Requests that change nothing: their statements run outside a transaction.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """One session per request: committed once after the route returns, before the response
    is sent (so a failed commit is the caller's error, not a silent loss), rolled back on error.

    A read (GET, HEAD) gets a session whose statements commit by themselves (``Database.reader``):
    no BEGIN and COMMIT round trips around its SELECTs, which at PostgreSQL's READ COMMITTED
    see what they saw inside a transaction (each statement its own snapshot). What a read
    writes on the side (a read model filled on a miss) is one statement, committed as it runs.
    """
    db: Database = request.app.state.db
    if request.scope.get("method") in READ_METHODS:
        # No connection is taken until the route runs a statement (``Database.read_session``).
        reader = db.read_session()
        try:
            yield reader
            await end_read(reader)  # runs after-commit callbacks; nothing to send
        finally:
            await close_read(reader)
        return
    async with db.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


def get_settings(request: HTTPConnection) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


def get_redis(request: HTTPConnection) -> Any:
    redis = getattr(request.app.state, "redis", None)
    if redis is None:
        raise RuntimeError("this service was built without Redis")
    return redis


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
RedisDep = Annotated[Any, Depends(get_redis)]
