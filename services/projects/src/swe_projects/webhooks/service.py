"""Receiving GitHub webhooks: verify, budget, de-duplicate, and hand the issue and pull-request
deliveries the platform applies to the rest of it as ``projects.webhook.received`` (the secret
never leaves here). Answering stays fast: the delivery is stored with its outbox event in one
transaction and processed from the queue."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.crypto import SecretBox
from swe_common.errors import BadRequest, NotFound, Unauthorized, Unprocessable
from swe_common.github_webhooks import (
    HANDLED_ACTIONS,
    same_repository,
    subject_of,
    transferred_into,
    unhandled_reason,
)
from swe_common.ratelimit import RateLimiter
from swe_projects import events
from swe_projects.models import Project
from swe_projects.webhooks import repository, signatures

log = structlog.stdlib.get_logger(__name__)

MAX_DEPTH = 64
# GitHub's event names: lower case, digits and underscores (``projects_v2_item``).
_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
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
    status: str  # accepted | duplicate | pong | ignored | stale
    http_status: int
    delivery_id: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Budget:
    """Signed deliveries a project may send per minute (GitHub's own, or a leaked secret's)."""

    limiter: RateLimiter
    per_minute: int


async def receive(
    session: AsyncSession,
    project_id: uuid.UUID,
    delivery: Delivery,
    box: SecretBox,
    budget: Budget,
) -> Outcome:
    project = await repository.get_project(session, project_id)
    if project is None:
        raise NotFound(f"Project {project_id} does not exist")
    _verify(project, delivery, box)
    # Only after the signature: nobody without the secret can spend a project's budget.
    await budget.limiter.hit(
        "webhook",
        str(project.id),
        budget.per_minute,
        "This project's webhook deliveries exceed their budget; redeliver them from GitHub later.",
    )
    event, delivery_id = _check_headers(delivery)
    payload = parse_payload(delivery.body, delivery.content_type)
    _check_repository(project, event, payload)
    if event == "ping":
        return Outcome("pong", 200, delivery_id)
    action = payload.get("action")
    action = action[:100] if isinstance(action, str) else None
    if not await repository.record_delivery(
        session, project.id, delivery_id, event, action, "accepted"
    ):
        return Outcome("duplicate", 200, delivery_id)
    outcome = await _apply(session, project, event, action, delivery_id, payload)
    if outcome.status != "accepted":
        await repository.set_delivery_status(session, project.id, delivery_id, outcome.status)
    log.info(
        "webhook_received",
        project_id=str(project.id),
        github_event=event,
        action=action,
        delivery=delivery_id,
        outcome=outcome.status,
    )
    return outcome


async def _apply(
    session: AsyncSession,
    project: Project,
    event: str,
    action: str | None,
    delivery_id: str,
    payload: dict[str, Any],
) -> Outcome:
    if not project.enabled:
        return Outcome("ignored", 200, delivery_id, "the project is disabled")
    reason = unhandled_reason(event, action)
    if reason is not None:
        return Outcome("ignored", 200, delivery_id, reason)
    subject = subject_of(event, payload, project.repository_url)
    if (
        subject is not None
        and subject.updated_at is not None
        and not await repository.advance_watermark(session, project.id, subject)
    ):
        return Outcome(
            "stale",
            200,
            delivery_id,
            f"{event}.{action} describes {subject.kind.replace('_', ' ')} #{subject.number} "
            "as it was before a delivery already applied",
        )
    await events.outbox.publish(
        session,
        events.WebhookReceived,
        events.WebhookReceivedPayload(
            project_id=project.id,
            delivery_id=delivery_id,
            event=event,
            action=action,
            payload=payload,
        ),
        subject=str(project.id),
    )
    return Outcome("accepted", 202, delivery_id)


def _verify(project: Project, delivery: Delivery, box: SecretBox) -> None:
    try:
        secret = box.open(project.id.bytes, project.webhook_secret_encrypted)
    except ValueError:
        # The encryption key changed under the stored secret: only a rotation can repair it.
        log.error("webhook_secret_unreadable", project_id=str(project.id))
        secret = None
    if secret is None or not signatures.is_valid(secret, delivery.body, delivery.signature):
        raise Unauthorized(
            "X-Hub-Signature-256 is missing or does not match this project's webhook secret",
            headers={},
        )


def _check_repository(project: Project, event: str, payload: dict[str, Any]) -> None:
    """A delivery about another repository than the project's is refused (a hook set on the
    wrong repository, or an organization's hook): only a transfer into it comes from
    elsewhere. Events about no repository (organization, projects_v2_item) pass."""
    repository_object = payload.get("repository")
    if repository_object is None:
        if event in HANDLED_ACTIONS:
            raise Unprocessable(f"The {event} payload names no repository")
        return
    if same_repository(project.repository_url, repository_object):
        return
    if event == "issues" and transferred_into(project.repository_url, payload):
        return
    named = repository_object.get("full_name") if isinstance(repository_object, dict) else None
    raise Unprocessable(
        f"The delivery is about repository {str(named)[:200]!r}, not this project's "
        f"repository {project.repository_url}"
    )


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
