"""The platform contracts every service keeps, as the analytics service keeps them."""

from __future__ import annotations

import pytest

from .conftest import Env

pytestmark = pytest.mark.asyncio


async def test_openapi_documents_every_analytics_route(env: Env) -> None:
    paths = (await env.client.get("/openapi.json")).json()["paths"]

    assert {
        "/api/v1/analytics/dashboard",
        "/api/v1/analytics/projects/{project_id}",
        "/api/v1/analytics/agents/{agent_id}",
        "/api/v1/analytics/timeseries/{metric}",
        "/api/v1/analytics/performance",
        "/api/v1/analytics/export",
        "/api/v1/analytics/events",
    } <= set(paths)


async def test_ready_when_its_dependencies_answer(env: Env) -> None:
    response = await env.client.get("/health/ready")

    assert response.status_code == 200, response.text
