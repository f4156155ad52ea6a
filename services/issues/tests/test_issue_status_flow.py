"""The status flow open -> in_progress -> resolved | closed, reopen; assign; resolve."""

from __future__ import annotations

import uuid

import pytest


async def new_issue(env, team):
    r = await env.client.post(
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": "t"},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 201
    return r.json()


async def set_status(env, team, issue, status):
    return await env.client.patch(
        f"/api/v1/issues/{issue['id']}", json={"status": status}, headers=env.headers(team.owner)
    )


@pytest.mark.parametrize(
    ("path", "final"),
    [
        (["in_progress", "resolved"], "resolved"),
        (["in_progress", "closed"], "closed"),
        (["closed"], "closed"),
        (["in_progress", "open"], "open"),
        (["closed", "open"], "open"),
        (["in_progress", "resolved", "open"], "open"),
        (["in_progress", "in_review", "resolved"], "resolved"),
        (["in_progress", "in_review", "in_progress"], "in_progress"),
        (["in_progress", "in_review", "closed"], "closed"),
    ],
)
async def test_allowed_transitions_succeed(env, seed, path, final):
    team = await seed()
    issue = await new_issue(env, team)
    for status in path:
        r = await set_status(env, team, issue, status)
        assert r.status_code == 200, r.text
    assert r.json()["status"] == final


@pytest.mark.parametrize(
    ("path", "illegal", "allowed"),
    [
        ([], "resolved", ["closed", "in_progress"]),
        (["closed"], "in_progress", ["open"]),
        (["in_progress", "resolved"], "closed", ["open"]),
        ([], "in_review", ["closed", "in_progress"]),
    ],
)
async def test_illegal_transition_answers_409_naming_the_allowed_ones(
    env, seed, path, illegal, allowed
):
    team = await seed()
    issue = await new_issue(env, team)
    for status in path:
        await set_status(env, team, issue, status)
    r = await set_status(env, team, issue, illegal)
    assert r.status_code == 409
    body = r.json()
    assert body["allowed_transitions"] == allowed
    assert all(status in body["detail"] for status in allowed)


async def test_resolving_sets_resolved_at_and_reopening_clears_it(env, seed):
    team = await seed()
    issue = await new_issue(env, team)
    await set_status(env, team, issue, "in_progress")
    resolved = (await set_status(env, team, issue, "resolved")).json()
    assert resolved["resolved_at"] is not None
    reopened = (await set_status(env, team, issue, "open")).json()
    assert reopened["resolved_at"] is None


async def test_closing_by_patch_publishes_closed(env, seed):
    team = await seed()
    issue = await new_issue(env, team)
    await set_status(env, team, issue, "closed")
    event = await env.bus.wait_for("issues.issue.closed", id=issue["id"])
    assert event["data"]["status"] == "closed"


async def test_assign_sets_the_agent_starts_the_work_and_publishes_assigned(env, seed):
    team = await seed()
    issue = await new_issue(env, team)
    agent = str(uuid.uuid4())
    r = await env.client.post(
        f"/api/v1/issues/{issue['id']}/assign",
        json={"agent_id": agent},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["assigned_agent_id"], r.json()["status"]) == (agent, "in_progress")
    event = await env.bus.wait_for("issues.issue.assigned", id=issue["id"])
    assert event["data"]["assigned_agent_id"] == agent


async def test_assign_a_closed_issue_answers_409(env, seed):
    team = await seed()
    issue = await new_issue(env, team)
    await set_status(env, team, issue, "closed")
    r = await env.client.post(
        f"/api/v1/issues/{issue['id']}/assign",
        json={"agent_id": str(uuid.uuid4())},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 409


async def test_resolve_with_pull_request_stores_both_and_publishes_resolved(env, seed):
    team = await seed()
    headers = env.headers(team.owner)
    issue = await new_issue(env, team)
    pr = (
        await env.client.post(
            "/api/v1/prs",
            json={"project_id": team.project_id, "number": 7, "title": "Fix"},
            headers=headers,
        )
    ).json()
    await set_status(env, team, issue, "in_progress")
    r = await env.client.post(
        f"/api/v1/issues/{issue['id']}/resolve",
        json={"resolution": "Fixed by #7", "pull_request_id": pr["id"]},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["pull_request_id"]) == ("resolved", pr["id"])
    event = await env.bus.wait_for("issues.issue.resolved", id=issue["id"])
    assert event["data"]["resolution"] == "Fixed by #7"
    assert event["data"]["pull_request_id"] == pr["id"]


async def test_resolve_an_open_issue_answers_409(env, seed):
    team = await seed()
    issue = await new_issue(env, team)
    r = await env.client.post(
        f"/api/v1/issues/{issue['id']}/resolve",
        json={"resolution": "done"},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 409
    assert r.json()["allowed_transitions"] == ["closed", "in_progress"]


async def test_resolve_with_a_pull_request_of_another_project_answers_422(env, seed):
    team, other = await seed(), await seed()
    pr = (
        await env.client.post(
            "/api/v1/prs",
            json={"project_id": other.project_id, "number": 1, "title": "x"},
            headers=env.headers(other.owner),
        )
    ).json()
    issue = await new_issue(env, team)
    await set_status(env, team, issue, "in_progress")
    r = await env.client.post(
        f"/api/v1/issues/{issue['id']}/resolve",
        json={"resolution": "done", "pull_request_id": pr["id"]},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 422
