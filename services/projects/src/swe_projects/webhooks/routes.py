"""POST /api/v1/projects/{id}/webhooks/github: public, authenticated by GitHub's signature."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from swe_common.deps import SessionDep
from swe_common.errors import AppError
from swe_common.security import api_key_scope
from swe_common.types import Name
from swe_projects.deps import SecretBoxDep, SettingsDep, WebhookBudgetDep
from swe_projects.webhooks import service

# Public (GitHub's signature authenticates it); the guard matters only to an API-key token.
router = APIRouter(
    prefix="/api/v1/projects", tags=["webhooks"], dependencies=[api_key_scope("projects")]
)
# As a body-limit pattern (ServiceSpec.body_limits): one path segment per ``*``.
WEBHOOK_PATH = "/api/v1/projects/*/webhooks/github"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Content Too Large"


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body (the signature covers its exact bytes), refused past ``limit`` bytes
    without reading further."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Webhook bodies are limited to {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Webhook bodies are limited to {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/{project_id}/webhooks/github",
    status_code=202,
    summary="Receive a GitHub webhook delivery (no bearer token: signed with the secret)",
    responses={
        200: {
            "description": "ping answered (pong), a delivery id seen before (duplicate), an "
            "event or action that changes nothing here (ignored), or a delivery older than one "
            "already applied to the same issue or pull request (stale)"
        },
        401: {"description": "missing or wrong X-Hub-Signature-256"},
        413: {"description": "body too large"},
        422: {"description": "the payload is about another repository than the project's"},
        429: {"description": "the project's budget of signed deliveries is spent"},
    },
)
async def receive_github_webhook(
    project_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    box: SecretBoxDep,
    budget: WebhookBudgetDep,
    x_hub_signature_256: Annotated[Name | None, Header()] = None,
    x_github_event: Annotated[Name | None, Header()] = None,
    x_github_delivery: Annotated[Name | None, Header()] = None,
) -> JSONResponse:
    body = await read_body(request, settings.webhook_max_body_bytes)
    delivery = service.Delivery(
        body=body,
        signature=x_hub_signature_256,
        event=x_github_event,
        delivery_id=x_github_delivery,
        content_type=request.headers.get("content-type", "application/json"),
    )
    outcome = await service.receive(session, project_id, delivery, box, budget)
    content = {"status": outcome.status, "delivery_id": outcome.delivery_id}
    if outcome.reason:
        content["reason"] = outcome.reason
    return JSONResponse(content, status_code=outcome.http_status)
