"""Issues: create, read, list (filters, search, sort, pages), update, delete, stats."""

from __future__ import annotations

import uuid

PROBLEM = "application/problem+json"


async def create(env, team, user=None, **fields):
    body = {"project_id": team.project_id, "title": "Crash on save", **fields}
    response = await env.client.post(
        "/api/v1/issues", json=body, headers=env.headers(user or team.owner)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_issue_returns_it_open_with_defaults_and_publishes_created(env, seed):
    team = await seed()
    issue = await create(env, team, description="Stack trace attached", labels=["bug", "ui"])
    assert issue["status"] == "open"
    assert issue["priority"] == "medium"
    assert issue["labels"] == ["bug", "ui"]
    assert issue["created_by"] == team.owner
    event = await env.bus.wait_for("issues.issue.created", id=issue["id"])
    assert event["subject"] == issue["id"]
    assert set(event["data"]) == {
        "id",
        "project_id",
        "title",
        "description",
        "status",
        "priority",
        "labels",
        "assigned_agent_id",
        "assignee_id",
        "created_by",
        "created_at",
        "updated_at",
        "resolved_at",
    }
    assert event["data"]["project_id"] == team.project_id


async def test_get_issue_returns_what_was_created(env, seed):
    team = await seed()
    issue = await create(env, team, priority="high")
    response = await env.client.get(
        f"/api/v1/issues/{issue['id']}", headers=env.headers(team.owner)
    )
    assert response.status_code == 200
    assert response.json() == issue


async def test_create_issue_with_bad_input_answers_422_naming_the_fields(env, seed):
    team = await seed()
    response = await env.client.post(
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": "  ", "priority": "urgent"},
        headers=env.headers(team.owner),
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM)
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"body.title", "body.priority"} <= fields


async def test_text_with_nul_characters_is_refused_with_422(env, seed):
    team = await seed()
    response = await env.client.post(
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": "a\u0000b"},
        headers=env.headers(team.owner),
    )
    assert response.status_code == 422


async def test_create_issue_in_unknown_project_answers_404(env):
    response = await env.client.post(
        "/api/v1/issues",
        json={"project_id": str(uuid.uuid4()), "title": "x"},
        headers=env.headers(str(uuid.uuid4())),
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_create_issue_in_disabled_project_answers_409(env, seed):
    team = await seed(enabled=False)
    response = await env.client.post(
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": "x"},
        headers=env.headers(team.owner),
    )
    assert response.status_code == 409
    assert "disabled" in response.json()["detail"]


async def test_list_filters_by_status_priority_labels_and_agent(env, seed):
    team = await seed()
    low = await create(env, team, title="low one", priority="low", labels=["ui"])
    high = await create(env, team, title="high one", priority="high", labels=["ui", "bug"])
    agent = str(uuid.uuid4())
    await env.client.post(
        f"/api/v1/issues/{high['id']}/assign",
        json={"agent_id": agent},
        headers=env.headers(team.owner),
    )
    base = {"project_id": team.project_id}
    headers = env.headers(team.owner)

    async def ids(**params):
        r = await env.client.get("/api/v1/issues", params={**base, **params}, headers=headers)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert await ids(priority="low") == [low["id"]]
    assert await ids(status="in_progress") == [high["id"]]
    assert await ids(labels=["ui", "bug"]) == [high["id"]]
    assert sorted(await ids(labels=["ui"])) == sorted([low["id"], high["id"]])
    assert await ids(assigned_agent_id=agent) == [high["id"]]


async def test_list_searches_title_and_description_text(env, seed):
    team = await seed()
    hit = await create(env, team, title="Login fails", description="after 100% of retries")
    await create(env, team, title="Other thing")
    headers = env.headers(team.owner)
    for q in ("login", "100%"):
        r = await env.client.get(
            "/api/v1/issues", params={"project_id": team.project_id, "q": q}, headers=headers
        )
        assert [i["id"] for i in r.json()["items"]] == [hit["id"]]
    r = await env.client.get(
        "/api/v1/issues", params={"project_id": team.project_id, "q": "%"}, headers=headers
    )
    assert [i["id"] for i in r.json()["items"]] == [hit["id"]]


async def test_list_sorts_by_priority_and_paginates_with_total(env, seed):
    team = await seed()
    for priority in ("low", "critical", "medium", "high"):
        await create(env, team, title=priority, priority=priority)
    r = await env.client.get(
        "/api/v1/issues",
        params={"project_id": team.project_id, "sort": "-priority", "limit": 2, "offset": 1},
        headers=env.headers(team.owner),
    )
    body = r.json()
    assert body["total"] == 4
    assert [i["priority"] for i in body["items"]] == ["high", "medium"]
    assert (body["limit"], body["offset"]) == (2, 1)


async def test_list_with_unknown_sort_field_answers_422_naming_allowed(env, seed):
    team = await seed()
    r = await env.client.get(
        "/api/v1/issues", params={"sort": "secret"}, headers=env.headers(team.owner)
    )
    assert r.status_code == 422
    assert "priority" in r.json()["detail"]


async def test_list_with_bad_query_values_answers_422_naming_each_field(env, seed):
    # The list's query parameters are read by swe_common.route_facts: the same problem as
    # FastAPI's own reading, every bad field named.
    team = await seed()
    r = await env.client.get(
        "/api/v1/issues",
        params={"status": "nope", "limit": 0, "project_id": "not-a-uuid", "labels": ["ok"]},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"query.status", "query.limit", "query.project_id"}


async def test_patch_changes_only_the_fields_sent_and_publishes_updated(env, seed):
    team = await seed()
    issue = await create(env, team, description="keep me")
    r = await env.client.patch(
        f"/api/v1/issues/{issue['id']}",
        json={"title": "New title", "labels": ["a", "a", "b"]},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["title"], body["description"], body["labels"]) == (
        "New title",
        "keep me",
        ["a", "b"],
    )
    event = await env.bus.wait_for("issues.issue.updated", id=issue["id"])
    assert event["data"]["title"] == "New title"


async def test_patch_with_unknown_field_answers_422(env, seed):
    team = await seed()
    issue = await create(env, team)
    r = await env.client.patch(
        f"/api/v1/issues/{issue['id']}",
        json={"project_id": str(uuid.uuid4())},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 422


async def test_delete_removes_the_issue_and_publishes_deleted(env, seed):
    team = await seed()
    issue = await create(env, team)
    headers = env.headers(team.owner)
    r = await env.client.delete(f"/api/v1/issues/{issue['id']}", headers=headers)
    assert r.status_code == 204
    assert (
        await env.client.get(f"/api/v1/issues/{issue['id']}", headers=headers)
    ).status_code == 404
    event = await env.bus.wait_for("issues.issue.deleted", id=issue["id"])
    assert event["data"] == {"id": issue["id"], "project_id": team.project_id}


async def test_stats_count_by_status_and_priority_with_mean_time_to_resolve(env, seed):
    team = await seed()
    headers = env.headers(team.owner)
    first = await create(env, team, priority="high")
    await create(env, team, priority="low")
    await env.client.post(
        f"/api/v1/issues/{first['id']}/assign",
        json={"agent_id": str(uuid.uuid4())},
        headers=headers,
    )
    await env.client.post(
        f"/api/v1/issues/{first['id']}/resolve", json={"resolution": "fixed"}, headers=headers
    )
    r = await env.client.get(
        "/api/v1/issues/stats", params={"project_id": team.project_id}, headers=headers
    )
    assert r.status_code == 200, r.text
    stats = r.json()
    assert stats["total"] == 2
    assert stats["by_status"] == {
        "open": 1,
        "in_progress": 0,
        "in_review": 0,
        "resolved": 1,
        "closed": 0,
    }
    assert stats["by_priority"] == {"low": 1, "medium": 0, "high": 1, "critical": 0}
    assert stats["resolved_count"] == 1
    assert stats["mean_time_to_resolve_seconds"] >= 0


async def test_stats_without_project_cover_only_the_callers_projects(env, seed):
    mine = await seed()
    theirs = await seed()
    await create(env, mine)
    await create(env, theirs)
    await create(env, theirs)
    r = await env.client.get("/api/v1/issues/stats", headers=env.headers(mine.owner))
    assert r.json()["total"] == 1


async def test_events_carry_the_request_id_that_caused_them(env, seed):
    team = await seed()
    response = await env.client.post(
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": "traced"},
        headers={**env.headers(team.owner), "X-Request-ID": "req-issues-42"},
    )
    event = await env.bus.wait_for("issues.issue.created", id=response.json()["id"])
    assert event["correlationid"] == "req-issues-42"
    assert event["source"] == "/swe/issues"
