"""GitHub webhooks: signed per project, de-duplicated, forwarded as projects.webhook.received.

Payloads follow the shape of GitHub's documented examples (issues/opened,
pull_request/opened and pull_request/synchronize) and are signed with real HMAC-SHA256.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import urllib.parse
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from httpx import AsyncClient, Response

from swe_common.db import Database
from swe_projects.settings import Settings
from swe_projects.webhooks.retention import prune_once


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def deliver(
    client: AsyncClient,
    project: dict[str, Any],
    event: str,
    payload: dict[str, Any],
    *,
    secret: str | None = None,
    delivery_id: str | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    raw = body if body is not None else json.dumps(payload).encode()
    all_headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/a5788b1",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": sign(secret or project["webhook_secret"], raw),
        **(headers or {}),
    }
    return await client.post(
        f"/api/v1/projects/{project['id']}/webhooks/github", content=raw, headers=all_headers
    )


@pytest.fixture
async def project(owner: Any, create_project: Any) -> dict[str, Any]:
    return await create_project(owner)  # type: ignore[no-any-return]


async def test_a_signed_issue_delivery_is_accepted_and_published(
    client: AsyncClient, project: dict[str, Any], event_tap: Any
) -> None:
    payload = issue_opened()
    response = await deliver(client, project, "issues", payload, delivery_id="d-issue-1")
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "delivery_id": "d-issue-1"}
    [event] = await event_tap.wait_for(project["id"], "projects.webhook.received")
    assert event["data"] == {
        "project_id": project["id"],
        "delivery_id": "d-issue-1",
        "event": "issues",
        "action": "opened",
        "payload": payload,
    }


async def test_pull_request_opened_and_synchronize_are_published_in_order(
    client: AsyncClient, project: dict[str, Any], event_tap: Any
) -> None:
    opened = pull_request_event("opened")
    synced = pull_request_event("synchronize")
    assert (await deliver(client, project, "pull_request", opened)).status_code == 202
    assert (await deliver(client, project, "pull_request", synced)).status_code == 202
    first, second = await event_tap.wait_for(project["id"], "projects.webhook.received", 2)
    assert (first["data"]["action"], second["data"]["action"]) == ("opened", "synchronize")
    assert second["data"]["payload"]["after"] == synced["after"]
    assert second["data"]["payload"]["pull_request"]["head"]["sha"] == synced["after"]


async def test_a_form_encoded_delivery_is_accepted(
    client: AsyncClient, project: dict[str, Any], outbox: Any
) -> None:
    payload = issue_opened()
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    response = await deliver(
        client,
        project,
        "issues",
        payload,
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 202
    [event] = [e for e in await outbox.events(project["id"]) if "webhook" in e["type"]]
    assert event["data"]["payload"] == payload


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "sha1=0123456789abcdef0123456789abcdef01234567",
        "sha256=" + "0" * 64,
        "sha256=nothex",
    ],
)
async def test_a_missing_or_wrong_signature_answers_401(
    client: AsyncClient, project: dict[str, Any], outbox: Any, signature: str | None
) -> None:
    raw = json.dumps(issue_opened()).encode()
    headers = {
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    response = await client.post(
        f"/api/v1/projects/{project['id']}/webhooks/github", content=raw, headers=headers
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert await outbox.types(project["id"]) == ["projects.project.created"]


async def test_a_body_changed_after_signing_answers_401(
    client: AsyncClient, project: dict[str, Any]
) -> None:
    raw = json.dumps(issue_opened()).encode()
    tampered = raw.replace(b"Spelling error", b"Something else")
    response = await client.post(
        f"/api/v1/projects/{project['id']}/webhooks/github",
        content=tampered,
        headers={
            "X-GitHub-Event": "issues",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": sign(project["webhook_secret"], raw),
        },
    )
    assert response.status_code == 401


async def test_a_delivery_signed_with_another_projects_secret_answers_401(
    client: AsyncClient, project: dict[str, Any], owner: Any, create_project: Any
) -> None:
    other = await create_project(owner)
    response = await deliver(
        client, project, "issues", issue_opened(), secret=other["webhook_secret"]
    )
    assert response.status_code == 401


async def test_ping_is_answered_with_200_and_not_published(
    client: AsyncClient, project: dict[str, Any], outbox: Any
) -> None:
    response = await deliver(client, project, "ping", ping())
    assert response.status_code == 200
    assert response.json()["status"] == "pong"
    assert await outbox.types(project["id"]) == ["projects.project.created"]


async def test_a_repeated_delivery_is_acknowledged_once_and_published_once(
    client: AsyncClient, project: dict[str, Any], outbox: Any
) -> None:
    payload = issue_opened()
    first = await deliver(client, project, "issues", payload, delivery_id="d-repeat")
    again = await deliver(client, project, "issues", payload, delivery_id="d-repeat")
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    types = await outbox.types(project["id"])
    assert types.count("projects.webhook.received") == 1


async def test_a_delivery_repeated_concurrently_is_published_once(
    client: AsyncClient, project: dict[str, Any], outbox: Any
) -> None:
    payload = pull_request_event("opened")
    responses = await asyncio.gather(
        *(deliver(client, project, "pull_request", payload, delivery_id="d-race") for _ in range(3))
    )
    assert sorted(r.status_code for r in responses) == [200, 200, 202]
    types = await outbox.types(project["id"])
    assert types.count("projects.webhook.received") == 1


async def test_an_oversized_body_answers_413(client: AsyncClient, project: dict[str, Any]) -> None:
    payload = issue_opened()
    payload["issue"]["body"] = "x" * 70_000
    response = await deliver(client, project, "issues", payload)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


async def test_events_the_platform_does_not_use_are_acknowledged_not_published(
    client: AsyncClient, project: dict[str, Any], outbox: Any
) -> None:
    response = await deliver(client, project, "push", {"ref": "refs/heads/main"})
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert await outbox.types(project["id"]) == ["projects.project.created"]


async def test_deliveries_to_a_disabled_project_are_not_published(
    client: AsyncClient, project: dict[str, Any], owner: Any, outbox: Any
) -> None:
    await client.patch(
        f"/api/v1/projects/{project['id']}", json={"enabled": False}, headers=owner.headers
    )
    response = await deliver(client, project, "issues", issue_opened())
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert "projects.webhook.received" not in await outbox.types(project["id"])


async def test_a_signed_delivery_without_event_headers_answers_400(
    client: AsyncClient, project: dict[str, Any]
) -> None:
    response = await deliver(
        client, project, "issues", issue_opened(), headers={"X-GitHub-Event": "Not An Event"}
    )
    assert response.status_code == 400


async def test_a_signed_body_that_is_not_json_answers_400(
    client: AsyncClient, project: dict[str, Any]
) -> None:
    for body in [b"{not json", b"[1, 2]", b'{"a": NaN}', b"\xff\xfe"]:
        response = await deliver(client, project, "issues", {}, body=body)
        assert response.status_code == 400, body


async def test_text_postgres_cannot_store_is_kept_harmlessly(
    client: AsyncClient, project: dict[str, Any], outbox: Any
) -> None:
    body = b'{"action": "opened", "issue": {"title": "nul \\u0000 and \\ud800 lone"}}'
    response = await deliver(client, project, "issues", {}, body=body)
    assert response.status_code == 202
    [event] = [e for e in await outbox.events(project["id"]) if "webhook" in e["type"]]
    assert event["data"]["payload"]["issue"]["title"].startswith("nul \ufffd and")


async def test_an_unknown_project_answers_404(client: AsyncClient, project: dict[str, Any]) -> None:
    response = await deliver(client, {**project, "id": str(uuid.uuid4())}, "ping", ping())
    assert response.status_code == 404


async def test_rotation_returns_a_new_secret_once_and_the_old_one_stops_working(
    client: AsyncClient, project: dict[str, Any], owner: Any
) -> None:
    response = await client.post(
        f"/api/v1/projects/{project['id']}/webhook-secret/rotate", headers=owner.headers
    )
    assert response.status_code == 200
    new_secret = response.json()["webhook_secret"]
    assert new_secret != project["webhook_secret"]
    old = await deliver(client, project, "issues", issue_opened())
    assert old.status_code == 401
    new = await deliver(client, project, "issues", issue_opened(), secret=new_secret)
    assert new.status_code == 202
    fetched = await client.get(f"/api/v1/projects/{project['id']}", headers=owner.headers)
    assert new_secret not in fetched.text
    assert (
        fetched.json()["webhook_secret_rotated_at"] == response.json()["webhook_secret_rotated_at"]
    )


async def test_the_secret_is_stored_encrypted(project: dict[str, Any], outbox: Any) -> None:
    async with outbox.engine.connect() as conn:
        stored = await conn.scalar(
            sa.text("SELECT webhook_secret_encrypted FROM projects.projects WHERE id = :id"),
            {"id": project["id"]},
        )
    assert project["webhook_secret"].encode() not in stored
    assert bytes.fromhex(project["webhook_secret"]) not in stored


# GitHub-shaped payloads (fields as in GitHub's documented webhook examples).

HEAD_BEFORE = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
HEAD_AFTER = "34c5c7793cb3b279e22454cb6750c80560547b3a"
BASE_SHA = "9049f1265b7d61be4a8904a9a27120d2064dab3b"


def _user(login: str = "Codertocat", user_id: int = 21031067) -> dict[str, Any]:
    return {
        "login": login,
        "id": user_id,
        "node_id": "MDQ6VXNlcjIxMDMxMDY3",
        "avatar_url": "https://avatars1.githubusercontent.com/u/21031067?v=4",
        "gravatar_id": "",
        "url": f"https://api.github.com/users/{login}",
        "html_url": f"https://github.com/{login}",
        "type": "User",
        "site_admin": False,
    }


def _repository() -> dict[str, Any]:
    return {
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": "Hello-World",
        "full_name": "Codertocat/Hello-World",
        "private": False,
        "owner": _user(),
        "html_url": "https://github.com/Codertocat/Hello-World",
        "description": None,
        "fork": False,
        "url": "https://api.github.com/repos/Codertocat/Hello-World",
        "created_at": "2019-05-15T15:19:25Z",
        "updated_at": "2019-05-15T15:19:27Z",
        "pushed_at": "2019-05-15T15:20:32Z",
        "clone_url": "https://github.com/Codertocat/Hello-World.git",
        "default_branch": "main",
        "open_issues_count": 1,
        "visibility": "public",
    }


def issue_opened() -> dict[str, Any]:
    return {
        "action": "opened",
        "issue": {
            "url": "https://api.github.com/repos/Codertocat/Hello-World/issues/1",
            "repository_url": "https://api.github.com/repos/Codertocat/Hello-World",
            "html_url": "https://github.com/Codertocat/Hello-World/issues/1",
            "id": 444500041,
            "node_id": "MDU6SXNzdWU0NDQ1MDAwNDE=",
            "number": 1,
            "title": "Spelling error in the README file",
            "user": _user(),
            "labels": [
                {
                    "id": 1362934389,
                    "node_id": "MDU6TGFiZWwxMzYyOTM0Mzg5",
                    "url": "https://api.github.com/repos/Codertocat/Hello-World/labels/bug",
                    "name": "bug",
                    "color": "d73a4a",
                    "default": True,
                    "description": "Something isn't working",
                }
            ],
            "state": "open",
            "locked": False,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": 0,
            "created_at": "2019-05-15T15:20:18Z",
            "updated_at": "2019-05-15T15:20:18Z",
            "closed_at": None,
            "author_association": "OWNER",
            "active_lock_reason": None,
            "body": "It looks like you accidently spelled 'commit' with two 't's.",
            "state_reason": None,
        },
        "repository": _repository(),
        "sender": _user(),
    }


def pull_request_event(action: str) -> dict[str, Any]:
    head_sha = HEAD_AFTER if action == "synchronize" else HEAD_BEFORE
    payload: dict[str, Any] = {
        "action": action,
        "number": 2,
        "pull_request": {
            "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2",
            "id": 279147437,
            "node_id": "MDExOlB1bGxSZXF1ZXN0Mjc5MTQ3NDM3",
            "html_url": "https://github.com/Codertocat/Hello-World/pull/2",
            "diff_url": "https://github.com/Codertocat/Hello-World/pull/2.diff",
            "patch_url": "https://github.com/Codertocat/Hello-World/pull/2.patch",
            "number": 2,
            "state": "open",
            "locked": False,
            "title": "Update the README with new information.",
            "user": _user(),
            "body": "This is a pretty simple change that we need to pull into main.",
            "created_at": "2019-05-15T15:20:33Z",
            "updated_at": "2019-05-15T15:20:33Z",
            "closed_at": None,
            "merged_at": None,
            "merge_commit_sha": None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "labels": [],
            "draft": False,
            "head": {
                "label": "Codertocat:changes",
                "ref": "changes",
                "sha": head_sha,
                "user": _user(),
                "repo": _repository(),
            },
            "base": {
                "label": "Codertocat:main",
                "ref": "main",
                "sha": BASE_SHA,
                "user": _user(),
                "repo": _repository(),
            },
            "author_association": "OWNER",
            "merged": False,
            "mergeable": None,
            "mergeable_state": "unknown",
            "merged_by": None,
            "comments": 0,
            "review_comments": 0,
            "commits": 1 if action == "opened" else 2,
            "additions": 1,
            "deletions": 1,
            "changed_files": 1,
        },
        "repository": _repository(),
        "sender": _user(),
    }
    if action == "synchronize":
        payload["before"] = HEAD_BEFORE
        payload["after"] = HEAD_AFTER
    return payload


def ping() -> dict[str, Any]:
    return {
        "zen": "Responsive is better than fast.",
        "hook_id": 292430182,
        "hook": {
            "type": "Repository",
            "id": 292430182,
            "name": "web",
            "active": True,
            "events": ["issues", "pull_request"],
            "config": {"content_type": "json", "insecure_ssl": "0", "url": "https://example.com"},
        },
        "repository": _repository(),
        "sender": _user(),
    }


async def test_delivery_ids_older_than_the_retention_are_forgotten(
    client: AsyncClient, project: dict[str, Any], database_url: str, outbox: Any
) -> None:
    await deliver(client, project, "issues", issue_opened(), delivery_id="d-old")
    await deliver(client, project, "issues", issue_opened(), delivery_id="d-new")
    async with outbox.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE projects.webhook_deliveries SET received_at = now() - interval '40 days'"
                " WHERE project_id = :id AND delivery_id = 'd-old'"
            ),
            {"id": project["id"]},
        )
    db = Database(Settings(database_url=database_url))
    try:
        assert await prune_once(db, retention_days=30) >= 1
    finally:
        await db.dispose()
    async with outbox.engine.connect() as conn:
        kept = await conn.scalars(
            sa.text("SELECT delivery_id FROM projects.webhook_deliveries WHERE project_id = :id"),
            {"id": project["id"]},
        )
        assert list(kept) == ["d-new"]


async def test_deleting_a_project_with_members_and_deliveries_removes_them_all(
    client: AsyncClient,
    project: dict[str, Any],
    owner: Any,
    make_user: Any,
    add_member: Any,
    outbox: Any,
) -> None:
    await add_member(project, owner, make_user(), "viewer")
    await deliver(client, project, "issues", issue_opened())
    response = await client.delete(f"/api/v1/projects/{project['id']}", headers=owner.headers)
    assert response.status_code == 204
    async with outbox.engine.connect() as conn:
        for table in ("project_members", "webhook_deliveries"):
            left = await conn.scalar(
                sa.text(f"SELECT count(*) FROM projects.{table} WHERE project_id = :id"),
                {"id": project["id"]},
            )
            assert left == 0, table
    after = await deliver(client, project, "issues", issue_opened())
    assert after.status_code == 404
