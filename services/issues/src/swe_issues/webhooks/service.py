"""GitHub deliveries relayed by the projects service (which verified their signatures).

Each delivery is applied once: its GitHub delivery id is recorded in the same transaction as
its effect (GitHub redelivers under the same id, which the event inbox alone would not see).
"""

from typing import Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from swe_issues.github.convert import issue_from_github, pull_request_from_github
from swe_issues.issues import service as issues
from swe_issues.projects_read_model import repository as projects
from swe_issues.projects_read_model.models import ProjectView
from swe_issues.pull_requests import service as pull_requests
from swe_issues.webhooks import repository
from swe_issues.webhooks.schemas import WebhookReceived

log = structlog.stdlib.get_logger(__name__)

ISSUE_ACTIONS = frozenset({"opened", "edited", "closed", "reopened", "labeled", "unlabeled"})
PR_ACTIONS = frozenset({"opened", "synchronize", "closed", "reopened", "edited"})
REVIEW_ACTIONS = frozenset({"opened", "synchronize", "reopened"})

Outcome = Literal["applied", "duplicate", "ignored"]


class ProjectNotKnownYetError(Exception):
    """The delivery's project is not in the read model yet: retry after projects' events."""


def _handled(delivery: WebhookReceived) -> bool:
    if delivery.event == "issues":
        return delivery.action in ISSUE_ACTIONS
    return delivery.event == "pull_request" and delivery.action in PR_ACTIONS


async def apply_delivery(session: AsyncSession, delivery: WebhookReceived) -> Outcome:
    if not _handled(delivery):
        return "ignored"  # ping, and events or actions we do not mirror
    project = await projects.get(session, delivery.project_id)
    if project is None:
        raise ProjectNotKnownYetError(f"project {delivery.project_id} is not known yet")
    if project.deleted_at is not None:
        return "ignored"
    if not await repository.record_delivery(session, delivery):
        return "duplicate"
    if delivery.event == "issues":
        gh_issue = issue_from_github(delivery.payload.get("issue"))
        await issues.mirror_github_issue(session, project, gh_issue)
    else:
        await _apply_pull_request(session, project, delivery)
    return "applied"


async def _apply_pull_request(
    session: AsyncSession, project: ProjectView, delivery: WebhookReceived
) -> None:
    gh_pr = pull_request_from_github(delivery.payload.get("pull_request"))
    mirrored = await pull_requests.mirror_github_pr(session, project, gh_pr)
    wants_review = delivery.action in REVIEW_ACTIONS and (
        mirrored.created or mirrored.head_moved or delivery.action == "opened"
    )
    if wants_review:
        await pull_requests.maybe_auto_review(session, project, mirrored.pr)
