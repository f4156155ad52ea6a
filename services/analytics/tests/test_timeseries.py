"""GET /timeseries/{metric}: buckets in the caller's time zone, gaps filled, percentiles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from .conftest import Env
from .factories import T0, at, issue, project, project_history, run

pytestmark = pytest.mark.asyncio
BASE = "/api/v1/analytics/timeseries"


async def test_days_without_events_are_zero(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))  # issues on Mar 2 (2) and Mar 3 (1)

    response = await env.client.get(
        f"{BASE}/issues_opened",
        params={
            "from": "2026-02-28T00:00:00Z",
            "to": "2026-03-06T00:00:00Z",
            "interval": "day",
            "project_id": str(project_id),
        },
        headers=env.as_user(owner),
    )

    assert response.status_code == 200, response.text
    points = response.json()["points"]
    assert [p["value"] for p in points] == [0, 0, 2, 1, 0, 0]
    assert points[0]["t"] == "2026-02-28T00:00:00Z"


async def test_buckets_follow_the_requested_time_zone(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    # 23:30 UTC on Mar 2 is already Mar 3 in Kolkata (+05:30), 08:30 UTC is still Mar 2.
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    early = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    await env.ingest(
        [
            project(project_id, owner),
            issue(uuid.uuid4(), project_id, "created", created=late, updated=late),
            issue(uuid.uuid4(), project_id, "created", created=early, updated=early),
        ]
    )

    response = await env.client.get(
        f"{BASE}/issues_opened",
        params={
            "from": "2026-03-02T00:00:00",
            "to": "2026-03-04T00:00:00",
            "tz": "Asia/Kolkata",
            "project_id": str(project_id),
        },
        headers=env.as_user(owner),
    )

    body = response.json()
    assert body["tz"] == "Asia/Kolkata"
    assert [(p["t"], p["value"]) for p in body["points"]] == [
        ("2026-03-02T00:00:00+05:30", 1.0),
        ("2026-03-03T00:00:00+05:30", 1.0),
    ]


async def test_a_daylight_saving_day_has_its_own_bucket(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    # Europe/Paris moves to summer time on 2026-03-29: that day is 23 hours long.
    created = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)  # 00:30 on Mar 30 in Paris
    await env.ingest(
        [
            project(project_id, owner),
            issue(uuid.uuid4(), project_id, "created", created=created, updated=created),
        ]
    )

    response = await env.client.get(
        f"{BASE}/issues_opened",
        params={
            "from": "2026-03-29T00:00:00",
            "to": "2026-03-31T00:00:00",
            "tz": "Europe/Paris",
            "project_id": str(project_id),
        },
        headers=env.as_user(owner),
    )

    assert [(p["t"], p["value"]) for p in response.json()["points"]] == [
        ("2026-03-29T00:00:00+01:00", 0.0),
        ("2026-03-30T00:00:00+02:00", 1.0),
    ]


async def test_an_unknown_time_zone_is_rejected(env: Env) -> None:
    response = await env.client.get(
        f"{BASE}/issues_opened", params={"tz": "Mars/Olympus_Mons"}, headers=env.as_admin()
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "time zone" in response.json()["detail"]


@pytest.mark.parametrize(
    "params",
    [
        {"range": "decade"},
        {"interval": "minute"},
        {"from": "2026-03-05T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
        {"from": "not-a-date"},
        {"from": "2000-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z", "interval": "hour"},
        {"tz": "../../etc/passwd"},
        {"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T12:00:00Z"},
        {"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z"},
    ],
)
async def test_bad_ranges_are_rejected_with_422(env: Env, params: dict[str, str]) -> None:
    response = await env.client.get(f"{BASE}/issues_opened", params=params, headers=env.as_admin())

    assert response.status_code == 422, response.text


async def test_an_unknown_metric_is_rejected(env: Env) -> None:
    response = await env.client.get(f"{BASE}/lines_of_code", headers=env.as_admin())

    assert response.status_code == 422


async def test_run_duration_percentiles_per_day(env: Env) -> None:
    owner, project_id, agent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    events = [project(project_id, owner)]
    for minutes in (1, 2, 3, 4, 10):
        run_id = uuid.uuid4()
        events.append(
            run(
                run_id,
                project_id,
                agent,
                "completed",
                queued=at(1),
                started=at(1),
                finished=at(1 + minutes / 60),
                quality=0.5,
            )
        )
    await env.ingest(events)

    response = await env.client.get(
        f"{BASE}/run_duration",
        params={
            "from": "2026-03-02T00:00:00Z",
            "to": "2026-03-04T00:00:00Z",
            "project_id": str(project_id),
        },
        headers=env.as_user(owner),
    )

    first, second = response.json()["points"]
    assert first["count"] == 5
    assert first["p50"] == pytest.approx(180.0)
    assert first["p90"] == pytest.approx(240 + 0.6 * (600 - 240))  # linear interpolation
    assert second == {**second, "count": 0, "value": None}


async def test_runs_by_status_series(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))

    response = await env.client.get(
        f"{BASE}/agent_runs",
        params={"from": T0.date().isoformat(), "to": "2026-03-04", "project_id": str(project_id)},
        headers=env.as_user(owner),
    )

    points = response.json()["points"]
    assert [p["by_status"] for p in points] == [
        {"completed": 1, "failed": 1, "cancelled": 0},
        {"completed": 1, "failed": 0, "cancelled": 0},
    ]


async def test_quality_score_series_is_the_daily_mean(env: Env) -> None:
    owner, project_id, agent = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    runs = [
        run(
            uuid.uuid4(),
            project_id,
            agent,
            "completed",
            queued=at(1),
            started=at(1),
            finished=at(2),
            quality=score,
        )
        for score in (0.5, 0.7, 0.9)
    ]
    events = [project(project_id, owner), *runs]
    await env.ingest(events)

    response = await env.client.get(
        f"{BASE}/quality_score",
        params={"from": "2026-03-02", "to": "2026-03-04", "project_id": str(project_id)},
        headers=env.as_user(owner),
    )

    assert [p["value"] for p in response.json()["points"]] == [pytest.approx(0.7), None]


async def test_a_user_without_projects_gets_zeros(env: Env) -> None:
    response = await env.client.get(
        f"{BASE}/issues_opened", params={"range": "week"}, headers=env.as_user(uuid.uuid4())
    )

    points = response.json()["points"]
    assert len(points) == 8  # 7 days from a partial day, aligned to midnight
    assert all(p["value"] == 0 for p in points)


async def test_a_year_of_days_has_one_point_per_day(env: Env) -> None:
    response = await env.client.get(
        f"{BASE}/issues_opened",
        params={"from": "2025-01-01", "to": "2026-01-01"},
        headers=env.as_admin(),
    )

    assert len(response.json()["points"]) == 365
