"""Creating, reading, listing, changing and deleting projects."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import sqlalchemy as sa
from httpx import AsyncClient

from swe_common.testing import running_app
from swe_projects.main import create_app

P_FIELDS = {
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


async def test_create_returns_the_project_with_its_webhook_secret(
    client: AsyncClient, project_body: Any, owner: Any
) -> None:
    body = project_body(settings={"auto_review": True, "review_level": "thorough"})
    response = await client.post("/api/v1/projects", json=body, headers=owner.headers)
    assert response.status_code == 201
    project = response.json()
    assert project["name"] == body["name"]
    assert project["owner_id"] == str(owner.id)
    assert project["enabled"] is True
    assert project["settings"] == {"auto_review": True, "review_level": "thorough"}
    assert project["members"] == []
    assert len(project["webhook_secret"]) == 64
    assert response.headers["cache-control"] == "no-store"
    assert project["webhook_path"] == f"/api/v1/projects/{project['id']}/webhooks/github"


async def test_repository_url_is_stored_in_canonical_form(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    project = await create_project(
        owner, repository_url="https://GitHub.com/octocat/Hello-World.git/"
    )
    assert project["repository_url"] == "https://github.com/octocat/Hello-World"


async def test_get_returns_the_snapshot_fields_and_never_the_secret(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    created = await create_project(owner)
    response = await client.get(f"/api/v1/projects/{created['id']}", headers=owner.headers)
    assert response.status_code == 200
    project = response.json()
    assert set(project) >= P_FIELDS
    assert "webhook_secret" not in project
    assert created["webhook_secret"] not in response.text
    assert project["settings"] == {"auto_review": False, "review_level": "standard"}


async def test_enterprise_host_configured_in_settings_is_accepted(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    project = await create_project(owner, repository_url="https://ghe.example.com/team/svc")
    assert project["repository_url"] == "https://ghe.example.com/team/svc"


async def test_unsafe_repository_url_is_refused_with_a_clear_problem(
    client: AsyncClient, project_body: Any, owner: Any
) -> None:
    for url, reason in [
        ("https://user:token@github.com/octocat/repo", "credentials"),
        ("http://github.com/octocat/repo", "scheme 'http'"),
        ("https://127.0.0.1/octocat/repo", "IP addresses"),
        ("https://gitlab.com/octocat/repo", "not an allowed repository host"),
    ]:
        response = await client.post(
            "/api/v1/projects", json=project_body(repository_url=url), headers=owner.headers
        )
        assert response.status_code == 422, url
        assert response.headers["content-type"] == "application/problem+json"
        assert reason in response.json()["detail"]
        assert response.json()["errors"][0]["field"] == "body.repository_url"


async def test_file_repository_is_refused_when_not_enabled(
    client: AsyncClient, project_body: Any, owner: Any, tmp_path: Any
) -> None:
    response = await client.post(
        "/api/v1/projects",
        json=project_body(repository_url=f"file://{tmp_path}"),
        headers=owner.headers,
    )
    assert response.status_code == 422
    assert "not enabled" in response.json()["detail"]


async def test_branch_names_that_could_be_git_options_are_refused(
    client: AsyncClient, project_body: Any, owner: Any
) -> None:
    for branch in ["--upload-pack=touch", "a..b", "refs//x", "main.lock", "a b"]:
        response = await client.post(
            "/api/v1/projects", json=project_body(default_branch=branch), headers=owner.headers
        )
        assert response.status_code == 422, branch


async def test_names_with_control_characters_are_refused(
    client: AsyncClient, project_body: Any, owner: Any
) -> None:
    response = await client.post(
        "/api/v1/projects", json=project_body(name="bad\x00name"), headers=owner.headers
    )
    assert response.status_code == 422


async def test_a_second_project_with_the_same_name_for_one_owner_conflicts(
    client: AsyncClient, project_body: Any, owner: Any, create_project: Any
) -> None:
    project = await create_project(owner)
    response = await client.post(
        "/api/v1/projects", json=project_body(name=project["name"]), headers=owner.headers
    )
    assert response.status_code == 409
    assert project["name"] in response.json()["detail"]


async def test_patch_changes_only_the_fields_sent(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    project = await create_project(owner, settings={"auto_review": True})
    response = await client.patch(
        f"/api/v1/projects/{project['id']}",
        json={"enabled": False, "settings": {"review_level": "quick"}},
        headers=owner.headers,
    )
    assert response.status_code == 200
    changed = response.json()
    assert changed["enabled"] is False
    assert changed["settings"] == {"auto_review": True, "review_level": "quick"}
    assert changed["name"] == project["name"]
    assert changed["updated_at"] > project["updated_at"]


async def test_patch_validates_a_new_repository_url(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    project = await create_project(owner)
    response = await client.patch(
        f"/api/v1/projects/{project['id']}",
        json={"repository_url": "ssh://git@github.com/octocat/repo"},
        headers=owner.headers,
    )
    assert response.status_code == 422


async def test_patch_refuses_unknown_fields(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    project = await create_project(owner)
    response = await client.patch(
        f"/api/v1/projects/{project['id']}",
        json={"owner_id": str(uuid.uuid4())},
        headers=owner.headers,
    )
    assert response.status_code == 422


async def test_delete_removes_the_project(
    client: AsyncClient, owner: Any, create_project: Any
) -> None:
    project = await create_project(owner)
    response = await client.delete(f"/api/v1/projects/{project['id']}", headers=owner.headers)
    assert response.status_code == 204
    again = await client.get(f"/api/v1/projects/{project['id']}", headers=owner.headers)
    assert again.status_code == 404


async def test_list_shows_only_the_callers_projects_and_paginates(
    client: AsyncClient, make_user: Any, create_project: Any
) -> None:
    me, other = make_user(), make_user()
    mine = [await create_project(me) for _ in range(3)]
    await create_project(other)
    response = await client.get(
        "/api/v1/projects", params={"limit": 2, "sort": "name"}, headers=me.headers
    )
    page = response.json()
    assert response.status_code == 200
    assert page["total"] == 3
    assert page["limit"] == 2
    assert [p["name"] for p in page["items"]] == sorted(p["name"] for p in mine)[:2]
    for item in page["items"]:  # a listed project reads as the project read by id
        read = await client.get(f"/api/v1/projects/{item['id']}", headers=me.headers)
        assert read.json() == item


async def test_list_filters_by_enabled_owner_and_name(
    client: AsyncClient, make_user: Any, create_project: Any
) -> None:
    me = make_user()
    tag = uuid.uuid4().hex[:6]
    on = await create_project(me, name=f"alpha-{tag}")
    off = await create_project(me, name=f"beta-{tag}", enabled=False)

    async def names(**params: Any) -> list[str]:
        response = await client.get("/api/v1/projects", params=params, headers=me.headers)
        assert response.status_code == 200
        return [p["name"] for p in response.json()["items"]]

    assert await names(enabled="false") == [off["name"]]
    assert await names(q=f"ALPHA-{tag}") == [on["name"]]
    assert set(await names(owner_id=str(me.id))) == {on["name"], off["name"]}
    assert await names(owner_id=str(uuid.uuid4())) == []


async def test_list_with_bad_query_values_answers_422_naming_each_field(
    client: AsyncClient, make_user: Any
) -> None:
    response = await client.get(
        "/api/v1/projects",
        params={"enabled": "perhaps", "offset": -1, "owner_id": "7"},
        headers=make_user().headers,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"query.enabled", "query.offset", "query.owner_id"}


async def test_name_search_treats_wildcards_literally(
    client: AsyncClient, make_user: Any, create_project: Any
) -> None:
    me = make_user()
    await create_project(me, name="plain")
    response = await client.get("/api/v1/projects", params={"q": "%"}, headers=me.headers)
    assert response.json()["total"] == 0


async def test_unknown_sort_field_answers_422(client: AsyncClient, owner: Any) -> None:
    response = await client.get(
        "/api/v1/projects", params={"sort": "secret"}, headers=owner.headers
    )
    assert response.status_code == 422
    assert "allowed" in response.json()["detail"]


async def test_requests_without_a_token_answer_401(client: AsyncClient) -> None:
    response = await client.get("/api/v1/projects")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_file_repository_is_accepted_when_enabled(
    settings: Any, tokens: Any, owner: Any, project_body: Any, tmp_path: Any
) -> None:
    app = create_app(settings.model_copy(update={"allow_file_repositories": True}))
    app.state.token_verifier = tokens.verifier()
    repo = tmp_path / "local-repo"
    repo.mkdir()
    async with running_app(app) as local:
        response = await local.post(
            "/api/v1/projects",
            json=project_body(repository_url=f"file://{repo}"),
            headers=owner.headers,
        )
    assert response.status_code == 201, response.text
    assert response.json()["repository_url"] == f"file://{repo}"


async def test_concurrent_creations_with_one_name_give_one_project_and_one_conflict(
    client: AsyncClient, owner: Any, project_body: Any, outbox: Any
) -> None:
    body = project_body()
    responses = await asyncio.gather(
        *(client.post("/api/v1/projects", json=body, headers=owner.headers) for _ in range(2))
    )
    assert sorted(r.status_code for r in responses) == [201, 409]
    async with outbox.engine.connect() as conn:
        published = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM projects.event_outbox WHERE event_type = :type "
                "AND payload->'data'->>'name' = :name"
            ),
            {"type": "projects.project.created", "name": body["name"]},
        )
    assert published == 1


async def test_webhook_secrets_are_never_logged(
    client: AsyncClient, owner: Any, create_project: Any, caplog: Any
) -> None:
    caplog.set_level("DEBUG")
    project = await create_project(owner)
    rotated = await client.post(
        f"/api/v1/projects/{project['id']}/webhook-secret/rotate", headers=owner.headers
    )
    secrets = [project["webhook_secret"], rotated.json()["webhook_secret"]]
    assert caplog.records, "nothing was logged, so the check below would prove nothing"
    assert not any(secret in caplog.text for secret in secrets)
