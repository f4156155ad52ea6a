"""The events the issues service publishes (payloads exactly as in docs/event-contracts.md)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from swe_common.events import EventCatalog, Outbox
from swe_issues.models import event_tables

outbox = Outbox(event_tables, source="/swe/issues")
catalog = EventCatalog("issues")

ReviewLevel = Literal["quick", "standard", "thorough"]


class IssuePayload(BaseModel):
    """Issue snapshot ``I``."""

    id: str
    project_id: str
    title: str
    description: str
    status: str
    priority: str
    labels: list[str]
    assigned_agent_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    # The account the issue is assigned to (added within version 1: absent in older events).
    assignee_id: str | None = None


class IssueResolvedPayload(IssuePayload):
    resolution: str | None
    pull_request_id: str | None


class IssueDeletedPayload(BaseModel):
    id: str
    project_id: str


class PullRequestPayload(BaseModel):
    """Pull request snapshot ``R``."""

    id: str
    project_id: str
    number: int
    title: str
    author: str
    state: str
    base_ref: str
    head_ref: str
    base_sha: str | None
    head_sha: str | None
    review_status: str
    created_at: datetime
    updated_at: datetime
    # The account the pull request is assigned to (added within version 1).
    assignee_id: str | None = None


class PullRequestUntrackedPayload(BaseModel):
    id: str
    project_id: str


class CommentPayload(BaseModel):
    """A comment on an issue or on a pull request (exactly one of the two ids is set)."""

    id: str
    project_id: str
    issue_id: str | None
    pull_request_id: str | None
    author_id: str
    author_name: str
    body: str
    created_at: datetime
    updated_at: datetime


class CommentDeletedPayload(BaseModel):
    id: str
    project_id: str
    issue_id: str | None
    pull_request_id: str | None
    author_id: str
    deleted_by: str  # the author, or a project owner, maintainer or admin removing it


class ReviewRequestedPayload(BaseModel):
    review_id: str
    pull_request_id: str
    project_id: str
    repository_url: str
    number: int
    base_ref: str
    head_ref: str
    base_sha: str | None
    head_sha: str | None
    level: ReviewLevel
    requested_by: str | None


class ReviewedPayload(BaseModel):
    review_id: str
    pull_request_id: str
    project_id: str
    approval: str | None
    quality_score: float | None
    comment_count: int


class ResolutionDeliveredPayload(BaseModel):
    """An issue_resolver run's patch is on GitHub as a draft pull request."""

    run_id: str
    project_id: str
    issue_id: str | None
    pull_request_id: str  # the pull request as tracked here
    number: int
    url: str | None
    branch: str


class ResolutionDeliveryFailedPayload(BaseModel):
    """GitHub did not take an issue_resolver run's patch (the run keeps it)."""

    run_id: str
    project_id: str
    issue_id: str | None
    branch: str | None
    error: str
    github_status: int | None  # GitHub's answer; None when it was not asked or not reached


IssueCreated = catalog.define("issues.issue.created", IssuePayload, "An issue was created.")
IssueUpdated = catalog.define(
    "issues.issue.updated", IssuePayload, "An issue's fields or status changed."
)
IssueAssigned = catalog.define(
    "issues.issue.assigned", IssuePayload, "An agent was assigned to an issue."
)
IssueResolved = catalog.define(
    "issues.issue.resolved", IssueResolvedPayload, "An issue was resolved, maybe by a PR."
)
IssueClosed = catalog.define("issues.issue.closed", IssuePayload, "An issue was closed.")
IssueDeleted = catalog.define("issues.issue.deleted", IssueDeletedPayload, "An issue was deleted.")
PullRequestTracked = catalog.define(
    "issues.pr.tracked", PullRequestPayload, "A pull request is now tracked."
)
PullRequestUpdated = catalog.define(
    "issues.pr.updated", PullRequestPayload, "A tracked pull request changed."
)
PullRequestUntracked = catalog.define(
    "issues.pr.untracked", PullRequestUntrackedPayload, "A pull request is no longer tracked."
)
CommentCreated = catalog.define(
    "issues.comment.created",
    CommentPayload,
    "A comment was written on an issue or a pull request (partition key: that issue or pull "
    "request, so its comments' events follow its own in order).",
)
CommentUpdated = catalog.define(
    "issues.comment.updated", CommentPayload, "A comment's author changed its text."
)
CommentDeleted = catalog.define(
    "issues.comment.deleted",
    CommentDeletedPayload,
    "A comment was deleted (by its author or a project owner, maintainer or admin). Comments "
    "deleted along with their issue or pull request have no event of their own.",
)
ReviewRequested = catalog.define(
    "issues.pr.review_requested",
    ReviewRequestedPayload,
    "A review of a pull request was requested (the agents side runs it).",
)
PullRequestReviewed = catalog.define(
    "issues.pr.reviewed", ReviewedPayload, "A review of a pull request finished with a result."
)
ResolutionDelivered = catalog.define(
    "issues.resolution.delivered",
    ResolutionDeliveredPayload,
    "An issue_resolver run's patch was pushed to a new branch and opened as a draft pull "
    "request on GitHub; its issue is now in_review.",
)
ResolutionDeliveryFailed = catalog.define(
    "issues.resolution.delivery_failed",
    ResolutionDeliveryFailedPayload,
    "An issue_resolver run asked for a draft pull request and none was opened (no token, "
    "GitHub refused or failed); the run keeps its patch.",
)
