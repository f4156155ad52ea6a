"""Who sees which figures: owners and members their projects, admins all, others a 404."""

from __future__ import annotations

import uuid

import pytest

from .conftest import Env
from .factories import at, member, project, project_history

pytestmark = pytest.mark.asyncio


async def test_someone_elses_project_answers_404(env: Env) -> None:
    owner, stranger, project_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))

    response = await env.client.get(
        f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(stranger)
    )

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "issues" not in response.json()


async def test_an_unknown_project_answers_404(env: Env) -> None:
    response = await env.client.get(
        f"/api/v1/analytics/projects/{uuid.uuid4()}", headers=env.as_admin()
    )

    assert response.status_code == 404


async def test_someone_elses_agent_answers_404(env: Env) -> None:
    owner, stranger, project_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)
    await env.ingest(history)
    agent = history[1].data["agent_id"]

    response = await env.client.get(
        f"/api/v1/analytics/agents/{agent}", headers=env.as_user(stranger)
    )

    assert response.status_code == 404


async def test_a_member_sees_the_project_until_removed(env: Env) -> None:
    owner, viewer, project_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await env.ingest(
        [*project_history(project_id, owner), member(project_id, viewer, "added", at(5))]
    )
    path = f"/api/v1/analytics/projects/{project_id}"

    seen = await env.client.get(path, headers=env.as_user(viewer))
    await env.ingest([member(project_id, viewer, "removed", at(6))])
    after_removal = await env.client.get(path, headers=env.as_user(viewer))

    assert seen.status_code == 200
    assert after_removal.status_code == 404


async def test_a_member_listed_in_an_older_snapshot_stays_removed(env: Env) -> None:
    owner, viewer, project_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    removal = member(project_id, viewer, "removed", at(6))
    stale_snapshot = project(project_id, owner, members=[viewer], updated=at(5), verb="updated")
    await env.ingest([project(project_id, owner), removal])
    await env.ingest([stale_snapshot])

    response = await env.client.get(
        f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(viewer)
    )

    assert response.status_code == 404


async def test_an_admin_sees_any_project(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))

    response = await env.client.get(
        f"/api/v1/analytics/projects/{project_id}", headers=env.as_admin()
    )

    assert response.status_code == 200
    assert response.json()["issues"]["total"] == 3


async def test_a_deleted_project_is_no_longer_shown_to_its_owner(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    deleted = project(project_id, owner, updated=at(9), verb="deleted")
    await env.ingest([*project_history(project_id, owner), deleted])

    response = await env.client.get(
        f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner)
    )

    assert response.status_code == 404


async def test_the_admin_dashboard_covers_every_project(fresh_env: Env) -> None:
    env = fresh_env
    await env.ingest(
        project_history(uuid.uuid4(), uuid.uuid4()) + project_history(uuid.uuid4(), uuid.uuid4())
    )

    body = (await env.client.get("/api/v1/analytics/dashboard", headers=env.as_admin())).json()

    assert body["projects"] is None
    assert body["issues"]["total"] == 6
    assert body["pull_requests"]["reviewed"] == 2


async def test_figures_need_a_token(env: Env) -> None:
    response = await env.client.get("/api/v1/analytics/dashboard")

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_agent_role_reads_no_analytics_even_of_its_own_project(env: Env) -> None:
    # Automation accounts (the agent role) have no analytics permission: a 403 naming it.
    bot, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, bot))
    headers = env.tokens.headers(bot, roles=("agent",))
    for path in (f"/api/v1/analytics/projects/{project_id}", "/api/v1/analytics/dashboard"):
        response = await env.client.get(path, headers=headers)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["permission"] == "analytics.read"
    recorded = await env.client.post(
        "/api/v1/analytics/events", json={"type": "custom.x.y"}, headers=headers
    )
    assert recorded.status_code == 403
