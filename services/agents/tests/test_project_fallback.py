"""Creating an agent right after creating its project never meets a spurious 404."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from swe_agents.agents import service

API = "/api/v1/agents"


def _snapshot(project_id: uuid.UUID, owner: uuid.UUID) -> dict[str, Any]:
    return {
        "id": str(project_id),
        "name": "fresh",
        "description": "",
        "repository_url": "https://github.com/octo/fresh",
        "default_branch": "main",
        "enabled": True,
        "owner_id": str(owner),
        "settings": {},
        "members": [],
        "created_at": "2026-11-25T10:00:00+00:00",
        "updated_at": "2026-11-25T10:00:00+00:00",
    }


async def test_an_agent_can_be_created_before_the_projects_event_arrives(
    client, tokens, fake_projects
):
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    fake_projects.snapshots[str(project_id)] = _snapshot(project_id, owner)
    body = {"project_id": str(project_id), "name": "analyzer", "type": "code_analyzer"}
    response = await client.post(API, json=body, headers=tokens.headers(owner))
    assert response.status_code == 201, response.text
    assert str(project_id) in fake_projects.requests


async def test_a_project_the_projects_service_denies_stays_404(client, tokens, fake_projects):
    project_id = uuid.uuid4()
    body = {"project_id": str(project_id), "name": "analyzer", "type": "code_analyzer"}
    response = await client.post(API, json=body, headers=tokens.headers(uuid.uuid4()))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert str(project_id) in fake_projects.requests


async def test_the_lookup_and_the_projects_event_bringing_a_new_project_at_once_both_succeed(
    app,
):
    """The fallback lookup of a request and the projects event can insert the same new project
    in two transactions at the same moment: the second waits and updates, it never fails (a
    failure here answered the user's "create agent" with 409 right after creating the project)."""
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    snapshot = _snapshot(project_id, owner)
    newer = {**snapshot, "name": "renamed", "updated_at": "2026-11-25T10:00:01+00:00"}
    db = app.state.db
    async with db.transaction() as first, db.transaction() as second:
        await service.apply_project_snapshot(first, snapshot)
        await first.flush()  # the first holds the new row, uncommitted
        waiting = asyncio.ensure_future(service.apply_project_snapshot(second, newer))
        await asyncio.sleep(0.3)
        assert not waiting.done()  # blocked on the first's row, not failed
        await first.commit()
        project = await asyncio.wait_for(waiting, 10)
        assert project.snapshot_at is not None
        assert project.snapshot_at.isoformat() == "2026-11-25T10:00:01+00:00"
