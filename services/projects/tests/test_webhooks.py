"""GitHub webhooks: signed per project, de-duplicated, forwarded as projects.webhook.received.

Payloads are GitHub's published examples (swe_common.testing.github_example), signed with real
HMAC-SHA256.
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from httpx import AsyncClient
from webhook_support import EXAMPLES_REPOSITORY, deliver, sign

from swe_common.db import Database
from swe_common.testing import github_example
from swe_projects.settings import Settings
from swe_projects.webhooks.retention import prune_once


def issue_opened() -> dict[str, Any]:
    return github_example("issues.opened")


def pull_request_event(action: str) -> dict[str, Any]:
    return github_example(f"pull_request.{action}")


def ping() -> dict[str, Any]:
    return github_example("ping")


@pytest.fixture
async def project(owner: Any, create_project: Any) -> dict[str, Any]:
    return await create_project(owner, repository_url=EXAMPLES_REPOSITORY)


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
    client: AsyncClient, owner: Any, create_project: Any, outbox: Any
) -> None:
    # GitHub's ping example comes from Octocoders/Hello-World.
    project = await create_project(
        owner, repository_url="https://github.com/Octocoders/Hello-World"
    )
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
    body = (
        b'{"action": "opened", "issue": {"title": "nul \\u0000 and \\ud800 lone"},'
        b' "repository": {"html_url": "https://github.com/Codertocat/Hello-World"}}'
    )
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
