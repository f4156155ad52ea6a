"""Who may do what: owner and maintainer change, viewer reads, admin all, read-only
credentials read, a stranger gets 404 for everything (never the data)."""

from __future__ import annotations

import uuid

import pytest


async def issue_in(env, team):
    r = await env.client.post(
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": "Secret roadmap item"},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 201
    return r.json()


def headers_for(env, team, who):
    if who == "admin":
        return env.headers(team.admin, roles=("admin",))
    if who == "readonly_role":
        return env.headers(team.owner, roles=("readonly",))
    if who == "readonly_api_key":
        return env.headers(team.owner, scopes=("issues:read",), api_key_id="key-1")
    return env.headers(getattr(team, who))


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("owner", 200),
        ("maintainer", 200),
        ("viewer", 200),
        ("admin", 200),
        ("stranger", 404),
        ("readonly_role", 200),
        ("readonly_api_key", 200),
    ],
)
async def test_reading_an_issue(env, seed, who, expected):
    team = await seed()
    issue = await issue_in(env, team)
    r = await env.client.get(f"/api/v1/issues/{issue['id']}", headers=headers_for(env, team, who))
    assert r.status_code == expected
    if expected == 404:
        assert issue["title"] not in r.text


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("owner", 200),
        ("maintainer", 200),
        ("viewer", 403),
        ("admin", 200),
        ("stranger", 404),
        ("readonly_role", 403),
        ("readonly_api_key", 403),
    ],
)
async def test_changing_an_issue(env, seed, who, expected):
    team = await seed()
    issue = await issue_in(env, team)
    r = await env.client.patch(
        f"/api/v1/issues/{issue['id']}",
        json={"title": "changed"},
        headers=headers_for(env, team, who),
    )
    assert r.status_code == expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("maintainer", 201),
        ("viewer", 403),
        ("admin", 201),
        ("stranger", 404),
        ("readonly_role", 403),
    ],
)
async def test_creating_an_issue(env, seed, who, expected):
    team = await seed()
    r = await env.client.post(
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": "t"},
        headers=headers_for(env, team, who),
    )
    assert r.status_code == expected


async def test_stranger_deleting_an_issue_gets_404_and_it_stays(env, seed):
    team = await seed()
    issue = await issue_in(env, team)
    r = await env.client.delete(f"/api/v1/issues/{issue['id']}", headers=env.headers(team.stranger))
    assert r.status_code == 404
    r = await env.client.get(f"/api/v1/issues/{issue['id']}", headers=env.headers(team.owner))
    assert r.status_code == 200


async def test_list_shows_only_issues_of_the_callers_projects(env, seed):
    mine, theirs = await seed(), await seed()
    own = await issue_in(env, mine)
    await issue_in(env, theirs)
    r = await env.client.get("/api/v1/issues", headers=env.headers(mine.viewer))
    assert [i["id"] for i in r.json()["items"]] == [own["id"]]
    r = await env.client.get(
        "/api/v1/issues",
        params={"project_id": theirs.project_id},
        headers=env.headers(mine.viewer),
    )
    assert r.status_code == 404


async def test_admin_lists_issues_of_every_project(env, seed):
    first, second = await seed(), await seed()
    ids = {(await issue_in(env, first))["id"], (await issue_in(env, second))["id"]}
    r = await env.client.get(
        "/api/v1/issues",
        params={"limit": 100},
        headers=env.headers(str(uuid.uuid4()), roles=("admin",)),
    )
    assert ids <= {i["id"] for i in r.json()["items"]}


async def test_request_without_token_answers_401(env):
    r = await env.client.get("/api/v1/issues")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_viewer_cannot_track_or_review_pull_requests(env, seed):
    team = await seed()
    r = await env.client.post(
        "/api/v1/prs",
        json={"project_id": team.project_id, "number": 3, "title": "x"},
        headers=env.headers(team.viewer),
    )
    assert r.status_code == 403
    pr = (
        await env.client.post(
            "/api/v1/prs",
            json={"project_id": team.project_id, "number": 3, "title": "x"},
            headers=env.headers(team.maintainer),
        )
    ).json()
    r = await env.client.post(
        f"/api/v1/prs/{pr['id']}/review", json={"level": "quick"}, headers=env.headers(team.viewer)
    )
    assert r.status_code == 403
    r = await env.client.get(f"/api/v1/prs/{pr['id']}", headers=env.headers(team.stranger))
    assert r.status_code == 404


async def test_api_key_with_a_write_scope_may_change_issues(env, seed):
    team = await seed()
    issue = await issue_in(env, team)
    r = await env.client.patch(
        f"/api/v1/issues/{issue['id']}",
        json={"priority": "high"},
        headers=env.headers(team.maintainer, scopes=("issues:write",), api_key_id="key-2"),
    )
    assert r.status_code == 200
