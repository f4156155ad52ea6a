"""What the issues service consumes, one subscription per purpose (the wiring in one place).

- ``issues.projects``: the projects read model, and closing out a deleted project's work.
- ``issues.webhooks``: GitHub deliveries relayed by projects.
- ``issues.agent_runs``: review results from the agents side, and the validated patches of
  issue_resolver runs to open as draft pull requests (``github/delivery.py``).
"""

import uuid
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.events import CloudEvent, Handler, Subscription
from swe_common.events.contracts import ReviewResult
from swe_issues.github.convert import UnusablePayload
from swe_issues.github.delivery import Delivery
from swe_issues.issues import service as issues
from swe_issues.projects_read_model import service as read_model
from swe_issues.projects_read_model.schemas import (
    MemberAdded,
    MemberRemoved,
    ProjectDeleted,
    ProjectSnapshot,
)
from swe_issues.pull_requests import service as pull_requests
from swe_issues.webhooks import service as webhooks
from swe_issues.webhooks.schemas import WebhookReceived

log = structlog.stdlib.get_logger(__name__)


async def on_project_snapshot(session: AsyncSession, event: CloudEvent) -> None:
    await read_model.apply_snapshot(session, ProjectSnapshot.model_validate(event.data))


async def on_project_deleted(session: AsyncSession, event: CloudEvent) -> None:
    data = ProjectDeleted.model_validate(event.data)
    await read_model.apply_deleted(session, data.id, data.owner_id)
    closed = await issues.close_for_deleted_project(session, data.id)
    untracked = await pull_requests.untrack_for_deleted_project(session, data.id)
    log.info("project_closed_out", project_id=str(data.id), issues=closed, prs=untracked)


async def on_member_added(session: AsyncSession, event: CloudEvent) -> None:
    if not await read_model.apply_member_added(session, MemberAdded.model_validate(event.data)):
        log.info("member_event_for_unknown_project", project_id=event.data.get("project_id"))


async def on_member_removed(session: AsyncSession, event: CloudEvent) -> None:
    if not await read_model.apply_member_removed(session, MemberRemoved.model_validate(event.data)):
        log.info("member_event_for_unknown_project", project_id=event.data.get("project_id"))


async def on_webhook(session: AsyncSession, event: CloudEvent) -> None:
    try:
        delivery = WebhookReceived.model_validate(event.data)
        outcome = await webhooks.apply_delivery(session, delivery)
    except (ValidationError, UnusablePayload) as exc:
        # A malformed delivery never becomes valid: retrying it would only fill the DLQ.
        log.warning("webhook_unusable", error=str(exc)[:500])
        return
    log.info("webhook_applied", delivery_id=delivery.delivery_id, outcome=outcome)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _run_outcome(event: CloudEvent, *, succeeded: bool) -> pull_requests.RunOutcome | None:
    data: dict[str, Any] = event.data
    trigger = _mapping(data.get("trigger"))
    try:
        review_id = uuid.UUID(str(trigger.get("review_id")))
    except ValueError:
        return None  # not a review run
    try:
        run_id: uuid.UUID | None = uuid.UUID(str(data.get("run_id")))
    except ValueError:
        run_id = None
    error = data.get("error") or data.get("exit_reason") or event.type.rsplit(".", 1)[-1]
    result: ReviewResult | None = None
    if succeeded:
        try:
            result = ReviewResult.model_validate(_mapping(data.get("result")))
        except ValidationError as exc:
            # A result this side cannot read fails the review, saying why, instead of coming
            # back from the dead-letter queue as the same unreadable result.
            succeeded = False
            error = f"the review result does not match its contract: {exc.errors()[0]['msg']}"
    return pull_requests.RunOutcome(
        review_id=review_id,
        run_id=run_id,
        succeeded=succeeded,
        result=result or ReviewResult(),
        error=None if succeeded else str(error),
    )


def run_completed_handler(delivery: Delivery | None) -> Handler:
    async def on_run_completed(session: AsyncSession, event: CloudEvent) -> None:
        outcome = _run_outcome(event, succeeded=True)
        if outcome is not None:
            await pull_requests.record_review_outcome(session, outcome)
        elif delivery is not None:
            await delivery.on_run_completed(session, event.data)

    return on_run_completed


async def on_run_failed(session: AsyncSession, event: CloudEvent) -> None:
    outcome = _run_outcome(event, succeeded=False)
    if outcome is not None:
        await pull_requests.record_review_outcome(session, outcome)


def subscriptions(prefix: str = "issues", delivery: Delivery | None = None) -> list[Subscription]:
    return [
        Subscription(
            queue=f"{prefix}.projects",
            handlers={
                "projects.project.created": on_project_snapshot,
                "projects.project.updated": on_project_snapshot,
                "projects.project.deleted": on_project_deleted,
                "projects.member.added": on_member_added,
                "projects.member.removed": on_member_removed,
            },
        ),
        Subscription(
            queue=f"{prefix}.webhooks", handlers={"projects.webhook.received": on_webhook}
        ),
        Subscription(
            queue=f"{prefix}.agent_runs",
            handlers={
                "agents.run.completed": run_completed_handler(delivery),
                "agents.run.failed": on_run_failed,
                "agents.run.cancelled": on_run_failed,
            },
        ),
    ]
