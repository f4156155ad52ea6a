"""A project's own GitHub token: writers set it, nobody reads it back, sync uses it."""

from __future__ import annotations

from swe_common.testing_github import github_pull

PROJECT_TOKEN = "ghp_projectOwnToken123"


def token_url(team) -> str:
    return f"/api/v1/issues/projects/{team.project_id}/github-token"


async def test_sync_uses_the_projects_own_token_over_the_global_one(env, seed):
    team = await seed(repository_url="https://github.com/acme/own-token")
    r = await env.client.put(
        token_url(team), json={"token": PROJECT_TOKEN}, headers=env.headers(team.owner)
    )
    assert r.status_code == 200, r.text
    pr = await env.client.post(
        "/api/v1/prs",
        json={"project_id": team.project_id, "number": 5, "title": "t"},
        headers=env.headers(team.owner),
    )
    env.github.pulls[("acme", "own-token", 5)] = github_pull("acme", "own-token", 5)
    await env.client.post(f"/api/v1/prs/{pr.json()['id']}/sync", headers=env.headers(team.owner))
    assert env.github.requests[-1]["headers"]["Authorization"] == f"Bearer {PROJECT_TOKEN}"


async def test_a_project_token_github_refuses_is_a_409_for_the_project_not_a_502(env, seed):
    # The fake accepts only the platform's token: the project's own one is refused (401).
    team = await seed(repository_url="https://github.com/acme/refused")
    owner = env.headers(team.owner)
    await env.client.put(token_url(team), json={"token": "ghp_revokedByItsOwner"}, headers=owner)
    pr = await env.client.post(
        "/api/v1/prs",
        json={"project_id": team.project_id, "number": 7, "title": "t"},
        headers=owner,
    )
    env.github.pulls[("acme", "refused", 7)] = github_pull("acme", "refused", 7)
    r = await env.client.post(f"/api/v1/prs/{pr.json()['id']}/sync", headers=owner)
    assert r.status_code == 409, r.text
    assert "project's own token" in r.json()["detail"]


async def test_the_token_is_never_returned(env, seed):
    team = await seed()
    put = await env.client.put(
        token_url(team), json={"token": PROJECT_TOKEN}, headers=env.headers(team.owner)
    )
    got = await env.client.get(token_url(team), headers=env.headers(team.viewer))
    assert PROJECT_TOKEN not in put.text and PROJECT_TOKEN not in got.text
    assert got.json()["configured"] is True


async def test_clearing_the_token_falls_back_to_the_global_one(env, seed):
    team = await seed(repository_url="https://github.com/acme/cleared")
    owner = env.headers(team.owner)
    await env.client.put(token_url(team), json={"token": PROJECT_TOKEN}, headers=owner)
    assert (await env.client.delete(token_url(team), headers=owner)).status_code == 204
    assert (await env.client.get(token_url(team), headers=owner)).json()["configured"] is False
    pr = await env.client.post(
        "/api/v1/prs",
        json={"project_id": team.project_id, "number": 6, "title": "t"},
        headers=owner,
    )
    env.github.pulls[("acme", "cleared", 6)] = github_pull("acme", "cleared", 6)
    r = await env.client.post(f"/api/v1/prs/{pr.json()['id']}/sync", headers=owner)
    assert r.status_code == 200, r.text


async def test_a_viewer_cannot_set_the_token(env, seed):
    team = await seed()
    r = await env.client.put(
        token_url(team), json={"token": PROJECT_TOKEN}, headers=env.headers(team.viewer)
    )
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"


async def test_a_stranger_gets_404(env, seed):
    team = await seed()
    other = await seed()
    r = await env.client.get(token_url(team), headers=env.headers(other.owner))
    assert r.status_code == 404


async def test_a_malformed_token_is_refused_with_422(env, seed):
    team = await seed()
    r = await env.client.put(
        token_url(team), json={"token": "has spaces\n"}, headers=env.headers(team.owner)
    )
    assert r.status_code == 422


def test_production_refuses_the_placeholder_sealing_key():
    import pytest
    from pydantic import ValidationError

    from swe_issues.settings import Settings

    with pytest.raises(ValidationError, match="github_token_key"):
        Settings(environment="production")
