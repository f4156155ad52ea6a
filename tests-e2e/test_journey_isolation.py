"""Journey 4: a second user cannot see, change or stream anything of the first user's project.

The owner builds up one of every resource type (project, member list, issue, pull request and
its review, agent, run with logs and reports, API key, analytics figures). A second user who
knows (guesses) every id gets 404 for each read and each change, sees none of it in lists,
and cannot open either live stream. Afterwards everything is as the owner left it.
"""

from __future__ import annotations

import uuid
from typing import Any

from e2e_support import (
    PlantedRepo,
    Stack,
    User,
    describe,
    expect,
    gateway_client,
    pull_request_payload,
    signed_delivery,
    wait_for_run,
    ws_refused,
)

from swe_common.testing import eventually


async def _owner_world(owner: User, repo: PlantedRepo) -> dict[str, Any]:
    http = owner.http
    project = expect(
        await http.post(
            "/api/v1/projects", json={"name": "private-service", "repository_url": repo.url}
        ),
        201,
    )
    pid = project["id"]
    issue = expect(
        await http.post("/api/v1/issues", json={"project_id": pid, "title": "Secret roadmap"}),
        201,
    )
    pr = expect(
        await http.post(
            "/api/v1/prs",
            json={
                "project_id": pid,
                "number": 3,
                "title": "Private change",
                "base_ref": "main",
                "head_ref": repo.head_ref,
                "base_sha": repo.base_sha,
                "head_sha": repo.head_sha,
            },
        ),
        201,
    )
    agent = expect(
        await http.post(
            "/api/v1/agents", json={"project_id": pid, "name": "owner-bot", "type": "code_analyzer"}
        ),
        201,
    )
    run = expect(await http.post(f"/api/v1/agents/{agent['id']}/start", json={}), 202)
    finished = await wait_for_run(owner, run["id"])
    assert finished["status"] == "completed", finished
    key = expect(
        await http.post(
            "/api/v1/auth/api-keys", json={"name": "owner", "scopes": ["projects:read"]}
        ),
        201,
    )
    return {"project": project, "issue": issue, "pr": pr, "agent": agent, "run": run, "key": key}


async def test_a_second_user_cannot_see_change_or_stream_the_first_users_project(
    make_user: Any, stack: Stack, repo: PlantedRepo
) -> None:
    owner: User = await make_user("heidi")
    intruder: User = await make_user("mallory")
    world = await _owner_world(owner, repo)
    pid, iid, prid = world["project"]["id"], world["issue"]["id"], world["pr"]["id"]
    aid, rid, kid = world["agent"]["id"], world["run"]["id"], world["key"]["id"]

    reads = [
        f"/api/v1/projects/{pid}",
        f"/api/v1/projects/{pid}/members",
        f"/api/v1/issues/{iid}",
        f"/api/v1/prs/{prid}",
        f"/api/v1/prs/{prid}/review",
        f"/api/v1/agents/{aid}",
        f"/api/v1/agents/{aid}/runs",
        f"/api/v1/agents/runs/{rid}",
        f"/api/v1/agents/runs/{rid}/logs",
        f"/api/v1/agents/runs/{rid}/report",
        f"/api/v1/agents/runs/{rid}/sarif",
        f"/api/v1/analytics/projects/{pid}",
        f"/api/v1/analytics/agents/{aid}",
        f"/api/v1/analytics/export?project_id={pid}",
        f"/api/v1/analytics/timeseries/quality_score?project_id={pid}",
        f"/api/v1/issues/stats?project_id={pid}",
        f"/api/v1/prs/stats?project_id={pid}",
    ]
    changes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PATCH", f"/api/v1/projects/{pid}", {"description": "mine now"}),
        ("POST", f"/api/v1/projects/{pid}/webhook-secret/rotate", None),
        ("POST", f"/api/v1/projects/{pid}/members", {"user_id": intruder.id, "role": "viewer"}),
        ("POST", "/api/v1/issues", {"project_id": pid, "title": "planted"}),
        ("PATCH", f"/api/v1/issues/{iid}", {"title": "defaced"}),
        ("POST", f"/api/v1/issues/{iid}/assign", {"agent_id": aid}),
        ("POST", f"/api/v1/issues/{iid}/resolve", {"resolution": "nope"}),
        ("POST", "/api/v1/prs", {"project_id": pid, "number": 99, "title": "planted"}),
        ("PATCH", f"/api/v1/prs/{prid}", {"title": "defaced"}),
        ("POST", f"/api/v1/prs/{prid}/review", {"level": "quick"}),
        ("POST", "/api/v1/agents", {"project_id": pid, "name": "spy", "type": "code_analyzer"}),
        ("PATCH", f"/api/v1/agents/{aid}", {"name": "defaced"}),
        ("POST", f"/api/v1/agents/{aid}/start", {}),
        ("POST", f"/api/v1/agents/{aid}/cancel", None),
        ("POST", f"/api/v1/agents/runs/{rid}/cancel", None),
        ("DELETE", f"/api/v1/auth/api-keys/{kid}", None),
        ("DELETE", f"/api/v1/prs/{prid}", None),
        ("DELETE", f"/api/v1/issues/{iid}", None),
        ("DELETE", f"/api/v1/agents/{aid}", None),
        ("DELETE", f"/api/v1/projects/{pid}/members/{owner.id}", None),
        ("DELETE", f"/api/v1/projects/{pid}", None),
    ]
    leaks = []
    for path in reads:
        response = await intruder.http.get(path)
        if response.status_code != 404:
            leaks.append(describe(response))
    for method, path, body in changes:
        response = await intruder.http.request(method, path, json=body)
        if response.status_code != 404:
            leaks.append(describe(response))

    # A webhook for the owner's project, signed with the secret of the intruder's own project.
    own = expect(
        await intruder.http.post(
            "/api/v1/projects", json={"name": "own-service", "repository_url": repo.url}
        ),
        201,
    )
    payload = pull_request_payload(repo, number=66, owner=intruder.username)
    delivery, headers = signed_delivery(own["webhook_secret"], "pull_request", payload)
    async with gateway_client(stack) as anonymous:
        forged = await anonymous.post(
            f"/api/v1/projects/{pid}/webhooks/github", content=delivery, headers=headers
        )
    if forged.status_code not in (401, 404):
        leaks.append("webhook signed with another project's secret: " + describe(forged))

    # Lists and figures show none of it (the intruder's own project aside).
    lists = {
        "/api/v1/projects": pid,
        "/api/v1/issues": iid,
        "/api/v1/prs": prid,
        "/api/v1/agents": aid,
        "/api/v1/auth/api-keys": kid,
    }
    for path, hidden in lists.items():
        page = expect(await intruder.http.get(path, params={"limit": 100}), 200)
        if any(item["id"] == hidden for item in page["items"]) or (
            path != "/api/v1/projects" and page["total"] != 0
        ):
            leaks.append(f"GET {path} lists the owner's data: {str(page)[:300]}")
    for path in ("/api/v1/issues", "/api/v1/prs", "/api/v1/agents"):
        filtered = await intruder.http.get(path, params={"project_id": pid})
        if filtered.status_code != 404 and (
            filtered.status_code != 200 or filtered.json()["total"] != 0
        ):
            leaks.append("filtered by the owner's project: " + describe(filtered))
    dashboard = expect(await intruder.http.get("/api/v1/analytics/dashboard"), 200)
    if dashboard["projects"] != 1 or dashboard["runs"]["total"] or dashboard["issues"]["total"]:
        leaks.append(f"the dashboard counts the owner's data: {dashboard}")
    # Neither live stream opens, and the refusal is the same as for an id that does not exist
    # (no way to learn that the run or agent is there).
    for real, unknown in (
        (f"/ws/logs/{rid}", f"/ws/logs/{uuid.uuid4()}"),
        (f"/ws/agents/{aid}", f"/ws/agents/{uuid.uuid4()}"),
    ):
        outcome = await ws_refused(stack, real, intruder.access_token)
        baseline = await ws_refused(stack, unknown, intruder.access_token)
        if outcome.startswith("open") or outcome != baseline:
            leaks.append(f"WebSocket {real}: {outcome} (an unknown id gets {baseline})")
    assert not leaks, "the second user reached the first user's project:\n" + "\n".join(leaks)

    # The owner still has everything, unchanged.
    project = expect(await owner.http.get(f"/api/v1/projects/{pid}"), 200)
    assert project["description"] == "" and project["members"] == []
    assert expect(await owner.http.get(f"/api/v1/issues/{iid}"), 200)["title"] == "Secret roadmap"
    assert expect(await owner.http.get(f"/api/v1/prs/{prid}"), 200)["title"] == "Private change"
    agent = expect(await owner.http.get(f"/api/v1/agents/{aid}"), 200)
    assert agent["name"] == "owner-bot" and agent["status"] == "active"
    runs = expect(await owner.http.get(f"/api/v1/agents/{aid}/runs"), 200)
    assert runs["total"] == 1
    keys = expect(await owner.http.get("/api/v1/auth/api-keys"), 200)
    assert [k["id"] for k in keys["items"]] == [kid]
    issues = expect(await owner.http.get("/api/v1/issues", params={"project_id": pid}), 200)
    assert issues["total"] == 1

    # The owner's own streams do open (the refusals above were about ownership).
    async def owner_streams() -> bool:
        return (await ws_refused(stack, f"/ws/agents/{aid}", owner.access_token)).startswith("open")

    assert await eventually(owner_streams, timeout=10)
