"""Agents API: CRUD, per-type configuration, access rules, problem+json errors."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from swe_common.testing import TokenFactory


@pytest.fixture
async def owned(projects: Any, planted: Path) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
    owner, maintainer, viewer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    project = await projects.create(
        owner,
        f"file://{planted}",
        members=[
            {"user_id": str(maintainer), "role": "maintainer"},
            {"user_id": str(viewer), "role": "viewer"},
        ],
    )
    return project, owner, maintainer, viewer


async def create_agent(
    client: Any, tokens: TokenFactory, user: uuid.UUID, project: uuid.UUID, **body: Any
) -> Any:
    payload = {
        "project_id": str(project),
        "name": f"a-{uuid.uuid4().hex[:6]}",
        "type": "code_analyzer",
        **body,
    }
    return await client.post("/api/v1/agents", json=payload, headers=tokens.headers(user))


async def test_owner_creates_and_reads_an_agent(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, _, _ = owned
    created = await create_agent(
        client, tokens, owner, project, config={"complexity_threshold": 12}
    )
    assert created.status_code == 201, created.text
    agent = created.json()
    assert agent["config"]["complexity_threshold"] == 12
    got = await client.get(f"/api/v1/agents/{agent['id']}", headers=tokens.headers(owner))
    assert got.json()["name"] == agent["name"]


async def test_invalid_config_for_the_type_is_a_clear_422(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, _, _ = owned
    response = await create_agent(
        client, tokens, owner, project, type="pr_reviewer", config={"level": "extreme"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"] == "config.level" for e in response.json()["errors"])


async def test_unknown_agent_type_is_refused(client: Any, tokens: TokenFactory, owned: Any) -> None:
    project, owner, _, _ = owned
    response = await create_agent(client, tokens, owner, project, type="bitcoin_miner")
    assert response.status_code == 422


async def test_someone_elses_agent_answers_404(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, _, _ = owned
    agent = (await create_agent(client, tokens, owner, project)).json()
    stranger = tokens.headers(uuid.uuid4())
    assert (await client.get(f"/api/v1/agents/{agent['id']}", headers=stranger)).status_code == 404
    start = await client.post(f"/api/v1/agents/{agent['id']}/start", json={}, headers=stranger)
    assert start.status_code == 404
    listed = await client.get(
        "/api/v1/agents", params={"project_id": str(project)}, headers=stranger
    )
    assert listed.json()["total"] == 0


async def test_creating_in_someone_elses_project_answers_404(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, _, _, _ = owned
    response = await create_agent(client, tokens, uuid.uuid4(), project)
    assert response.status_code == 404


async def test_viewer_reads_but_cannot_change(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, _, viewer = owned
    agent = (await create_agent(client, tokens, owner, project)).json()
    assert (
        await client.get(f"/api/v1/agents/{agent['id']}", headers=tokens.headers(viewer))
    ).status_code == 200
    patch = await client.patch(
        f"/api/v1/agents/{agent['id']}", json={"name": "x"}, headers=tokens.headers(viewer)
    )
    assert patch.status_code == 403


async def test_maintainer_may_change_agents(client: Any, tokens: TokenFactory, owned: Any) -> None:
    project, owner, maintainer, _ = owned
    agent = (await create_agent(client, tokens, owner, project)).json()
    patch = await client.patch(
        f"/api/v1/agents/{agent['id']}",
        json={"description": "nightly"},
        headers=tokens.headers(maintainer),
    )
    assert patch.status_code == 200 and patch.json()["description"] == "nightly"


async def test_readonly_role_cannot_create(client: Any, tokens: TokenFactory, owned: Any) -> None:
    project, owner, _, _ = owned
    headers = tokens.headers(owner, roles=("readonly",))
    payload = {"project_id": str(project), "name": "ro", "type": "code_analyzer"}
    assert (await client.post("/api/v1/agents", json=payload, headers=headers)).status_code == 403


async def test_the_agent_role_starts_and_cancels_runs_but_never_changes_agents(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, maintainer, _ = owned
    agent = (await create_agent(client, tokens, owner, project)).json()
    bot = tokens.headers(maintainer, roles=("agent",))  # an automation account, maintainer
    started = await client.post(f"/api/v1/agents/{agent['id']}/start", json={}, headers=bot)
    assert started.status_code == 202, started.text
    cancelled = await client.post(f"/api/v1/agents/runs/{started.json()['id']}/cancel", headers=bot)
    assert cancelled.status_code == 202, cancelled.text
    assert (await client.get(f"/api/v1/agents/{agent['id']}/runs", headers=bot)).status_code == 200
    payload = {"project_id": str(project), "name": "bot", "type": "code_analyzer"}
    for response in (
        await client.post("/api/v1/agents", json=payload, headers=bot),
        await client.patch(f"/api/v1/agents/{agent['id']}", json={"name": "x"}, headers=bot),
        await client.delete(f"/api/v1/agents/{agent['id']}", headers=bot),
    ):
        assert response.status_code == 403, response.text
        assert response.json()["permission"] == "agents.write"


async def test_the_readonly_role_cannot_start_runs(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, maintainer, _ = owned
    agent = (await create_agent(client, tokens, owner, project)).json()
    reader = tokens.headers(maintainer, roles=("readonly",))
    started = await client.post(f"/api/v1/agents/{agent['id']}/start", json={}, headers=reader)
    assert started.status_code == 403 and started.json()["permission"] == "runs.start"


async def test_admin_sees_every_agent(client: Any, tokens: TokenFactory, owned: Any) -> None:
    project, owner, _, _ = owned
    agent = (await create_agent(client, tokens, owner, project)).json()
    admin = tokens.headers(uuid.uuid4(), roles=("admin",))
    assert (await client.get(f"/api/v1/agents/{agent['id']}", headers=admin)).status_code == 200


async def test_list_filters_by_type_and_paginates(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, _, _ = owned
    for _ in range(3):
        await create_agent(client, tokens, owner, project)
    await create_agent(client, tokens, owner, project, type="pr_reviewer")
    page = await client.get(
        "/api/v1/agents",
        params={"project_id": str(project), "type": "code_analyzer", "limit": 2},
        headers=tokens.headers(owner),
    )
    body = page.json()
    assert body["total"] == 3 and len(body["items"]) == 2
    assert {a["type"] for a in body["items"]} == {"code_analyzer"}


async def test_list_with_bad_query_values_answers_422_naming_each_field(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, _, _ = owned
    page = await client.get(
        "/api/v1/agents",
        params={"project_id": str(project), "type": "robot", "status": "asleep", "limit": 101},
        headers=tokens.headers(owner),
    )
    assert page.status_code == 422
    assert page.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in page.json()["errors"]}
    assert fields == {"query.type", "query.status", "query.limit"}


async def test_duplicate_name_in_a_project_is_a_conflict(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, _, _ = owned
    await create_agent(client, tokens, owner, project, name="dup")
    again = await create_agent(client, tokens, owner, project, name="dup")
    assert again.status_code == 409


async def test_delete_removes_the_agent(client: Any, tokens: TokenFactory, owned: Any) -> None:
    project, owner, _, _ = owned
    agent = (await create_agent(client, tokens, owner, project)).json()
    assert (
        await client.delete(f"/api/v1/agents/{agent['id']}", headers=tokens.headers(owner))
    ).status_code == 204
    assert (
        await client.get(f"/api/v1/agents/{agent['id']}", headers=tokens.headers(owner))
    ).status_code == 404


async def test_requests_without_a_token_are_401(client: Any) -> None:
    response = await client.get("/api/v1/agents")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_pr_reviewer_start_without_a_pull_request_is_422(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, _, _ = owned
    agent = (await create_agent(client, tokens, owner, project, type="pr_reviewer")).json()
    response = await client.post(
        f"/api/v1/agents/{agent['id']}/start", json={}, headers=tokens.headers(owner)
    )
    assert response.status_code == 422


async def test_a_ref_with_shell_or_option_syntax_is_refused(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, _, _ = owned
    agent = (await create_agent(client, tokens, owner, project)).json()
    for ref in ("--upload-pack=touch /tmp/x", "main;rm -rf /", "a..b"):
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/start", json={"ref": ref}, headers=tokens.headers(owner)
        )
        assert response.status_code == 422, ref


async def test_unknown_run_answers_404(client: Any, tokens: TokenFactory) -> None:
    response = await client.get(
        f"/api/v1/agents/runs/{uuid.uuid4()}", headers=tokens.headers(uuid.uuid4())
    )
    assert response.status_code == 404


async def test_malformed_bodies_get_4xx_never_5xx(
    client: Any, tokens: TokenFactory, owned: Any
) -> None:
    project, owner, _, _ = owned
    headers = tokens.headers(owner)
    agent = (await create_agent(client, tokens, owner, project)).json()
    bodies: list[Any] = [
        [],
        "x",
        12,
        None,
        {"project_id": "not-a-uuid"},
        {"project_id": str(project), "name": "nul\x00name", "type": "code_analyzer"},
        {"project_id": str(project), "name": "n", "type": "custom", "config": {"steps": []}},
        {"project_id": str(project), "name": "n", "type": "code_analyzer", "config": {"x\x00": 1}},
        {"project_id": str(project), "name": "x" * 5000, "type": "code_analyzer"},
    ]
    for body in bodies:
        response = await client.post("/api/v1/agents", json=body, headers=headers)
        assert 400 <= response.status_code < 500, (body, response.status_code)
    raw = await client.post(
        "/api/v1/agents",
        content=b"{not json",
        headers={**headers, "content-type": "application/json"},
    )
    assert raw.status_code == 422
    starts: list[Any] = [
        {"ref": "\x00"},
        {"timeout_seconds": -1},
        {"issue": {"title": "t\x00"}},
        {"level": "max"},
    ]
    for body in starts:
        response = await client.post(
            f"/api/v1/agents/{agent['id']}/start", json=body, headers=headers
        )
        assert 400 <= response.status_code < 500, (body, response.status_code)
    for params in ({"since": -1}, {"limit": 0}, {"sort": "password"}):
        response = await client.get(
            f"/api/v1/agents/{agent['id']}/runs", params=params, headers=headers
        )
        assert response.status_code in (200, 422), params
