"""Every service answers errors as RFC 9457 problem+json and carries a request id."""

from __future__ import annotations

import asyncio
import json

from swe_common.testing import eventually, running_app

from .conftest import build_app

PROBLEM = "application/problem+json"


async def test_unknown_route_answers_404_problem_json(client):
    response = await client.get("/api/v1/example/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == 404
    assert body["title"] == "Not Found"
    assert body["instance"] == "/api/v1/example/nothing-here"


async def test_a_trailing_slash_is_served_as_the_path_without_it_never_redirected(client):
    """A redirect would carry the instance's own address (http://127.0.0.1:8002/...)."""
    got = await client.get("/api/v1/example/widgets/7/")
    created = await client.post("/api/v1/example/widgets/", json={"name": "w", "size": 1})
    assert got.status_code == 404
    assert got.json()["detail"] == "Widget 7 does not exist"
    assert "location" not in got.headers
    assert created.status_code == 201


async def test_domain_not_found_carries_its_detail(client):
    response = await client.get("/api/v1/example/widgets/7")
    assert response.status_code == 404
    assert response.json()["detail"] == "Widget 7 does not exist"


async def test_invalid_body_answers_422_listing_each_bad_field(client):
    response = await client.post("/api/v1/example/widgets", json={"name": "", "size": 0})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"body.name", "body.size"}


async def test_malformed_json_answers_422_not_500(client):
    response = await client.post(
        "/api/v1/example/widgets",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


async def test_unexpected_exception_answers_500_without_internals(client, log_lines):
    response = await client.get("/api/v1/example/boom", headers={"X-Request-ID": "req-boom-1"})
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["request_id"] == "req-boom-1"
    logged = log_lines.getvalue()
    assert "RuntimeError" in logged and "Traceback" in logged


async def test_request_id_is_echoed_and_in_the_access_log(client, log_lines):
    response = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    await client.get("/api/v1/example/widgets/1", headers={"X-Request-ID": "abc-456"})
    access = [json.loads(line) for line in log_lines.getvalue().splitlines() if line]
    line = next(entry for entry in access if entry.get("event") == "request")
    assert line["request_id"] == "abc-456"
    assert line["method"] == "GET"
    assert line["status"] == 404
    assert line["service"] == "example"
    assert "duration_ms" in line


async def test_request_id_is_made_when_missing_or_unsafe(client):
    made = await client.get("/health/live")
    assert len(made.headers["x-request-id"]) == 32
    unsafe = await client.get("/health/live", headers={"X-Request-ID": "bad id\nwith newline"})
    assert unsafe.headers["x-request-id"] != "bad id\nwith newline"
    assert len(unsafe.headers["x-request-id"]) == 32


async def test_secrets_never_reach_the_log(client, log_lines):
    await client.get("/api/v1/example/log-secret", headers={"Authorization": "Bearer xyz"})
    logged = log_lines.getvalue()
    assert "hunter2" not in logged
    assert '"abc"' not in logged
    assert "[redacted]" in logged


async def test_ready_is_ok_when_the_database_answers(client):
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_ready_answers_503_naming_the_database_when_unreachable():
    app = build_app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    async with running_app(app) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert "database" in response.json()["detail"]
    assert response.json()["checks"]["database"] != "ok"


async def test_a_query_while_the_database_is_down_answers_503_not_500():
    app = build_app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    async with running_app(app) as client:
        response = await client.get("/api/v1/example/db")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


async def test_a_request_finding_no_free_connection_answers_503_busy_not_unavailable(
    database_url: str,
):
    app = build_app(database_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=0.2)
    async with running_app(app) as client:
        holding = asyncio.create_task(client.get("/api/v1/example/db-slow"))
        pool = app.state.db.engine.pool

        async def held() -> bool:
            return pool.checkedout() == 1

        await eventually(held)  # the only connection is now held for a second
        response = await client.get("/api/v1/example/db")
        assert (await holding).status_code == 200
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"].endswith("/busy")
    assert "busy" in response.json()["detail"]


async def test_a_dependency_failure_is_marked_as_concerning_this_request_only(client):
    """The gateway counts a 503 against the instance unless it says it concerns one request."""
    response = await client.get("/api/v1/example/dependency-down")
    assert response.status_code == 503
    assert response.headers["x-failure-scope"] == "request"


async def test_a_database_outage_is_not_marked_as_concerning_one_request():
    app = build_app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    async with running_app(app) as client:
        response = await client.get("/api/v1/example/db")
    assert response.status_code == 503
    assert "x-failure-scope" not in response.headers


async def test_a_query_past_the_statement_timeout_is_marked_as_concerning_this_request(
    database_url: str,
):
    app = build_app(database_url, db_statement_timeout_ms=100)
    async with running_app(app) as client:
        response = await client.get("/api/v1/example/db-slow")
    assert response.status_code == 503
    assert response.headers["x-failure-scope"] == "request"


async def test_session_dependency_reaches_the_database(client):
    response = await client.get("/api/v1/example/db")
    assert response.json() == {"one": 1}


async def test_metrics_expose_requests_and_the_db_pool(client):
    await client.get("/api/v1/example/db")
    text = (await client.get("/metrics")).text
    assert "swe_example_http_requests_total" in text or "http_requests_total" in text
    assert 'swe_db_pool_size{service="example"}' in text
