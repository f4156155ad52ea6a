"""The owner adds and removes maintainers and viewers."""

from __future__ import annotations

import uuid
from typing import Any

from httpx import AsyncClient


async def test_owner_adds_a_member_who_then_appears_in_the_project(
    client: AsyncClient, owner: Any, make_user: Any, create_project: Any
) -> None:
    project = await create_project(owner)
    viewer = make_user()
    response = await client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"user_id": str(viewer.id), "role": "viewer"},
        headers=owner.headers,
    )
    assert response.status_code == 201
    assert response.json()["role"] == "viewer"
    fetched = (await client.get(f"/api/v1/projects/{project['id']}", headers=owner.headers)).json()
    assert fetched["members"] == [{"user_id": str(viewer.id), "role": "viewer"}]
    listed = await client.get(f"/api/v1/projects/{project['id']}/members", headers=viewer.headers)
    assert [m["user_id"] for m in listed.json()] == [str(viewer.id)]


async def test_adding_the_same_member_twice_conflicts(
    client: AsyncClient, owner: Any, make_user: Any, create_project: Any, add_member: Any
) -> None:
    project = await create_project(owner)
    member = make_user()
    await add_member(project, owner, member, "viewer")
    response = await client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"user_id": str(member.id), "role": "maintainer"},
        headers=owner.headers,
    )
    assert response.status_code == 409


async def test_the_owner_cannot_be_added_as_a_member(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    project = await create_project(owner)
    response = await client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"user_id": str(owner.id), "role": "viewer"},
        headers=owner.headers,
    )
    assert response.status_code == 409


async def test_an_unknown_role_is_refused(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    project = await create_project(owner)
    response = await client.post(
        f"/api/v1/projects/{project['id']}/members",
        json={"user_id": str(uuid.uuid4()), "role": "owner"},
        headers=owner.headers,
    )
    assert response.status_code == 422


async def test_owner_removes_a_member_who_then_loses_access(
    client: AsyncClient, owner: Any, make_user: Any, create_project: Any, add_member: Any
) -> None:
    project = await create_project(owner)
    member = make_user()
    await add_member(project, owner, member, "maintainer")
    response = await client.delete(
        f"/api/v1/projects/{project['id']}/members/{member.id}", headers=owner.headers
    )
    assert response.status_code == 204
    gone = await client.get(f"/api/v1/projects/{project['id']}", headers=member.headers)
    assert gone.status_code == 404


async def test_a_member_may_leave_but_not_remove_others(
    client: AsyncClient, owner: Any, make_user: Any, create_project: Any, add_member: Any
) -> None:
    project = await create_project(owner)
    first, second = make_user(), make_user()
    await add_member(project, owner, first, "maintainer")
    await add_member(project, owner, second, "viewer")
    base = f"/api/v1/projects/{project['id']}/members"
    other = await client.delete(f"{base}/{second.id}", headers=first.headers)
    assert other.status_code == 403
    leave = await client.delete(f"{base}/{first.id}", headers=first.headers)
    assert leave.status_code == 204


async def test_removing_someone_who_is_not_a_member_answers_404(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    project = await create_project(owner)
    response = await client.delete(
        f"/api/v1/projects/{project['id']}/members/{uuid.uuid4()}", headers=owner.headers
    )
    assert response.status_code == 404


async def test_owner_changes_a_members_role_and_the_snapshot_follows(
    client: AsyncClient,
    owner: Any,
    make_user: Any,
    create_project: Any,
    add_member: Any,
    outbox: Any,
) -> None:
    project = await create_project(owner)
    member = make_user()
    await add_member(project, owner, member, "viewer")
    response = await client.patch(
        f"/api/v1/projects/{project['id']}/members/{member.id}",
        json={"role": "maintainer"},
        headers=owner.headers,
    )
    assert response.status_code == 200
    assert response.json()["role"] == "maintainer"
    patch = await client.patch(
        f"/api/v1/projects/{project['id']}", json={"enabled": False}, headers=member.headers
    )
    assert patch.status_code == 200
    updates = [e for e in await outbox.events(project["id"]) if e["type"].endswith(".updated")]
    assert updates[1]["data"]["members"] == [{"user_id": str(member.id), "role": "maintainer"}]


async def test_a_member_cannot_change_their_own_role(
    client: AsyncClient, owner: Any, make_user: Any, create_project: Any, add_member: Any
) -> None:
    project = await create_project(owner)
    member = make_user()
    await add_member(project, owner, member, "viewer")
    response = await client.patch(
        f"/api/v1/projects/{project['id']}/members/{member.id}",
        json={"role": "maintainer"},
        headers=member.headers,
    )
    assert response.status_code == 403
