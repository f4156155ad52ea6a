"""GET /export streams a project's raw events or a metric's series as CSV, JSON or NDJSON."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import timedelta

import httpx
import pytest

from swe_common.testing import served

from .conftest import Env
from .factories import T0, issue, project, project_history

pytestmark = pytest.mark.asyncio
EXPORT = "/api/v1/analytics/export"
RANGE = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}


async def _many_issues(env: Env, project_id: uuid.UUID, owner: uuid.UUID, count: int) -> None:
    events = [project(project_id, owner)]
    for n in range(count):
        moment = T0 + timedelta(seconds=n)
        events.append(issue(uuid.uuid4(), project_id, "created", created=moment, updated=moment))
    for start in range(0, len(events), 1000):
        await env.ingest(events[start : start + 1000])


async def test_csv_export_lists_every_event_of_the_project(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await _many_issues(env, project_id, owner, 2500)

    response = await env.client.get(
        EXPORT,
        params={"format": "csv", "project_id": str(project_id), **RANGE},
        headers=env.as_user(owner),
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 2501
    assert rows[0]["type"] == "projects.project.created"
    assert {r["project_id"] for r in rows} == {str(project_id)}
    assert json.loads(rows[1]["data"])["status"] == "open"


async def test_json_export_is_one_array_of_events(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)
    await env.ingest(history)

    response = await env.client.get(
        EXPORT,
        params={"format": "json", "project_id": str(project_id), **RANGE},
        headers=env.as_user(owner),
    )

    events = response.json()
    assert isinstance(events, list)
    assert sorted(e["event_id"] for e in events) == sorted(e.id for e in history)


async def test_ndjson_export_has_one_event_per_line(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)
    await env.ingest(history)

    response = await env.client.get(
        EXPORT,
        params={"format": "ndjson", "project_id": str(project_id), **RANGE},
        headers=env.as_user(owner),
    )

    lines = response.text.splitlines()
    assert len(lines) == len(history)
    assert {json.loads(line)["type"] for line in lines} >= {"issues.issue.resolved"}


async def test_an_empty_range_exports_a_valid_empty_document(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest([project(project_id, owner)])

    response = await env.client.get(
        EXPORT,
        params={
            "format": "json",
            "project_id": str(project_id),
            "from": "2020-01-01T00:00:00Z",
            "to": "2020-02-01T00:00:00Z",
        },
        headers=env.as_user(owner),
    )

    assert response.json() == []


async def test_a_metric_exports_its_series(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))

    response = await env.client.get(
        EXPORT,
        params={
            "format": "csv",
            "metric": "issues_opened",
            "project_id": str(project_id),
            "from": "2026-03-01T00:00:00Z",
            "to": "2026-03-04T00:00:00Z",
        },
        headers=env.as_user(owner),
    )

    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["t"], r["value"]) for r in rows] == [
        ("2026-03-01T00:00:00Z", "0.0"),
        ("2026-03-02T00:00:00Z", "2.0"),
        ("2026-03-03T00:00:00Z", "1.0"),
    ]


async def test_someone_elses_events_cannot_be_exported(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))

    response = await env.client.get(
        EXPORT,
        params={"format": "csv", "project_id": str(project_id), **RANGE},
        headers=env.as_user(uuid.uuid4()),
    )

    assert response.status_code == 404


async def test_a_user_must_name_the_project_to_export(env: Env) -> None:
    response = await env.client.get(
        EXPORT, params={"format": "csv"}, headers=env.as_user(uuid.uuid4())
    )

    assert response.status_code == 422


async def test_csv_cells_cannot_smuggle_spreadsheet_formulas(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest([project(project_id, owner)])
    posted = await env.client.post(
        "/api/v1/analytics/events",
        json={
            "type": "custom.sheet.opened",
            "subject": '=HYPERLINK("x")',
            "project_id": str(project_id),
        },
        headers=env.as_user(owner),
    )
    assert posted.status_code == 202

    response = await env.client.get(
        EXPORT,
        params={"format": "csv", "project_id": str(project_id), "range": "day"},
        headers=env.as_user(owner),
    )

    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["subject"] for r in rows if r["type"] == "custom.sheet.opened"] == [
        '\'=HYPERLINK("x")'
    ]


async def test_a_large_export_is_streamed_in_chunks(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await _many_issues(env, project_id, owner, 4000)

    async with (
        served(env.app) as base,
        httpx.AsyncClient(base_url=base) as client,
        client.stream(
            "GET",
            EXPORT,
            params={"format": "ndjson", "project_id": str(project_id), **RANGE},
            headers=env.as_user(owner),
        ) as response,
    ):
        chunks = [chunk async for chunk in response.aiter_raw()]
        headers = response.headers

    assert headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in headers
    assert len(chunks) > 1
    assert b"".join(chunks).count(b"\n") == 4001
