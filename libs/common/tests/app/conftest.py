from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from swe_common.app import ServiceSpec, create_service_app
from swe_common.deps import SessionDep
from swe_common.errors import NotFound, ServiceUnavailable
from swe_common.logging import get_logger
from swe_common.security import api_key_scope
from swe_common.settings import LogFormat, ServiceSettings
from swe_common.testing import create_test_database, drop_test_database, running_app


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url = create_test_database()
    yield url
    drop_test_database(url)


class Widget(BaseModel):
    name: str = Field(min_length=1, max_length=20)
    size: int = Field(ge=1)


def example_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/example", dependencies=[api_key_scope("example")])

    @router.post("/widgets", status_code=201)
    async def create_widget(widget: Widget) -> Widget:
        return widget

    @router.get("/widgets/{widget_id}")
    async def get_widget(widget_id: int) -> Widget:
        raise NotFound(f"Widget {widget_id} does not exist")

    @router.get("/dependency-down")
    async def dependency_down() -> None:
        raise ServiceUnavailable("GitHub could not be reached; retry later")

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    @router.get("/log-secret")
    async def log_secret() -> dict[str, str]:
        get_logger("test").info("login_attempt", password="hunter2", detail={"token": "abc"})
        return {"ok": "yes"}

    @router.get("/db")
    async def db_time(session: SessionDep) -> dict[str, Any]:
        from sqlalchemy import text

        return {"one": await session.scalar(text("SELECT 1"))}

    @router.get("/db-slow")
    async def db_slow(session: SessionDep) -> dict[str, Any]:
        from sqlalchemy import text

        return {"slept": await session.scalar(text("SELECT pg_sleep(1)::text"))}

    return router


def build_app(
    database_url: str, body_limits: dict[str, int] | None = None, **overrides: Any
) -> FastAPI:
    settings = ServiceSettings(
        service_name="example",
        database_url=database_url,
        log_format=LogFormat.json,
        **overrides,
    )
    return create_service_app(
        ServiceSpec(
            settings=settings,
            title="example",
            routers=[example_router()],
            verify_tokens=False,
            body_limits=body_limits or {},
        )
    )


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[Any]:
    async with running_app(build_app(database_url)) as client:
        yield client


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the root logger writes, through the platform's formatter (JSON)."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)
