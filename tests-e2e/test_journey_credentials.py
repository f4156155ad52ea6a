"""Journey 3: credentials a user hands out, and takes back.

An API key with read-only scopes lists but cannot change anything; a revoked key stops working
at once; after logout the old access token no longer passes the gateway.
"""

from __future__ import annotations

from typing import Any

import httpx
from e2e_support import User, describe, expect

from swe_common.testing import eventually

READ_SCOPES = ["projects:read", "issues:read", "agents:read", "analytics:read"]


async def _project_with_an_issue(user: User, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    project = expect(
        await user.http.post(
            "/api/v1/projects",
            json={"name": name, "repository_url": f"https://github.com/e2e/{name}"},
        ),
        201,
    )
    issue = expect(
        await user.http.post(
            "/api/v1/issues", json={"project_id": project["id"], "title": "Flaky login test"}
        ),
        201,
    )
    return project, issue


async def test_a_read_only_api_key_lists_but_cannot_change(
    make_user: Any, anonymous: httpx.AsyncClient
) -> None:
    user: User = await make_user("dave")
    project, issue = await _project_with_an_issue(user, "read-only-target")
    key = expect(
        await user.http.post(
            "/api/v1/auth/api-keys", json={"name": "dashboard", "scopes": READ_SCOPES}
        ),
        201,
    )
    assert sorted(key["scopes"]) == sorted(READ_SCOPES) and key["key"]
    as_key = {"X-API-Key": key["key"]}

    projects = expect(await anonymous.get("/api/v1/projects", headers=as_key), 200)
    assert [p["id"] for p in projects["items"]] == [project["id"]]
    issues = expect(await anonymous.get("/api/v1/issues", headers=as_key), 200)
    assert [i["id"] for i in issues["items"]] == [issue["id"]]
    expect(await anonymous.get("/api/v1/agents", headers=as_key), 200)
    expect(await anonymous.get("/api/v1/analytics/dashboard", headers=as_key), 200)

    changes = [
        ("POST", "/api/v1/projects", {"name": "x", "repository_url": "https://github.com/e2e/x"}),
        ("PATCH", f"/api/v1/projects/{project['id']}", {"description": "changed by a key"}),
        ("DELETE", f"/api/v1/projects/{project['id']}", None),
        ("POST", "/api/v1/issues", {"project_id": project["id"], "title": "by a key"}),
        ("PATCH", f"/api/v1/issues/{issue['id']}", {"title": "changed by a key"}),
        ("DELETE", f"/api/v1/issues/{issue['id']}", None),
        (
            "POST",
            "/api/v1/agents",
            {"project_id": project["id"], "name": "k", "type": "code_analyzer"},
        ),
        ("POST", "/api/v1/auth/api-keys", {"name": "another", "scopes": ["projects:write"]}),
    ]
    allowed = []
    for method, path, body in changes:
        response = await anonymous.request(method, path, json=body, headers=as_key)
        if response.status_code != 403:
            allowed.append(describe(response))
    assert not allowed, "a read-only key was not refused with 403:\n" + "\n".join(allowed)

    # Nothing changed.
    after = expect(await user.http.get(f"/api/v1/projects/{project['id']}"), 200)
    assert after["description"] == project["description"]
    still = expect(await user.http.get(f"/api/v1/issues/{issue['id']}"), 200)
    assert still["title"] == issue["title"]


async def test_a_revoked_api_key_stops_working_at_once(
    make_user: Any, anonymous: httpx.AsyncClient
) -> None:
    user: User = await make_user("frank")
    await _project_with_an_issue(user, "revoked-key-target")
    key = expect(
        await user.http.post(
            "/api/v1/auth/api-keys", json={"name": "ci", "scopes": ["projects:read"]}
        ),
        201,
    )
    as_key = {"X-API-Key": key["key"]}
    expect(await anonymous.get("/api/v1/projects", headers=as_key), 200)  # warms any cache

    expect(await user.http.delete(f"/api/v1/auth/api-keys/{key['id']}"), 204)

    response = await anonymous.get("/api/v1/projects", headers=as_key)
    assert response.status_code == 401, "the revoked key still works: " + describe(response)
    assert response.headers["content-type"].startswith("application/problem+json")
    listed = expect(await user.http.get("/api/v1/auth/api-keys"), 200)
    assert key["id"] not in [k["id"] for k in listed["items"]]


async def test_logout_makes_the_old_access_token_fail_at_the_gateway(
    make_user: Any, stack: Any
) -> None:
    user: User = await make_user("grace")
    expect(await user.http.get("/api/v1/projects"), 200)
    expect(await user.http.get("/api/v1/auth/me"), 200)

    expect(
        await user.http.post("/api/v1/auth/logout", json={"refresh_token": user.refresh_token}),
        204,
    )

    # The gateway re-checks a cached token's revocation at most about a second apart.
    async def refused() -> httpx.Response | None:
        response = await user.http.get("/api/v1/projects")
        return response if response.status_code == 401 else None

    response = await eventually(refused, timeout=5, interval=0.1)
    assert response.json()["status"] == 401
    for path in ("/api/v1/auth/me", "/api/v1/issues", "/api/v1/agents", "/api/v1/prs"):
        again = await user.http.get(path)
        assert again.status_code == 401, describe(again)
    # And the refresh token of that session is dead too.
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as anonymous:
        refreshed = await anonymous.post(
            "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
        )
    assert refreshed.status_code == 401, describe(refreshed)
