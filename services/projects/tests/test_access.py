"""Who may see and change a project: owner, maintainer, viewer, stranger, admin, read-only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from httpx import AsyncClient


@pytest.fixture
async def project(owner: Any, create_project: Any) -> dict[str, Any]:
    return await create_project(owner)


def url(project: dict[str, Any], suffix: str = "") -> str:
    return f"/api/v1/projects/{project['id']}{suffix}"


async def test_a_strangers_project_answers_404_to_every_verb(
    client: AsyncClient, project: dict[str, Any], make_user: Any
) -> None:
    stranger = make_user()
    member = {"user_id": str(uuid.uuid4()), "role": "viewer"}
    responses = [
        await client.get(url(project), headers=stranger.headers),
        await client.patch(url(project), json={"enabled": False}, headers=stranger.headers),
        await client.delete(url(project), headers=stranger.headers),
        await client.get(url(project, "/members"), headers=stranger.headers),
        await client.post(url(project, "/members"), json=member, headers=stranger.headers),
        await client.post(url(project, "/webhook-secret/rotate"), headers=stranger.headers),
    ]
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert all(project["name"] not in r.text for r in responses)


async def test_a_stranger_does_not_see_the_project_in_lists(
    client: AsyncClient, project: dict[str, Any], make_user: Any
) -> None:
    stranger = make_user()
    response = await client.get(
        "/api/v1/projects", params={"owner_id": project["owner_id"]}, headers=stranger.headers
    )
    assert response.json()["total"] == 0


async def test_a_viewer_reads_but_cannot_change(
    client: AsyncClient, project: dict[str, Any], owner: Any, make_user: Any, add_member: Any
) -> None:
    viewer = make_user()
    await add_member(project, owner, viewer, "viewer")
    assert (await client.get(url(project), headers=viewer.headers)).status_code == 200
    listed = await client.get("/api/v1/projects", headers=viewer.headers)
    assert [p["id"] for p in listed.json()["items"]] == [project["id"]]
    patch = await client.patch(url(project), json={"name": "mine"}, headers=viewer.headers)
    assert patch.status_code == 403
    rotate = await client.post(url(project, "/webhook-secret/rotate"), headers=viewer.headers)
    assert rotate.status_code == 403


async def test_a_maintainer_changes_the_project_but_cannot_delete_or_manage_members(
    client: AsyncClient, project: dict[str, Any], owner: Any, make_user: Any, add_member: Any
) -> None:
    maintainer = make_user()
    await add_member(project, owner, maintainer, "maintainer")
    patch = await client.patch(
        url(project), json={"description": "by a maintainer"}, headers=maintainer.headers
    )
    assert patch.status_code == 200
    assert patch.json()["description"] == "by a maintainer"
    member = {"user_id": str(uuid.uuid4()), "role": "viewer"}
    add = await client.post(url(project, "/members"), json=member, headers=maintainer.headers)
    assert add.status_code == 403
    assert (await client.delete(url(project), headers=maintainer.headers)).status_code == 403


async def test_an_admin_sees_and_changes_every_project(
    client: AsyncClient, project: dict[str, Any], make_user: Any
) -> None:
    admin = make_user("admin")
    assert (await client.get(url(project), headers=admin.headers)).status_code == 200
    listed = await client.get(
        "/api/v1/projects", params={"owner_id": project["owner_id"]}, headers=admin.headers
    )
    assert listed.json()["total"] == 1
    patch = await client.patch(url(project), json={"enabled": False}, headers=admin.headers)
    assert patch.status_code == 200
    assert (await client.delete(url(project), headers=admin.headers)).status_code == 204


async def test_the_readonly_role_reads_its_projects_but_never_changes_them(
    client: AsyncClient, project: dict[str, Any], owner: Any, tokens: Any, project_body: Any
) -> None:
    readonly = {"Authorization": f"Bearer {tokens.token(owner.id, roles=('readonly',))}"}
    assert (await client.get(url(project), headers=readonly)).status_code == 200
    patch = await client.patch(url(project), json={"enabled": False}, headers=readonly)
    assert patch.status_code == 403
    create = await client.post("/api/v1/projects", json=project_body(), headers=readonly)
    assert create.status_code == 403
    assert (await client.delete(url(project), headers=readonly)).status_code == 403


async def test_a_read_only_api_key_reads_but_never_changes(
    client: AsyncClient, project: dict[str, Any], owner: Any, tokens: Any
) -> None:
    key = tokens.headers(owner.id, scopes=("projects:read",), api_key_id="key-1")
    assert (await client.get(url(project), headers=key)).status_code == 200
    patch = await client.patch(url(project), json={"enabled": False}, headers=key)
    assert patch.status_code == 403
    assert patch.json()["missing_scope"] == "projects:write"


async def test_an_api_key_writing_elsewhere_cannot_change_projects(
    client: AsyncClient, project: dict[str, Any], owner: Any, tokens: Any
) -> None:
    key = tokens.headers(owner.id, scopes=("issues:write",), api_key_id="key-3")
    assert (await client.get(url(project), headers=key)).status_code == 200
    patch = await client.patch(url(project), json={"enabled": False}, headers=key)
    assert patch.status_code == 403
    assert "projects:write" in patch.json()["detail"]


async def test_an_api_key_with_write_scope_changes_the_project(
    client: AsyncClient, project: dict[str, Any], owner: Any, tokens: Any
) -> None:
    key = tokens.headers(owner.id, scopes=("projects:write",), api_key_id="key-2")
    patch = await client.patch(url(project), json={"enabled": False}, headers=key)
    assert patch.status_code == 200


async def test_a_caller_without_a_user_identity_cannot_create_projects(
    client: AsyncClient, tokens: Any, project_body: Any
) -> None:
    agent = tokens.headers("agent:reviewer", roles=("agent",))
    response = await client.post("/api/v1/projects", json=project_body(), headers=agent)
    assert response.status_code == 403
    listed = await client.get("/api/v1/projects", headers=agent)
    assert listed.json()["total"] == 0
