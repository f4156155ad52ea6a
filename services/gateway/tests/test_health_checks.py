"""Active health checks tell a slow instance from a dead or unready one (real HTTP servers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from swe_common.testing import served
from swe_gateway.settings import Settings
from swe_gateway.upstreams import Registry


class Ready:
    delay = 0.0
    status = 200


@pytest.fixture
async def instance() -> AsyncIterator[tuple[str, Ready]]:
    ready = Ready()

    async def handler(_request: web.Request) -> web.Response:
        await asyncio.sleep(ready.delay)
        return web.Response(status=ready.status)

    app = web.Application()
    app.router.add_get("/health/ready", handler)
    async with served(app) as url:
        yield url, ready


def _registry(url: str) -> Registry:
    settings = Settings(health_check_timeout_seconds=0.2, health_check_timeouts_to_eject=3)
    return Registry({"svc": [url]}, settings)


async def test_a_slow_readiness_answer_ejects_only_after_repeated_timeouts(instance):
    url, ready = instance
    registry = _registry(url)
    target = registry.pools["svc"].instances[0]
    ready.delay = 0.5
    async with aiohttp.ClientSession() as session:
        assert await registry.check(session, target) is True
        assert await registry.check(session, target) is True
        assert await registry.check(session, target) is False
        ready.delay = 0.0
        assert await registry.check(session, target) is True


async def test_an_unready_answer_leaves_rotation_at_once(instance):
    url, ready = instance
    registry = _registry(url)
    target = registry.pools["svc"].instances[0]
    ready.status = 503
    async with aiohttp.ClientSession() as session:
        assert await registry.check(session, target) is False
    assert registry.pools["svc"].pick() is None
