"""The projects read model: fed by projects.* events, with a synchronous fallback to the projects
service for a project it does not know yet; deleting a project closes out its work."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from issues_fake_projects import snapshot

from swe_common.testing import eventually


async def can_read_issues(env, user, project_id):
    r = await env.client.get(
        "/api/v1/issues", params={"project_id": project_id}, headers=env.headers(user)
    )
    return r.status_code == 200


async def publish_project(env, data, type_="projects.project.created"):
    await env.bus.publish(type_, data, subject=data["id"])


async def test_a_created_project_event_gives_its_owner_access(env):
    owner = str(uuid.uuid4())
    project = snapshot(owner)
    await publish_project(env, project)  # the fake projects service does not know it

    async def probe():
        r = await env.client.post(
            "/api/v1/issues",
            json={"project_id": project["id"], "title": "t"},
            headers=env.headers(owner),
        )
        return r.status_code == 201

    assert await eventually(probe, timeout=10)


async def test_member_events_grant_and_revoke_access(env):
    owner, member = str(uuid.uuid4()), str(uuid.uuid4())
    project = snapshot(owner)
    await publish_project(env, project)
    await env.bus.publish(
        "projects.member.added",
        {"project_id": project["id"], "user_id": member, "role": "viewer"},
        subject=project["id"],
    )
    await eventually(lambda: can_read_issues(env, member, project["id"]), timeout=10)
    await env.bus.publish(
        "projects.member.removed",
        {"project_id": project["id"], "user_id": member},
        subject=project["id"],
    )

    async def revoked():
        return not await can_read_issues(env, member, project["id"])

    await eventually(revoked, timeout=10)


async def test_an_older_snapshot_does_not_replace_a_newer_one(env):
    owner, newcomer = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    project_id = uuid.uuid4()
    newer = snapshot(
        owner,
        project_id=project_id,
        updated_at=now,
        members=[{"user_id": newcomer, "role": "maintainer"}],
    )
    older = snapshot(owner, project_id=project_id, updated_at=now - timedelta(minutes=5))
    marker = snapshot(
        owner,
        project_id=project_id,
        updated_at=now,
        members=[{"user_id": newcomer, "role": "maintainer"}],
    )
    marker["name"] = "marker"
    await publish_project(env, newer)
    await publish_project(env, older, "projects.project.updated")
    await publish_project(env, marker, "projects.project.updated")  # same time: applied
    from swe_issues.projects_read_model.models import ProjectView

    async def marker_applied():
        async with env.app.state.db.transaction() as session:
            view = await session.get(ProjectView, project_id)
            return view if view is not None and view.name == "marker" else None

    view = await eventually(marker_applied, timeout=10)
    assert view.members == [{"user_id": newcomer, "role": "maintainer"}]
    assert await can_read_issues(env, newcomer, str(project_id))


async def test_an_unknown_project_is_looked_up_in_the_projects_service_with_the_callers_token(env):
    owner = str(uuid.uuid4())
    project = snapshot(owner)
    env.projects.projects[project["id"]] = project
    r = await env.client.post(
        "/api/v1/issues",
        json={"project_id": project["id"], "title": "right after creating"},
        headers=env.headers(owner),
    )
    assert r.status_code == 201, r.text
    assert env.projects.calls.count(project["id"]) == 1
    # Now the read model knows it: no second call.
    await env.client.get(
        "/api/v1/issues", params={"project_id": project["id"]}, headers=env.headers(owner)
    )
    assert env.projects.calls.count(project["id"]) == 1


async def test_a_project_the_projects_service_denies_answers_404(env):
    owner = str(uuid.uuid4())
    project = snapshot(owner)
    env.projects.projects[project["id"]] = project
    r = await env.client.post(
        "/api/v1/issues",
        json={"project_id": project["id"], "title": "t"},
        headers=env.headers(str(uuid.uuid4())),
    )
    assert r.status_code == 404


async def test_projects_service_failure_answers_503_with_retry_after(env):
    env.projects.failing = True
    try:
        r = await env.client.get(
            "/api/v1/issues",
            params={"project_id": str(uuid.uuid4())},
            headers=env.headers(str(uuid.uuid4())),
        )
    finally:
        env.projects.failing = False
    assert r.status_code == 503
    assert r.headers["retry-after"] == "2"
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_deleting_a_project_closes_its_issues_and_untracks_its_prs(env):
    owner = str(uuid.uuid4())
    project = snapshot(owner)
    env.projects.projects[project["id"]] = project
    headers = env.headers(owner)
    issue = (
        await env.client.post(
            "/api/v1/issues", json={"project_id": project["id"], "title": "t"}, headers=headers
        )
    ).json()
    pr = (
        await env.client.post(
            "/api/v1/prs",
            json={"project_id": project["id"], "number": 4, "title": "p"},
            headers=headers,
        )
    ).json()
    await env.bus.publish(
        "projects.project.deleted", {"id": project["id"], "owner_id": owner}, subject=project["id"]
    )
    closed = await env.bus.wait_for("issues.issue.closed", id=issue["id"])
    assert closed["data"]["status"] == "closed"
    await env.bus.wait_for("issues.pr.untracked", id=pr["id"])
    admin = env.headers(str(uuid.uuid4()), roles=("admin",))
    r = await env.client.get(f"/api/v1/issues/{issue['id']}", headers=admin)
    assert r.json()["status"] == "closed"
    assert (await env.client.get(f"/api/v1/prs/{pr['id']}", headers=admin)).status_code == 404
    # The owner no longer sees the project, and a late snapshot does not bring it back.
    assert (
        await env.client.get(f"/api/v1/issues/{issue['id']}", headers=headers)
    ).status_code == 404
    late = await env.bus.publish("projects.project.updated", project, subject=project["id"])
    await eventually(lambda: handled(env, late), timeout=10)
    assert not await can_read_issues(env, owner, project["id"])


async def handled(env, event_id):
    from swe_issues.models import event_tables

    inbox = event_tables.inbox
    async with env.app.state.db.transaction() as session:
        found = await session.scalar(
            sa.select(inbox.c.event_id).where(inbox.c.event_id == event_id)
        )
        return found is not None


async def test_a_member_just_added_in_projects_is_let_in_before_the_event_arrives(env, seed):
    team = await seed()
    newcomer = str(uuid.uuid4())
    current = snapshot(
        team.owner,
        project_id=uuid.UUID(team.project_id),
        members=[{"user_id": newcomer, "role": "maintainer"}],
    )
    env.projects.projects[team.project_id] = current
    r = await env.client.post(
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": "t"},
        headers=env.headers(newcomer),
    )
    assert r.status_code == 201, r.text


async def test_a_stranger_to_a_known_project_gets_404_even_when_projects_is_down(env, seed):
    team = await seed()
    env.projects.failing = True
    try:
        r = await env.client.get(
            "/api/v1/issues",
            params={"project_id": team.project_id},
            headers=env.headers(team.stranger),
        )
    finally:
        env.projects.failing = False
    assert r.status_code == 404
