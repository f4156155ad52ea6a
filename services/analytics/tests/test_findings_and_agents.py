"""Findings by severity over time and per-agent performance series: the numbers of the seeded
events, bucketed in the caller's time zone, scoped to the caller's projects."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from .conftest import Env
from .factories import T0, agent_created, at, project, project_history, run

pytestmark = pytest.mark.asyncio
BASE = "/api/v1/analytics"
WEEK = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-08T00:00:00Z"}


async def get(env: Env, path: str, headers: dict[str, str], **params: Any) -> Any:
    response = await env.client.get(f"{BASE}{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def by_day(points: list[dict[str, Any]]) -> dict[str, Any]:
    return {p["t"][:10]: p for p in points}


async def test_findings_by_severity_per_day_are_the_runs_reported_findings(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))
    headers = env.as_user(owner)

    body = await get(
        env, "/timeseries/findings", headers, **WEEK, project_id=str(project_id), interval="day"
    )

    assert body["unit"] == "count"
    days = by_day(body["points"])
    assert len(days) == 7
    # Mar 2: the first completed run (2 high, 3 low); Mar 3: the second (1 critical, 1 high).
    assert days["2026-03-02"]["by_severity"] == {
        "critical": 0,
        "high": 2,
        "medium": 0,
        "low": 3,
        "info": 0,
    }
    assert (days["2026-03-02"]["value"], days["2026-03-02"]["count"]) == (5, 1)
    assert days["2026-03-03"]["by_severity"]["critical"] == 1
    assert days["2026-03-03"]["value"] == 2
    assert days["2026-03-04"]["value"] == 0
    assert days["2026-03-04"]["by_severity"]["high"] == 0

    figures = await get(env, f"/projects/{project_id}", headers)
    assert figures["findings"] == {
        "runs_reported": 2,
        "total": 7,
        "by_severity": {"critical": 1, "high": 3, "medium": 0, "low": 3, "info": 0},
    }


async def test_findings_buckets_follow_the_time_zone(env: Env) -> None:
    owner, project_id, agent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)  # Mar 3 in Kolkata (+05:30)
    await env.ingest(
        [
            project(project_id, owner),
            run(
                uuid.uuid4(),
                project_id,
                agent,
                "completed",
                queued=late - timedelta(minutes=5),
                started=late - timedelta(minutes=5),
                finished=late,
                findings={"medium": 4},
            ),
        ]
    )
    query = {"from": "2026-03-02T00:00:00", "to": "2026-03-04T00:00:00"}
    headers = env.as_user(owner)

    utc = await get(env, "/timeseries/findings", headers, **query, project_id=str(project_id))
    kolkata = await get(
        env, "/timeseries/findings", headers, **query, project_id=str(project_id), tz="Asia/Kolkata"
    )

    assert [p["value"] for p in utc["points"]] == [4, 0]
    assert [(p["t"], p["value"]) for p in kolkata["points"]] == [
        ("2026-03-02T00:00:00+05:30", 0),
        ("2026-03-03T00:00:00+05:30", 4),
    ]


async def test_an_agents_series_has_its_runs_success_rate_duration_and_score(env: Env) -> None:
    owner, project_id, agent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events = [project(project_id, owner), agent_created(agent, project_id)]
    # Mar 2: completed (10 min, 0.5), completed (20 min, 0.7), failed (5 min); Mar 4: cancelled.
    plan: list[tuple[int, str, float | None, int]] = [
        (10, "completed", 0.5, 0),
        (20, "completed", 0.7, 0),
    ]
    plan += [(5, "failed", None, 0), (1, "cancelled", None, 2)]
    for minutes, verb, score, day in plan:
        start = at(1, days=day)
        events.append(
            run(
                uuid.uuid4(),
                project_id,
                agent,
                verb,
                queued=start,
                started=start,
                finished=start + timedelta(minutes=minutes),
                quality=score,
            )
        )
    await env.ingest(events)

    body = await get(env, "/agent-performance", env.as_user(owner), **WEEK, agent_id=str(agent))

    assert body["interval"] == "day"
    [series] = body["agents"]
    assert series["agent_id"] == str(agent)
    assert (series["project_id"], series["agent_type"], series["name"]) == (
        str(project_id),
        "pr_reviewer",
        "reviewer",
    )
    assert series["runs"] == 4
    days = by_day(series["points"])
    mar2 = days["2026-03-02"]
    assert (mar2["runs"], mar2["completed"], mar2["failed"], mar2["cancelled"]) == (3, 2, 1, 0)
    assert mar2["success_rate"] == pytest.approx(2 / 3)
    assert mar2["mean_duration_seconds"] == pytest.approx((10 + 20 + 5) * 60 / 3)
    assert mar2["mean_quality_score"] == pytest.approx(0.6)
    assert (mar2["timed"], mar2["scored"]) == (3, 2)
    mar4 = days["2026-03-04"]
    assert (mar4["runs"], mar4["cancelled"], mar4["success_rate"]) == (1, 1, None)
    assert days["2026-03-03"] == {
        "t": "2026-03-03T00:00:00Z",
        "runs": 0,
        "completed": 0,
        "failed": 0,
        "cancelled": 0,
        "success_rate": None,
        "timed": 0,
        "mean_duration_seconds": None,
        "scored": 0,
        "mean_quality_score": None,
    }


async def test_agent_performance_lists_the_busiest_agents_of_the_callers_projects(
    env: Env,
) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    busy, quiet = uuid.uuid4(), uuid.uuid4()
    events = [project(project_id, owner)]
    events += [
        run(
            uuid.uuid4(),
            project_id,
            agent,
            "completed",
            queued=at(n),
            started=at(n),
            finished=at(n + 0.5),
            quality=0.5,
            agent_type="code_analyzer",
        )
        for agent, count in ((quiet, 1), (busy, 3))
        for n in range(count)
    ]
    await env.ingest(events)
    headers = env.as_user(owner)

    body = await get(env, "/agent-performance", headers, **WEEK, project_id=str(project_id))
    limited = await get(env, "/agent-performance", headers, **WEEK, limit=1)

    assert [(a["agent_id"], a["runs"]) for a in body["agents"]] == [(str(busy), 3), (str(quiet), 1)]
    # An agent without a definition event takes the type its runs carried.
    assert body["agents"][0]["agent_type"] == "code_analyzer"
    assert [a["agent_id"] for a in limited["agents"]] == [str(busy)]


async def test_nobody_sees_another_users_findings_or_agents(env: Env) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    alices, bobs = uuid.uuid4(), uuid.uuid4()
    history = project_history(alices, alice)
    await env.ingest([*history, project(bobs, bob)])
    alice_agent = next(e.data["agent_id"] for e in history if e.type == "agents.agent.created")
    as_bob = env.as_user(bob)

    # Without a project: only Bob's (empty) projects count.
    findings = await get(env, "/timeseries/findings", as_bob, **WEEK)
    assert sum(p["value"] for p in findings["points"]) == 0
    performance = await get(env, "/agent-performance", as_bob, **WEEK)
    assert performance["agents"] == []
    dashboard = await get(env, "/dashboard", as_bob)
    assert dashboard["findings"]["total"] == 0
    # Naming Alice's project or agent: not found, as if it did not exist.
    for path, params in (
        ("/timeseries/findings", {"project_id": str(alices)}),
        ("/agent-performance", {"project_id": str(alices)}),
        ("/agent-performance", {"agent_id": alice_agent}),
        ("/agent-performance", {"agent_id": str(uuid.uuid4())}),
    ):
        response = await env.client.get(f"{BASE}{path}", params={**WEEK, **params}, headers=as_bob)
        assert response.status_code == 404, (path, params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/agent-performance", {"limit": "0"}, "limit"),
        ("/agent-performance", {"limit": "101"}, "limit"),
        ("/agent-performance", {"agent_id": "not-a-uuid"}, "agent_id"),
        ("/agent-performance", {"tz": "Mars/Olympus"}, "tz"),
        ("/agent-performance", {"interval": "fortnight"}, "interval"),
        ("/agent-performance", {"from": "2026-03-05", "to": "2026-03-01"}, "from"),
        ("/timeseries/findings", {"tz": "Nowhere/Else"}, "tz"),
        ("/timeseries/findings", {"range": "decade"}, "range"),
    ],
)
async def test_bad_parameters_are_a_problem_not_a_crash(
    env: Env, path: str, params: dict[str, str], field: str
) -> None:
    response = await env.client.get(f"{BASE}{path}", params=params, headers=env.as_admin())

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


async def test_the_findings_export_has_a_column_per_severity(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))

    response = await env.client.get(
        f"{BASE}/export",
        params={**WEEK, "metric": "findings", "format": "csv", "project_id": str(project_id)},
        headers=env.as_user(owner),
    )

    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    severities = ["critical", "high", "medium", "low", "info"]
    assert list(rows[0]) == ["t", "value", "count", "p50", "p90", "p99", *severities]
    mar2 = next(r for r in rows if r["t"].startswith("2026-03-02"))
    assert (mar2["value"], mar2["high"], mar2["low"]) == ("5.0", "2", "3")


async def test_a_run_without_findings_in_its_result_is_not_counted_as_reporting(
    env: Env,
) -> None:
    owner, project_id, agent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    finished = T0 + timedelta(hours=1)
    bare = run(
        uuid.uuid4(), project_id, agent, "completed", queued=T0, started=T0, finished=finished
    )
    del bare.data["result"]["findings_by_severity"]
    odd = run(
        uuid.uuid4(), project_id, agent, "completed", queued=T0, started=T0, finished=finished
    )
    odd.data["result"]["findings_by_severity"] = {"high": "many", "low": -2, "medium": 1.0}
    await env.ingest([project(project_id, owner), bare, odd])

    figures = await get(env, f"/projects/{project_id}", env.as_user(owner))

    # The odd one reported (its valid parts only: 1 medium); the bare one did not.
    assert figures["findings"]["runs_reported"] == 1
    assert figures["findings"]["by_severity"]["medium"] == 1
    assert figures["findings"]["total"] == 1
