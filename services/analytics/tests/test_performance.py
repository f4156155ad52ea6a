"""GET /performance: run durations, queue wait, turnaround and failure rates from the events."""

from __future__ import annotations

import uuid

import pytest

from .conftest import Env
from .factories import project_history

pytestmark = pytest.mark.asyncio


async def test_performance_figures_of_a_known_history(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))

    response = await env.client.get(
        "/api/v1/analytics/performance",
        params={"from": "2026-03-01T00:00:00Z", "to": "2026-03-05T00:00:00Z"},
        headers=env.as_user(owner),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["runs_finished"] == 3
    assert body["failure_rate"] == pytest.approx(1 / 3)
    assert body["run_duration_seconds"]["p50"] == 900.0
    assert body["queue_wait_seconds"]["count"] == 3
    assert body["review_turnaround_seconds"]["p50"] == 1800.0
    assert body["by_agent_type"] == [
        {
            "agent_type": "pr_reviewer",
            "completed": 2,
            "failed": 1,
            "cancelled": 0,
            "failure_rate": pytest.approx(1 / 3),
        }
    ]


async def test_a_user_without_projects_sees_empty_performance(env: Env) -> None:
    response = await env.client.get(
        "/api/v1/analytics/performance", headers=env.as_user(uuid.uuid4())
    )

    assert response.status_code == 200
    assert response.json()["runs_finished"] == 0
