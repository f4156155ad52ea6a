"""GitHub deliveries relayed by the projects service (which verified their signatures, checked
their repository and answered GitHub).

Each delivery is applied once: its GitHub delivery id is recorded, with what became of it, in
the same transaction as its effect (GitHub redelivers under the same id, which the event inbox
alone would not see). A delivery older than the state held (the projects service answers those
"stale" itself, but two accepted deliveries can still be consumed out of order after a retry)
changes nothing, publishes nothing and requests no review.
"""

from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.github_webhooks import transferred_into, unhandled_reason
from swe_issues.github.convert import issue_from_github, pull_request_from_github
from swe_issues.issues import service as issues
from swe_issues.projects_read_model import repository as projects
from swe_issues.projects_read_model.models import ProjectView
from swe_issues.pull_requests import service as pull_requests
from swe_issues.webhooks import repository
from swe_issues.webhooks.schemas import WebhookReceived

log = structlog.stdlib.get_logger(__name__)

# Actions after which the pull request's current head wants a review (when the project asks).
REVIEW_ACTIONS = frozenset({"opened", "synchronize", "reopened", "ready_for_review"})

Outcome = Literal["applied", "duplicate", "ignored", "stale"]


class ProjectNotKnownYetError(Exception):
    """The delivery's project is not in the read model yet: retry after projects' events."""


async def apply_delivery(session: AsyncSession, delivery: WebhookReceived) -> Outcome:
    if unhandled_reason(delivery.event, delivery.action) is not None:
        return "ignored"  # ping, and events or actions we do not mirror
    project = await projects.get(session, delivery.project_id)
    if project is None:
        raise ProjectNotKnownYetError(f"project {delivery.project_id} is not known yet")
    if project.deleted_at is not None:
        return "ignored"
    if not await repository.record_delivery(session, delivery):
        return "duplicate"
    if delivery.event == "issues":
        outcome = await _apply_issue(session, project, delivery)
    else:
        outcome = await _apply_pull_request(session, project, delivery)
    if outcome != "applied":
        await repository.set_outcome(session, delivery.delivery_id, outcome)
    return outcome


async def _apply_issue(
    session: AsyncSession, project: ProjectView, delivery: WebhookReceived
) -> Outcome:
    payload = delivery.payload
    if delivery.action == "transferred" and transferred_into(project.repository_url, payload):
        new_issue = _mapping(payload.get("changes")).get("new_issue")
        mirrored = await issues.mirror_github_issue(session, project, issue_from_github(new_issue))
        return "stale" if mirrored.stale else "applied"
    gh_issue = issue_from_github(payload.get("issue"))
    if delivery.action in ("deleted", "transferred"):
        removal, note = _removal(delivery)
        removed = await issues.remove_github_issue(session, project, gh_issue, removal, note)
        if removed is None:
            return "ignored"
        return "stale" if removed.stale else "applied"
    mirrored = await issues.mirror_github_issue(session, project, gh_issue)
    return "stale" if mirrored.stale else "applied"


def _removal(delivery: WebhookReceived) -> tuple[str, str]:
    if delivery.action == "deleted":
        return "deleted", "Deleted on GitHub"
    changes = _mapping(delivery.payload.get("changes"))
    new_issue = _mapping(changes.get("new_issue"))
    where = new_issue.get("html_url")
    if not isinstance(where, str) or not where:
        where = "another repository"
    return "transferred", f"Transferred on GitHub to {where[:2000]}"


async def _apply_pull_request(
    session: AsyncSession, project: ProjectView, delivery: WebhookReceived
) -> Outcome:
    gh_pr = pull_request_from_github(delivery.payload.get("pull_request"))
    mirrored = await pull_requests.mirror_github_pr(session, project, gh_pr)
    if mirrored.stale:
        return "stale"
    wants_review = delivery.action in REVIEW_ACTIONS and (
        mirrored.created or mirrored.head_moved or delivery.action in ("opened", "ready_for_review")
    )
    if wants_review:
        await pull_requests.maybe_auto_review(session, project, mirrored.pr)
    return "applied"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
