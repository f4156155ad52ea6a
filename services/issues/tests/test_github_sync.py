"""POST /prs/{id}/sync and /issues/{id}/sync read GitHub's REST API (a fake speaking its wire
format) and report GitHub's refusals clearly."""

from __future__ import annotations

from swe_common.testing_github import github_issue, github_pull

NEW_HEAD = "bbbbbbb5b57875f334f61aebed695e2e4193db5e"


async def tracked_pr(env, team, number):
    r = await env.client.post(
        "/api/v1/prs",
        json={"project_id": team.project_id, "number": number, "title": "old"},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 201
    return r.json()


async def sync_pr(env, team, pr):
    return await env.client.post(f"/api/v1/prs/{pr['id']}/sync", headers=env.headers(team.owner))


async def test_pr_sync_takes_title_state_refs_and_shas_from_github(env, seed):
    team = await seed(repository_url="https://github.com/acme/sync-one.git")
    pr = await tracked_pr(env, team, 42)
    env.github.pulls[("acme", "sync-one", 42)] = github_pull(
        "acme", "sync-one", 42, title="From GitHub", state="closed", merged=True, head_sha=NEW_HEAD
    )
    r = await sync_pr(env, team, pr)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["title"], body["state"], body["head_sha"], body["author"]) == (
        "From GitHub",
        "merged",
        NEW_HEAD,
        "octocat",
    )
    assert body["url"] == "https://github.com/acme/sync-one/pull/42"
    request = env.github.requests[-1]
    assert request["path"] == "/repos/acme/sync-one/pulls/42"
    assert request["headers"]["Accept"] == "application/vnd.github+json"
    await env.bus.wait_for("issues.pr.updated", id=pr["id"], state="merged")


async def test_pr_sync_of_a_pr_github_does_not_have_answers_404(env, seed):
    team = await seed(repository_url="https://github.com/acme/sync-missing")
    pr = await tracked_pr(env, team, 1)
    r = await sync_pr(env, team, pr)
    assert r.status_code == 404
    assert "GitHub" in r.json()["detail"] and "Not Found" in r.json()["detail"]


async def test_github_rate_limit_answers_503_with_retry_after(env, seed):
    team = await seed(repository_url="https://github.com/acme/sync-limited")
    env.github.rate_limited.add("acme/sync-limited")
    pr = await tracked_pr(env, team, 1)
    r = await sync_pr(env, team, pr)
    assert r.status_code == 503
    assert 1 <= int(r.headers["retry-after"]) <= 120
    body = r.json()
    assert "rate limit" in body["detail"] and body["github_status"] == 403


async def test_github_secondary_rate_limit_answers_503_with_githubs_retry_after(env, seed):
    team = await seed(repository_url="https://github.com/acme/sync-secondary")
    env.github.secondary_limited.add("acme/sync-secondary")
    pr = await tracked_pr(env, team, 1)
    r = await sync_pr(env, team, pr)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "37"
    assert "secondary rate limit" in r.json()["detail"]


async def test_github_unreachable_answers_503(env, seed):
    team = await seed(repository_url="https://github.com/acme/sync-down")
    pr = await tracked_pr(env, team, 1)
    client = env.app.state.github
    saved, client.base_url = client.base_url, "http://127.0.0.1:9"  # discard port: refused
    try:
        r = await sync_pr(env, team, pr)
    finally:
        client.base_url = saved
    assert r.status_code == 503
    assert "GitHub could not be reached" in r.json()["detail"]


async def test_github_refusing_the_token_answers_502_naming_githubs_answer(env, seed):
    team = await seed(repository_url="https://github.com/acme/sync-token")
    pr = await tracked_pr(env, team, 1)
    client = env.app.state.github
    saved, client.token = client.token, "ghs_revoked"
    try:
        r = await sync_pr(env, team, pr)
    finally:
        client.token = saved
    assert r.status_code == 502
    assert "Bad credentials" in r.json()["detail"]
    assert "ghs_" not in r.text


async def test_sync_of_a_project_not_on_github_answers_422(env, seed):
    team = await seed(repository_url="file:///srv/repos/local")
    pr = await tracked_pr(env, team, 1)
    r = await sync_pr(env, team, pr)
    assert r.status_code == 422


async def test_issue_sync_follows_the_github_issue(env, seed):
    team = await seed(repository_url="https://github.com/acme/sync-issue")
    headers = env.headers(team.owner)
    issue = (
        await env.client.post(
            "/api/v1/issues",
            json={"project_id": team.project_id, "title": "old", "github_number": 12},
            headers=headers,
        )
    ).json()
    env.github.issues[("acme", "sync-issue", 12)] = github_issue(
        "acme",
        "sync-issue",
        12,
        title="Upstream title",
        body=None,
        state="closed",
        labels=("enhancement",),
    )
    r = await env.client.post(f"/api/v1/issues/{issue['id']}/sync", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["title"], body["description"], body["status"], body["labels"]) == (
        "Upstream title",
        "",
        "closed",
        ["enhancement"],
    )
    await env.bus.wait_for("issues.issue.closed", id=issue["id"])


async def test_issue_sync_of_an_unlinked_issue_answers_409(env, seed):
    team = await seed()
    headers = env.headers(team.owner)
    issue = (
        await env.client.post(
            "/api/v1/issues", json={"project_id": team.project_id, "title": "x"}, headers=headers
        )
    ).json()
    r = await env.client.post(f"/api/v1/issues/{issue['id']}/sync", headers=headers)
    assert r.status_code == 409


async def test_viewer_cannot_sync(env, seed):
    team = await seed()
    pr = await tracked_pr(env, team, 1)
    r = await env.client.post(f"/api/v1/prs/{pr['id']}/sync", headers=env.headers(team.viewer))
    assert r.status_code == 403
