"""Assignees and the agent role: a maintainer assigns an issue or pull request to a member; an
account with the agent role (an automation account, here a maintainer) changes only what is
assigned to it, never who it is assigned to; a refusal names the permission it lacks."""

from __future__ import annotations

import uuid


async def test_a_maintainer_assigns_an_issue_to_a_member_and_unassigns_it(env, seed):
    team = await seed()
    issue = await env.create_issue(team, team.viewer)
    assert issue["assignee_id"] == team.viewer
    cleared = await env.client.patch(
        f"/api/v1/issues/{issue['id']}",
        json={"assignee_id": None},
        headers=env.headers(team.maintainer),
    )
    assert cleared.status_code == 200 and cleared.json()["assignee_id"] is None
    # Consumers learn of both changes from the issue's snapshot.
    await env.bus.wait_for("issues.issue.updated", id=issue["id"], assignee_id=team.viewer)
    await env.bus.wait_for("issues.issue.updated", id=issue["id"], assignee_id=None)


async def test_work_is_assigned_only_to_members_of_the_project(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    r = await env.client.patch(
        f"/api/v1/issues/{issue['id']}",
        json={"assignee_id": team.stranger},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.assignee_id"


async def test_the_agent_role_changes_and_resolves_the_issue_assigned_to_it(env, seed):
    team = await seed()
    issue = await env.create_issue(team, team.maintainer)
    changed = await env.client.patch(
        f"/api/v1/issues/{issue['id']}",
        json={"status": "in_progress", "labels": ["bot"]},
        headers=env.agent_headers(team),
    )
    assert changed.status_code == 200, changed.text
    resolved = await env.client.post(
        f"/api/v1/issues/{issue['id']}/resolve",
        json={"resolution": "Fixed by the bot"},
        headers=env.agent_headers(team),
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"


async def test_the_agent_role_cannot_change_create_or_delete_other_issues(env, seed):
    team = await seed()
    other = await env.create_issue(team, team.owner)
    unassigned = await env.create_issue(team)
    for issue in (other, unassigned):
        r = await env.client.patch(
            f"/api/v1/issues/{issue['id']}", json={"title": "bot"}, headers=env.agent_headers(team)
        )
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["permission"] == "issues.write"
    created = await env.client.post(
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": "bot"},
        headers=env.agent_headers(team),
    )
    assert created.status_code == 403 and created.json()["permission"] == "issues.write"
    mine = await env.create_issue(team, team.maintainer)
    deleted = await env.client.delete(
        f"/api/v1/issues/{mine['id']}", headers=env.agent_headers(team)
    )
    assert deleted.status_code == 403 and deleted.json()["permission"] == "issues.write"


async def test_the_assignee_cannot_reassign_its_work(env, seed):
    team = await seed()
    issue = await env.create_issue(team, team.maintainer)
    r = await env.client.patch(
        f"/api/v1/issues/{issue['id']}",
        json={"assignee_id": team.viewer},
        headers=env.agent_headers(team),
    )
    assert r.status_code == 403 and r.json()["permission"] == "issues.write"
    after = await env.client.get(f"/api/v1/issues/{issue['id']}", headers=env.headers(team.owner))
    assert after.json()["assignee_id"] == team.maintainer


async def test_assignment_opens_nothing_to_a_viewer_agent_or_the_readonly_role(env, seed):
    team = await seed()
    to_viewer = await env.create_issue(team, team.viewer)
    viewer_agent = env.headers(team.viewer, roles=("agent",))
    r = await env.client.patch(
        f"/api/v1/issues/{to_viewer['id']}", json={"title": "bot"}, headers=viewer_agent
    )
    assert r.status_code == 403  # a viewer of the project only reads, assigned or not
    readonly = env.headers(team.maintainer, roles=("readonly",))
    mine = await env.create_issue(team, team.maintainer)
    r = await env.client.patch(
        f"/api/v1/issues/{mine['id']}", json={"title": "x"}, headers=readonly
    )
    assert r.status_code == 403
    assert r.json()["permission"] == "issues.update_assigned"  # what would have let it


async def test_the_agent_role_changes_its_pull_request_and_requests_reviews(env, seed):
    team = await seed()
    mine = await env.create_pr(team, 41, team.maintainer)
    theirs = await env.create_pr(team, 42, team.owner)
    changed = await env.client.patch(
        f"/api/v1/prs/{mine['id']}",
        json={"title": "Fix login (bot)"},
        headers=env.agent_headers(team),
    )
    assert changed.status_code == 200, changed.text
    refused = await env.client.patch(
        f"/api/v1/prs/{theirs['id']}", json={"title": "bot"}, headers=env.agent_headers(team)
    )
    assert refused.status_code == 403 and refused.json()["permission"] == "issues.write"
    review = await env.client.post(
        f"/api/v1/prs/{theirs['id']}/review",
        json={"level": "quick"},
        headers=env.agent_headers(team),
    )
    assert review.status_code == 202, review.text
    history = await env.client.get(
        f"/api/v1/prs/{theirs['id']}/review", headers=env.agent_headers(team)
    )
    assert history.status_code == 200 and history.json()["latest"]["id"] == review.json()["id"]
    tracked = await env.client.post(
        "/api/v1/prs",
        json={"project_id": team.project_id, "number": 43, "title": "bot"},
        headers=env.agent_headers(team),
    )
    assert tracked.status_code == 403 and tracked.json()["permission"] == "issues.write"


async def test_a_readonly_caller_cannot_request_reviews(env, seed):
    team = await seed()
    pr = await env.create_pr(team, 51, team.owner)
    r = await env.client.post(
        f"/api/v1/prs/{pr['id']}/review",
        json={"level": "quick"},
        headers=env.headers(team.maintainer, roles=("readonly",)),
    )
    assert r.status_code == 403 and r.json()["permission"] == "reviews.request"


async def test_a_stranger_with_the_agent_role_sees_nothing(env, seed):
    team = await seed()
    issue = await env.create_issue(team, team.maintainer)
    stranger = env.headers(team.stranger, roles=("agent",))
    r = await env.client.patch(
        f"/api/v1/issues/{issue['id']}", json={"title": "x"}, headers=stranger
    )
    assert r.status_code == 404
    r = await env.client.get(f"/api/v1/issues/{uuid.uuid4()}", headers=stranger)
    assert r.status_code == 404
