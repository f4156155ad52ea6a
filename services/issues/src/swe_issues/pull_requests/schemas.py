"""API models of tracked pull requests and their reviews."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from swe_common.types import RequestModel
from swe_issues.text import Sha, ShortText, Title


class PullRequestState(StrEnum):
    open = "open"
    closed = "closed"
    merged = "merged"


class ReviewStatus(StrEnum):
    none = "none"
    pending = "pending"
    approved = "approved"
    changes_requested = "changes_requested"
    commented = "commented"
    failed = "failed"


class ReviewLevel(StrEnum):
    quick = "quick"
    standard = "standard"
    thorough = "thorough"


PRNumber = Field(ge=1, le=2**31 - 1, description="The pull request's number in its repository")


class PullRequestTrack(RequestModel):
    project_id: uuid.UUID
    number: int = PRNumber
    title: Title
    author: ShortText = ""
    state: PullRequestState = PullRequestState.open
    base_ref: ShortText = ""
    head_ref: ShortText = ""
    base_sha: Sha | None = None
    head_sha: Sha | None = None


class PullRequestUpdate(RequestModel):
    title: Title | None = None
    author: ShortText | None = None
    state: PullRequestState | None = None
    base_ref: ShortText | None = None
    head_ref: ShortText | None = None
    base_sha: Sha | None = None
    head_sha: Sha | None = None
    assignee_id: uuid.UUID | None = Field(
        default=None,
        description="Assign the pull request to this account (a member of the project; null "
        "unassigns). Only the project's owner and maintainers change it.",
    )


class PullRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    number: int
    title: str
    author: str
    state: PullRequestState
    base_ref: str
    head_ref: str
    base_sha: str | None
    head_sha: str | None
    review_status: ReviewStatus
    url: str | None
    draft: bool = Field(description="A draft on GitHub: not reviewed automatically until ready")
    labels: list[str]
    assignees: list[str] = Field(description="Who the pull request is assigned to (GitHub logins)")
    assignee_id: uuid.UUID | None = Field(
        description="The platform account the pull request is assigned to (an agent-role "
        "account changes only the pull requests assigned to it)"
    )
    github_updated_at: datetime | None = Field(
        description="When GitHub last changed the state mirrored here"
    )
    created_at: datetime
    updated_at: datetime


class ReviewRequest(RequestModel):
    level: ReviewLevel = ReviewLevel.standard


class ReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    pull_request_id: uuid.UUID
    level: ReviewLevel
    status: str = Field(description="pending, completed, failed or cancelled")
    requested_by: str | None
    head_sha: str | None
    run_id: uuid.UUID | None
    approval: str | None
    summary: str | None
    quality_score: float | None
    comments: list[dict[str, Any]]
    findings_by_severity: dict[str, Any] | None
    error: str | None
    requested_at: datetime
    completed_at: datetime | None


class ReviewHistory(BaseModel):
    latest: ReviewOut | None = Field(description="The most recently requested review")
    latest_result: ReviewOut | None = Field(description="The most recent finished review")
    history: list[ReviewOut] = Field(description="Every review, newest first (up to 50)")


class PullRequestStats(BaseModel):
    project_id: uuid.UUID | None
    total: int
    by_state: dict[PullRequestState, int]
    by_review_status: dict[ReviewStatus, int]
    reviews_completed: int
    mean_quality_score: float | None
