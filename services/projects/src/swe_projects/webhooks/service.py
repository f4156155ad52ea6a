"""Receiving GitHub webhooks: verify, de-duplicate, and hand issue and pull-request deliveries
to the rest of the platform as ``projects.webhook.received`` (the secret never leaves here)."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.errors import BadRequest, NotFound, Unauthorized
from swe_projects import events
from swe_projects.crypto import SecretBox
from swe_projects.webhooks import repository, signatures

log = structlog.stdlib.get_logger(__name__)

FORWARDED_EVENTS = frozenset({"issues", "pull_request"})
MAX_DEPTH = 64
_EVENT_NAME = re.compile(r"^[a-z_]{1,50}$")
_DELIVERY_ID = re.compile(r"^[A-Za-z0-9-]{1,100}$")


@dataclass(frozen=True, slots=True)
class Delivery:
    body: bytes
    signature: str | None
    event: str | None
    delivery_id: str | None
    content_type: str


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # accepted | duplicate | pong | ignored
    http_status: int
    delivery_id: str
    reason: str | None = None


async def receive(
    session: AsyncSession, project_id: uuid.UUID, delivery: Delivery, box: SecretBox
) -> Outcome:
    project = await repository.get_project(session, project_id)
    if project is None:
        raise NotFound(f"Project {project_id} does not exist")
    try:
        secret = box.open(project.id, project.webhook_secret_encrypted)
    except ValueError:
        # The encryption key changed under the stored secret: only a rotation can repair it.
        log.error("webhook_secret_unreadable", project_id=str(project.id))
        secret = None
    if secret is None or not signatures.is_valid(secret, delivery.body, delivery.signature):
        raise Unauthorized(
            "X-Hub-Signature-256 is missing or does not match this project's webhook secret",
            headers={},
        )
    event, delivery_id = _check_headers(delivery)
    payload = parse_payload(delivery.body, delivery.content_type)
    if event == "ping":
        return Outcome("pong", 200, delivery_id)
    if not await repository.record_delivery(session, project.id, delivery_id, event):
        return Outcome("duplicate", 200, delivery_id)
    if not project.enabled:
        return Outcome("ignored", 200, delivery_id, "the project is disabled")
    if event not in FORWARDED_EVENTS:
        return Outcome("ignored", 200, delivery_id, f"{event!r} events are not used")
    action = payload.get("action")
    await events.outbox.publish(
        session,
        events.WebhookReceived,
        events.WebhookReceivedPayload(
            project_id=project.id,
            delivery_id=delivery_id,
            event=event,
            action=action if isinstance(action, str) else None,
            payload=payload,
        ),
        subject=str(project.id),
    )
    log.info(
        "webhook_accepted", project_id=str(project.id), github_event=event, delivery=delivery_id
    )
    return Outcome("accepted", 202, delivery_id)


def _check_headers(delivery: Delivery) -> tuple[str, str]:
    if delivery.event is None or not _EVENT_NAME.match(delivery.event):
        raise BadRequest("X-GitHub-Event is missing or not an event name")
    if delivery.delivery_id is None or not _DELIVERY_ID.match(delivery.delivery_id):
        raise BadRequest("X-GitHub-Delivery is missing or not a delivery id")
    return delivery.event, delivery.delivery_id


def parse_payload(body: bytes, content_type: str) -> dict[str, Any]:
    """GitHub's JSON body (sent as application/json or as a form field named ``payload``)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
        if media_type == "application/x-www-form-urlencoded":
            text = parse_qs(text, strict_parsing=True).get("payload", [""])[0]
        value = json.loads(text, parse_constant=_refuse_constant)
        payload = _storable(value, depth=0)
    except (ValueError, RecursionError):
        raise BadRequest("The body is not a GitHub JSON payload") from None
    if not isinstance(payload, dict):
        raise BadRequest("The payload must be a JSON object")
    return payload


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _storable(value: Any, *, depth: int) -> Any:
    """The payload with what PostgreSQL's jsonb cannot hold made harmless: NUL characters and
    lone surrogates become U+FFFD; nesting deeper than GitHub ever sends is refused."""
    if depth > MAX_DEPTH:
        raise ValueError("payload nested too deeply")
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(k): _storable(v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v, depth=depth + 1) for v in value]
    return value


def _clean_text(text: str) -> str:
    if text.isascii() and "\x00" not in text:
        return text
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
