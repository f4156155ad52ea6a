"""Journey 1: a new user analyses a repository and sees its quality on the dashboard.

Register, log in, register a local git repository as a project, open an issue, create a
code_analyzer agent, start it, follow its log over a WebSocket to the end, and find the run's
quality score on the analytics dashboard. Everything goes through the gateway.
"""

from __future__ import annotations

from typing import Any

import httpx
from e2e_support import (
    EventLog,
    PlantedRepo,
    Stack,
    User,
    expect,
    gateway_client,
    log_in,
    read_ws_until_end,
    register,
)

from swe_common.testing import eventually


async def test_a_new_user_analyses_a_repository_and_sees_its_quality_score(
    stack: Stack, repo: PlantedRepo, events: EventLog
) -> None:
    # Register and log in.
    async with gateway_client(stack) as anonymous:
        user_id, username, email = await register(anonymous, "alice")
        tokens = await log_in(anonymous, username)
    async with gateway_client(
        stack, headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ) as http:
        user = User(user_id, username, email, tokens["access_token"], tokens["refresh_token"], http)
        me = expect(await http.get("/api/v1/auth/me"), 200)
        assert me["id"] == user_id and me["username"] == username

        # A project for the local repository, then an issue in it at once (no spurious 404).
        project = expect(
            await http.post(
                "/api/v1/projects",
                json={"name": "demo-service", "repository_url": repo.url},
            ),
            201,
        )
        assert project["owner_id"] == user_id and project["repository_url"] == repo.url
        issue = expect(
            await http.post(
                "/api/v1/issues",
                json={
                    "project_id": project["id"],
                    "title": "Security review of app/defects.py",
                    "description": "eval and shell=True look dangerous",
                    "priority": "high",
                },
            ),
            201,
        )
        assert issue["project_id"] == project["id"] and issue["status"] == "open"

        # A code_analyzer agent, started on the default branch.
        agent = await _create_agent(http, project["id"])
        run = expect(await http.post(f"/api/v1/agents/{agent['id']}/start", json={}), 202)
        assert run["agent_id"] == agent["id"] and run["status"] in ("pending", "running")

        # Its log, live over the gateway's WebSocket, to the end.
        messages = await read_ws_until_end(stack, f"/ws/logs/{run['id']}", user.access_token)
        logs = [m for m in messages if m["type"] == "log"]
        assert messages and messages[-1]["type"] == "end", messages[-3:]
        assert messages[-1]["status"] == "completed", messages[-5:]
        assert logs, "the run logged nothing"
        seqs = [m["seq"] for m in logs]
        assert seqs == sorted(set(seqs)), "log lines repeated or out of order"
        assert messages[-1]["last_seq"] == seqs[-1]

        finished = expect(await http.get(f"/api/v1/agents/runs/{run['id']}"), 200)
        assert finished["status"] == "completed" and finished["finished_at"], finished
        report = expect(await http.get(f"/api/v1/agents/runs/{run['id']}/report"), 200)
        score = _quality_score(report)
        assert 0 <= score < 100, f"planted defects should cost points: {score}"

        # A downstream consumer heard the run complete, with its score.
        completed = await events.wait_for("agents.run.completed", run_id=run["id"])
        assert completed["data"]["result"]["quality_score"] == score

        # The dashboard shows the quality score once analytics has the event.
        async def dashboard_has_score() -> dict[str, Any] | None:
            body = expect(await http.get("/api/v1/analytics/dashboard"), 200)
            return body if body["quality"]["latest"] is not None else None

        dashboard = await eventually(dashboard_has_score, timeout=30, interval=0.5)
        assert dashboard["quality"]["latest"] == score
        assert dashboard["projects"] == 1
        assert dashboard["runs"]["by_status"].get("completed") == 1
        assert dashboard["issues"]["total"] == 1 and dashboard["issues"]["open"] == 1
        figures = expect(await http.get(f"/api/v1/analytics/projects/{project['id']}"), 200)
        assert figures["quality"]["latest"] == score


async def _create_agent(http: httpx.AsyncClient, project_id: str) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/agents",
        json={
            "project_id": project_id,
            "name": "analyzer",
            "type": "code_analyzer",
            "config": {"min_severity": "info"},
        },
    )
    agent = expect(response, 201)
    assert agent["type"] == "code_analyzer" and agent["status"] == "active", agent
    return agent


def _quality_score(report: dict[str, Any]) -> float:
    """The score wherever the JSON report keeps it (top level or under ``result``)."""
    for holder in (report, report.get("result") or {}, report.get("summary") or {}):
        if isinstance(holder, dict) and isinstance(holder.get("quality_score"), int | float):
            return float(holder["quality_score"])
    raise AssertionError(f"no quality_score in the report: {sorted(report)}")
