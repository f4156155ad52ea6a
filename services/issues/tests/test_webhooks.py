"""GitHub deliveries relayed by projects (projects.webhook.received) create and update issues
and pull requests, once per delivery id, and trigger automatic reviews when asked to."""

from __future__ import annotations

import uuid

from swe_common.testing import eventually
from swe_common.testing_github import github_issue, github_pull, github_repo, github_user

OWNER, REPO = "acme", "widgets"
NEW_HEAD = "aaaaaaa5b57875f334f61aebed695e2e4193db5e"


async def deliver(env, team, event, action, payload, delivery_id=None):
    body = {
        "action": action,
        **payload,
        "repository": github_repo(OWNER, REPO),
        "sender": github_user("octocat"),
    }
    delivery = delivery_id or str(uuid.uuid4())
    await env.bus.publish(
        "projects.webhook.received",
        {
            "project_id": team.project_id,
            "delivery_id": delivery,
            "event": event,
            "action": action,
            "payload": body,
        },
        subject=team.project_id,
    )
    return delivery


async def issues_of(env, team):
    r = await env.client.get(
        "/api/v1/issues", params={"project_id": team.project_id}, headers=env.headers(team.owner)
    )
    return r.json()["items"]


async def prs_of(env, team):
    r = await env.client.get(
        "/api/v1/prs", params={"project_id": team.project_id}, headers=env.headers(team.owner)
    )
    return r.json()["items"]


async def test_issue_opened_creates_a_linked_issue(env, seed):
    team = await seed()
    await deliver(
        env,
        team,
        "issues",
        "opened",
        {"issue": github_issue(OWNER, REPO, 1347, labels=("bug", "p1"))},
    )
    event = await env.bus.wait_for("issues.issue.created", project_id=team.project_id)
    assert (event["data"]["title"], event["data"]["labels"]) == ("Found a bug", ["bug", "p1"])
    [issue] = await issues_of(env, team)
    assert issue["github_number"] == 1347
    assert issue["github_url"] == f"https://github.com/{OWNER}/{REPO}/issues/1347"


async def test_issue_edited_closed_and_reopened_follow_github(env, seed):
    team = await seed()
    await deliver(env, team, "issues", "opened", {"issue": github_issue(OWNER, REPO, 5)})
    await deliver(
        env, team, "issues", "edited", {"issue": github_issue(OWNER, REPO, 5, title="Renamed")}
    )
    await deliver(
        env,
        team,
        "issues",
        "closed",
        {"issue": github_issue(OWNER, REPO, 5, title="Renamed", state="closed")},
    )
    closed = await env.bus.wait_for("issues.issue.closed", project_id=team.project_id)
    assert closed["data"]["title"] == "Renamed"
    await deliver(
        env, team, "issues", "reopened", {"issue": github_issue(OWNER, REPO, 5, title="Renamed")}
    )

    async def reopened():
        items = await issues_of(env, team)
        return (
            items
            if items and items[0]["status"] == "open" and items[0]["closed_at"] is None
            else None
        )

    [issue] = await eventually(reopened, timeout=10)
    assert issue["title"] == "Renamed"


async def test_a_repeated_delivery_id_is_applied_once(env, seed):
    team = await seed()
    delivery = await deliver(env, team, "issues", "opened", {"issue": github_issue(OWNER, REPO, 9)})
    await deliver(
        env,
        team,
        "issues",
        "edited",
        {"issue": github_issue(OWNER, REPO, 9, title="Should be ignored")},
        delivery_id=delivery,
    )
    await deliver(env, team, "issues", "opened", {"issue": github_issue(OWNER, REPO, 10)})

    async def both():
        items = await issues_of(env, team)
        return items if len(items) == 2 else None

    items = await eventually(both, timeout=10)
    assert {i["title"] for i in items} == {"Found a bug"}


async def test_pull_request_opened_tracks_it(env, seed):
    team = await seed()
    await deliver(
        env,
        team,
        "pull_request",
        "opened",
        {"number": 1, "pull_request": github_pull(OWNER, REPO, 1)},
    )
    event = await env.bus.wait_for("issues.pr.tracked", project_id=team.project_id)
    data = event["data"]
    assert (data["number"], data["author"], data["base_ref"], data["head_ref"]) == (
        1,
        "octocat",
        "main",
        "new-topic",
    )
    assert data["head_sha"] == "6dcb09b5b57875f334f61aebed695e2e4193db5e"
    assert not env.bus.events("issues.pr.review_requested", pull_request_id=data["id"])


async def test_pull_request_closed_as_merged_is_merged(env, seed):
    team = await seed()
    await deliver(
        env,
        team,
        "pull_request",
        "opened",
        {"number": 2, "pull_request": github_pull(OWNER, REPO, 2)},
    )
    await deliver(
        env,
        team,
        "pull_request",
        "closed",
        {"number": 2, "pull_request": github_pull(OWNER, REPO, 2, state="closed", merged=True)},
    )
    event = await env.bus.wait_for("issues.pr.updated", project_id=team.project_id, state="merged")
    assert event["data"]["number"] == 2


async def test_auto_review_requests_a_review_on_open_and_on_new_commits(env, seed):
    team = await seed(settings={"auto_review": True, "review_level": "quick"})
    await deliver(
        env,
        team,
        "pull_request",
        "opened",
        {"number": 3, "pull_request": github_pull(OWNER, REPO, 3)},
    )
    first = await env.bus.wait_for("issues.pr.review_requested", project_id=team.project_id)
    assert first["data"]["level"] == "quick"
    assert first["data"]["repository_url"] == "https://github.com/acme/widgets"
    assert first["data"]["requested_by"] is None
    await deliver(
        env,
        team,
        "pull_request",
        "synchronize",
        {"number": 3, "pull_request": github_pull(OWNER, REPO, 3, head_sha=NEW_HEAD)},
    )
    second = await env.bus.wait_for(
        "issues.pr.review_requested", project_id=team.project_id, head_sha=NEW_HEAD
    )
    assert second["data"]["review_id"] != first["data"]["review_id"]


async def test_ping_and_unknown_events_change_nothing(env, seed):
    team = await seed()
    await deliver(env, team, "ping", None, {"zen": "Keep it logically awesome.", "hook_id": 1})
    await deliver(env, team, "issues", "opened", {"issue": github_issue(OWNER, REPO, 77)})
    await env.bus.wait_for("issues.issue.created", project_id=team.project_id)
    assert len(await issues_of(env, team)) == 1
    assert await prs_of(env, team) == []


async def test_a_malformed_delivery_is_dropped_without_blocking_the_next(env, seed):
    team = await seed()
    await deliver(env, team, "issues", "opened", {"issue": {"title": "no number"}})
    await deliver(env, team, "issues", "opened", {"issue": github_issue(OWNER, REPO, 8)})
    event = await env.bus.wait_for("issues.issue.created", project_id=team.project_id)
    assert event["data"]["title"] == "Found a bug"
    assert len(await issues_of(env, team)) == 1


async def test_a_delivery_for_a_project_not_known_yet_is_retried_until_it_is(env):
    from issues_fake_projects import snapshot

    owner = str(uuid.uuid4())
    project = snapshot(owner)
    await env.bus.publish(
        "projects.webhook.received",
        {
            "project_id": project["id"],
            "delivery_id": str(uuid.uuid4()),
            "event": "issues",
            "action": "opened",
            "payload": {"issue": github_issue(OWNER, REPO, 4)},
        },
        subject=project["id"],
    )
    await env.bus.publish("projects.project.created", project, subject=project["id"])
    event = await env.bus.wait_for("issues.issue.created", project_id=project["id"], timeout=15)
    assert event["data"]["title"] == "Found a bug"
