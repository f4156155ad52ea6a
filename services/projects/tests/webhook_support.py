"""Delivering GitHub webhooks to the projects app as GitHub does: the raw JSON body, signed
with the project's secret (HMAC-SHA256), and GitHub's headers."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

from httpx import AsyncClient, Response

# The repository of GitHub's example payloads (swe_common.testing.github_example).
EXAMPLES_REPOSITORY = "https://github.com/Codertocat/Hello-World"


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
