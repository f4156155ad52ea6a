"""Every change publishes the agreed event (docs/event-contracts.md) with the change, through
the outbox, and the relay delivers it to the events exchange."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

SNAPSHOT_KEYS = {
    "id",
    "name",
    "description",
    "repository_url",
    "default_branch",
    "enabled",
    "owner_id",
    "settings",
    "members",
    "created_at",
    "updated_at",
}


async def test_creation_publishes_project_created_with_the_snapshot(
    client: AsyncClient, owner: Any, create_project: Any, event_tap: Any
) -> None:
    project = await create_project(owner)
    [event] = await event_tap.wait_for(project["id"], "projects.project.created")
    assert event["source"] == "/swe/projects"
    assert event["specversion"] == "1.0"
    assert set(event["data"]) == SNAPSHOT_KEYS
    assert event["data"]["id"] == project["id"]
    assert event["data"]["owner_id"] == str(owner.id)
    assert event["data"]["settings"] == {"auto_review": False, "review_level": "standard"}
    assert "webhook" not in str(event)


async def test_an_update_publishes_the_full_snapshot_after_the_change(
    client: AsyncClient, owner: Any, create_project: Any, event_tap: Any
) -> None:
    project = await create_project(owner)
    await client.patch(
        f"/api/v1/projects/{project['id']}", json={"enabled": False}, headers=owner.headers
    )
    [event] = await event_tap.wait_for(project["id"], "projects.project.updated")
    assert set(event["data"]) == SNAPSHOT_KEYS
    assert event["data"]["enabled"] is False
    assert event["data"]["updated_at"] > project["updated_at"]


async def test_a_patch_that_changes_nothing_publishes_nothing(
    client: AsyncClient, owner: Any, create_project: Any, outbox: Any
) -> None:
    project = await create_project(owner)
    response = await client.patch(
        f"/api/v1/projects/{project['id']}",
        json={"name": project["name"], "enabled": True},
        headers=owner.headers,
    )
    assert response.status_code == 200
    assert await outbox.types(project["id"]) == ["projects.project.created"]


async def test_member_changes_publish_member_events_and_a_fresh_snapshot(
    client: AsyncClient,
    owner: Any,
    make_user: Any,
    create_project: Any,
    add_member: Any,
    event_tap: Any,
    outbox: Any,
) -> None:
    project = await create_project(owner)
    member = make_user()
    await add_member(project, owner, member, "maintainer")
    await client.delete(
        f"/api/v1/projects/{project['id']}/members/{member.id}", headers=owner.headers
    )
    assert await outbox.types(project["id"]) == [
        "projects.project.created",
        "projects.member.added",
        "projects.project.updated",
        "projects.member.removed",
        "projects.project.updated",
    ]
    [added] = await event_tap.wait_for(project["id"], "projects.member.added")
    assert added["data"] == {
        "project_id": project["id"],
        "user_id": str(member.id),
        "role": "maintainer",
    }
    [removed] = await event_tap.wait_for(project["id"], "projects.member.removed")
    assert removed["data"] == {"project_id": project["id"], "user_id": str(member.id)}
    first, second = await event_tap.wait_for(project["id"], "projects.project.updated", 2)
    assert first["data"]["members"] == [{"user_id": str(member.id), "role": "maintainer"}]
    assert second["data"]["members"] == []
    assert second["data"]["updated_at"] > first["data"]["updated_at"]


async def test_deletion_publishes_project_deleted(
    client: AsyncClient, owner: Any, create_project: Any, event_tap: Any
) -> None:
    project = await create_project(owner)
    await client.delete(f"/api/v1/projects/{project['id']}", headers=owner.headers)
    [event] = await event_tap.wait_for(project["id"], "projects.project.deleted")
    assert event["data"] == {"id": project["id"], "owner_id": str(owner.id)}


async def test_a_refused_change_publishes_nothing(
    client: AsyncClient, owner: Any, make_user: Any, create_project: Any, outbox: Any
) -> None:
    project = await create_project(owner)
    stranger = make_user()
    await client.patch(
        f"/api/v1/projects/{project['id']}", json={"enabled": False}, headers=stranger.headers
    )
    await client.delete(f"/api/v1/projects/{project['id']}", headers=stranger.headers)
    assert await outbox.types(project["id"]) == ["projects.project.created"]
