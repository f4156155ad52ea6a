"""Series read the coarsest buckets that fit (UTC days, hours, 15-minute slots) and answer
exactly what the 15-minute buckets alone would; admins read the platform-wide buckets."""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from swe_analytics.models import metric_buckets, metric_buckets_daily, metric_buckets_hourly
from swe_analytics.projections.merges import SLOT
from swe_analytics.projections.repository import ceil_to, floor_to
from swe_analytics.timeseries.repository import cover
from swe_analytics.timeseries.schemas import Interval
from swe_analytics.timeseries.service import make_window
from swe_common.events import CloudEvent

from .conftest import Env
from .factories import issue, project, review_requested, reviewed, run

pytestmark = pytest.mark.asyncio
BASE = "/api/v1/analytics/timeseries"
START = datetime(2026, 3, 1, tzinfo=UTC)
STEPS = {
    metric_buckets_daily: timedelta(days=1),
    metric_buckets_hourly: timedelta(hours=1),
    metric_buckets: SLOT,
}


def _slots(start: datetime, end: datetime) -> list[datetime]:
    out, moment = [], start
    while moment < end:
        out.append(moment)
        moment += SLOT
    return out


@pytest.mark.parametrize(
    ("tz", "interval", "days"),
    [
        ("UTC", Interval.day, 365),
        ("Asia/Kolkata", Interval.day, 20),
        ("Asia/Kathmandu", Interval.hour, 3),
        ("Europe/Paris", Interval.week, 60),
        ("America/St_Johns", Interval.day, 40),
    ],
)
async def test_cover_takes_every_15_minute_slot_once_inside_one_interval(
    tz: str, interval: Interval, days: int
) -> None:
    end = datetime(2026, 4, 2, 7, 20, tzinfo=UTC)
    window = make_window(
        range_=None, start=end - timedelta(days=days), end=end, interval=interval, tz=tz, now=end
    )
    bounds = window.utc_bounds
    interval_of: dict[datetime, int] = {}
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        for slot in _slots(ceil_to(lo, SLOT), hi):
            interval_of[slot] = i

    taken: list[datetime] = []
    for table, ranges in cover(bounds).items():
        step = STEPS[table]
        for lo, hi in ranges:
            assert floor_to(lo, step) == lo and floor_to(hi, step) == hi
            for piece in _slots(lo, hi)[:: int(step / SLOT)]:
                inner = _slots(piece, piece + step)
                assert {interval_of.get(s) for s in inner} == {interval_of[piece]}
                taken += inner

    assert sorted(taken) == sorted(interval_of)


async def test_a_utc_year_of_days_reads_one_range_of_daily_buckets() -> None:
    bounds = [START + timedelta(days=d) for d in range(366)]

    assert cover(bounds) == {metric_buckets_daily: [(bounds[0], bounds[-1])]}


def _history(projects: list[uuid.UUID], owner: uuid.UUID, seed: int) -> list[CloudEvent]:
    rng = random.Random(seed)
    events = [project(p, owner) for p in projects]
    for _ in range(120):
        p = rng.choice(projects)
        created = START + timedelta(minutes=rng.randrange(0, 20 * 24 * 60))
        resolved = created + timedelta(minutes=rng.randrange(1, 3000))
        issue_id, run_id, review_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        finished = created + timedelta(minutes=rng.randrange(1, 600))
        verb = rng.choice(["completed", "failed", "cancelled"])
        events += [
            issue(issue_id, p, "created", created=created, updated=created),
            issue(
                issue_id,
                p,
                "resolved",
                created=created,
                updated=resolved,
                status="resolved",
                resolved=resolved,
            ),
            run(
                run_id,
                p,
                uuid.uuid4(),
                verb,
                queued=created,
                started=created,
                finished=finished,
                quality=round(rng.uniform(0, 1), 3) if verb == "completed" else None,
            ),
            review_requested(review_id, p, created),
            reviewed(review_id, p, finished, 0.5),
        ]
    rng.shuffle(events)
    return events


@pytest.mark.parametrize(
    "params",
    [
        {"interval": "day", "tz": "UTC"},
        {"interval": "day", "tz": "Asia/Kolkata"},
        {"interval": "hour", "tz": "Asia/Kathmandu"},
        {"interval": "week", "tz": "Europe/Paris"},
    ],
)
async def test_the_admin_series_is_the_sum_of_the_project_series(
    fresh_env: Env, params: dict[str, str]
) -> None:
    env, owner = fresh_env, uuid.uuid4()
    projects = [uuid.uuid4() for _ in range(3)]
    await env.ingest(_history(projects, owner, seed=len(params["tz"])))
    query = {"from": "2026-02-27", "to": "2026-03-24", **params}
    if params["interval"] == "hour":
        query |= {"from": "2026-03-03", "to": "2026-03-06"}

    for metric in ("issues_opened", "issues_resolved", "prs_reviewed", "runs_started"):
        admin = await _points(env, metric, query, env.as_admin())
        per_project = [
            await _points(env, metric, {**query, "project_id": str(p)}, env.as_user(owner))
            for p in projects
        ]
        assert sum(p["count"] for p in admin) > 0, metric
        assert [p["count"] for p in admin] == [
            sum(points[i]["count"] for points in per_project) for i in range(len(admin))
        ], metric

    admin = await _points(env, "agent_runs", query, env.as_admin())
    per_project = [
        await _points(env, "agent_runs", {**query, "project_id": str(p)}, env.as_user(owner))
        for p in projects
    ]
    for i, point in enumerate(admin):
        for status, count in point["by_status"].items():
            assert count == sum(points[i]["by_status"][status] for points in per_project)

    admin = await _points(env, "quality_score", query, env.as_admin())
    per_project = [
        await _points(env, "quality_score", {**query, "project_id": str(p)}, env.as_user(owner))
        for p in projects
    ]
    for i, point in enumerate(admin):
        parts = [points[i] for points in per_project if points[i]["count"]]
        assert point["count"] == sum(p["count"] for p in parts)
        if parts:
            mean = sum(p["value"] * p["count"] for p in parts) / point["count"]
            assert point["value"] == pytest.approx(mean)


async def _points(
    env: Env, metric: str, params: dict[str, str], headers: dict[str, str]
) -> list[dict[str, Any]]:
    response = await env.client.get(f"{BASE}/{metric}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["points"]


async def test_hourly_and_daily_buckets_add_up_the_15_minute_buckets(fresh_env: Env) -> None:
    env = fresh_env
    await env.ingest(_history([uuid.uuid4(), uuid.uuid4()], uuid.uuid4(), seed=7))

    for table, unit in ((metric_buckets_hourly, "hour"), (metric_buckets_daily, "day")):
        async with env.db.transaction() as session:
            rolled = await session.execute(
                sa.text(
                    "SELECT metric, project_id, date_trunc(:unit, slot, 'UTC'), sum(count), "
                    "sum(total) FROM analytics.metric_buckets GROUP BY 1, 2, 3 "
                    "HAVING sum(count) <> 0 OR sum(total) <> 0"
                ),
                {"unit": unit},
            )
            kept = await session.execute(
                sa.select(table).where(sa.or_(table.c.count != 0, table.c.total != 0))
            )
        expected, found = sorted(map(tuple, rolled)), sorted(map(tuple, kept))
        assert found == expected
        assert found


async def test_a_series_in_a_half_hour_zone_matches_its_15_minute_slots(fresh_env: Env) -> None:
    env, owner, project_id = fresh_env, uuid.uuid4(), uuid.uuid4()
    kolkata = ZoneInfo("Asia/Kolkata")
    # Issues opened at the edges of Kolkata days (18:30 UTC) and of UTC hours and days.
    moments = [
        datetime(2026, 3, 2, 18, 29, tzinfo=UTC),
        datetime(2026, 3, 2, 18, 30, tzinfo=UTC),
        datetime(2026, 3, 2, 23, 59, tzinfo=UTC),
        datetime(2026, 3, 3, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 3, 18, 44, tzinfo=UTC),
        datetime(2026, 3, 3, 18, 45, tzinfo=UTC),
    ]
    await env.ingest(
        [project(project_id, owner)]
        + [issue(uuid.uuid4(), project_id, "created", created=m, updated=m) for m in moments]
    )

    points = await _points(
        env,
        "issues_opened",
        {"from": "2026-03-02", "to": "2026-03-05", "tz": "Asia/Kolkata"},
        env.as_admin(),
    )

    local_days = [m.astimezone(kolkata).date().isoformat() for m in moments]
    assert [(p["t"][:10], p["count"]) for p in points] == [
        (day, local_days.count(day)) for day in ("2026-03-02", "2026-03-03", "2026-03-04")
    ]
