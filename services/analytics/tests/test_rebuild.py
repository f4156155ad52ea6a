"""`swe-analytics rebuild` replays the store into empty projections with identical answers."""

from __future__ import annotations

import asyncio
import os
import random
import sys
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from swe_analytics.models import metric_buckets, runs

from .conftest import Env
from .factories import project_history

pytestmark = pytest.mark.asyncio


async def _answers(env: Env, owner: uuid.UUID, project_id: uuid.UUID) -> list[Any]:
    admin = env.as_admin()
    paths = [
        ("/api/v1/analytics/dashboard", admin),
        (f"/api/v1/analytics/projects/{project_id}", env.as_user(owner)),
        (
            "/api/v1/analytics/timeseries/issues_opened?from=2026-03-01&to=2026-03-05&interval=hour",
            admin,
        ),
        ("/api/v1/analytics/timeseries/quality_score?from=2026-03-01&to=2026-03-05", admin),
        ("/api/v1/analytics/timeseries/run_duration?from=2026-03-01&to=2026-03-05", admin),
        ("/api/v1/analytics/timeseries/agent_runs?from=2026-03-01&to=2026-03-05", admin),
    ]
    answers = []
    for path, headers in paths:
        response = await env.client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        answers.append(response.json())
    return answers


async def _run_cli(env: Env, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "swe_analytics.cli",
        *args,
        env={**os.environ, "ANALYTICS_DATABASE_URL": env.settings.database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_rebuild_gives_identical_answers(fresh_env: Env) -> None:
    env = fresh_env
    owner = uuid.uuid4()
    projects = [uuid.uuid4() for _ in range(3)]
    events = [e for p in projects for e in project_history(p, owner)]
    random.Random(3).shuffle(events)
    for event in events:
        await env.ingest([event])
    before = await _answers(env, owner, projects[0])

    output = await _run_cli(env, "rebuild", "--batch-size", "7")

    assert f"from {len(events)} events" in output
    assert await _answers(env, owner, projects[0]) == before
    assert before[0]["issues"]["total"] == 9


async def test_rebuild_restores_projections_that_were_lost(fresh_env: Env) -> None:
    env = fresh_env
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))
    before = await _answers(env, owner, project_id)
    async with env.db.transaction() as session:
        await session.execute(sa.delete(runs))
        await session.execute(sa.delete(metric_buckets))
    assert await _answers(env, owner, project_id) != before

    await _run_cli(env, "rebuild")

    assert await _answers(env, owner, project_id) == before


async def test_event_store_refuses_changes_to_stored_events(fresh_env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await fresh_env.ingest(project_history(project_id, owner))

    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        async with fresh_env.db.transaction() as session:
            await session.execute(sa.text("DELETE FROM analytics.events"))
