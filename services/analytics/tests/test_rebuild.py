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

from swe_analytics.models import (
    metric_buckets,
    metric_buckets_daily,
    metric_buckets_hourly,
    metric_totals,
    runs,
)

from .conftest import Env
from .factories import at, issue, project_history, run

COUNTER_TABLES = (metric_totals, metric_buckets, metric_buckets_hourly, metric_buckets_daily)

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
        ("/api/v1/analytics/timeseries/findings?from=2026-03-01&to=2026-03-05", admin),
        ("/api/v1/analytics/agent-performance?from=2026-03-01&to=2026-03-05", admin),
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
    counters = await _counters(env)

    output = await _run_cli(env, "rebuild", "--batch-size", "7")

    assert f"from {len(events)} events" in output
    assert await _answers(env, owner, projects[0]) == before
    assert await _counters(env) == counters
    assert before[0]["issues"]["total"] == 9
    assert before[0]["findings"]["by_severity"]["high"] == 9


async def _counters(env: Env) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    async with env.db.transaction() as session:
        for table in COUNTER_TABLES:
            rows = await session.execute(
                sa.select(table).where(sa.or_(table.c.count != 0, table.c.total != 0))
            )
            found[table.name] = sorted(tuple(row) for row in rows)
    return found


async def test_rebuild_folds_entities_whose_events_are_spelt_or_scoped_differently(
    fresh_env: Env,
) -> None:
    env, owner = fresh_env, uuid.uuid4()
    projects = [uuid.uuid4() for _ in range(2)]
    events = [e for p in projects for e in project_history(p, owner)]
    issue_id, run_id = uuid.uuid4(), uuid.uuid4()
    created, done = at(5), at(9)
    events += [
        issue(issue_id, projects[0], "created", created=created, updated=created),
        issue(
            issue_id,
            projects[0],
            "resolved",
            created=created,
            updated=done,
            status="resolved",
            resolved=done,
        ),
        run(run_id, projects[1], uuid.uuid4(), "started", queued=created, started=created),
        run(
            run_id,
            projects[1],
            uuid.uuid4(),
            "completed",
            queued=created,
            started=created,
            finished=done,
            quality=0.7,
        ),
    ]
    # The resolution names the issue in capitals; the run's start does not name its project.
    events[-3].data["id"] = str(issue_id).upper()
    del events[-2].data["project_id"]
    for event in events:
        await env.ingest([event])
    before = (await _counters(env), await _answers(env, owner, projects[0]))

    output = await _run_cli(env, "rebuild", "--batch-size", "5")

    assert f"from {len(events)} events" in output
    assert (await _counters(env), await _answers(env, owner, projects[0])) == before
    assert before[1][1]["issues"]["resolved"] == 3


async def test_rebuild_restores_projections_that_were_lost(fresh_env: Env) -> None:
    env = fresh_env
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))
    before = await _answers(env, owner, project_id)
    async with env.db.transaction() as session:
        await session.execute(sa.delete(runs))
        await session.execute(sa.delete(metric_buckets))
        await session.execute(sa.delete(metric_buckets_daily))
    assert await _answers(env, owner, project_id) != before

    await _run_cli(env, "rebuild")

    assert await _answers(env, owner, project_id) == before


async def test_event_store_refuses_changes_to_stored_events(fresh_env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await fresh_env.ingest(project_history(project_id, owner))

    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        async with fresh_env.db.transaction() as session:
            await session.execute(sa.text("DELETE FROM analytics.events"))
