"""Creating an agent right after creating its project never meets a spurious 404 (the read
model's own rules, races included, are tested once in libs/common/tests/app/
test_projects_read_model.py)."""

from __future__ import annotations

import uuid
from typing import Any

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
