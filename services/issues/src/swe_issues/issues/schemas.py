"""API models of issues."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from swe_common.types import RequestModel
from swe_issues.text import Label, LongText, Title


class IssueStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    # A draft pull request with an agent's patch awaits review (set by the delivery of an
    # issue_resolver run, or by hand from in_progress).
    in_review = "in_review"
    resolved = "resolved"
    closed = "closed"


class Priority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


Labels = list[Label]


class IssueCreate(RequestModel):
    project_id: uuid.UUID
    title: Title
    description: LongText = ""
    priority: Priority = Priority.medium
    labels: Labels = Field(default_factory=list, max_length=20)
    github_number: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Link to this GitHub issue number"
    )


class IssueUpdate(RequestModel):
    """Only the fields sent change; ``status`` follows the allowed transitions."""

    title: Title | None = None
    description: LongText | None = None
    priority: Priority | None = None
    labels: Labels | None = Field(default=None, max_length=20)
    status: IssueStatus | None = None
    assignee_id: uuid.UUID | None = Field(
        default=None,
        description="Assign the issue to this account (a member of the project; null "
        "unassigns). Only the project's owner and maintainers change it.",
    )


class AssignRequest(RequestModel):
    agent_id: uuid.UUID


class ResolveRequest(RequestModel):
    resolution: LongText = Field(min_length=1)
    pull_request_id: uuid.UUID | None = None


class IssueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    title: str
    description: str
    status: IssueStatus
    priority: Priority
    labels: list[str]
    assigned_agent_id: uuid.UUID | None
    assignee_id: uuid.UUID | None = Field(
        description="The account the issue is assigned to (an agent-role account changes only "
        "the issues assigned to it)"
    )
    created_by: str | None
    resolution: str | None
    pull_request_id: uuid.UUID | None
    github_number: int | None
    github_url: str | None
    github_author: str | None = Field(description="The GitHub issue's author (login)")
    github_assignees: list[str] = Field(description="Who the GitHub issue is assigned to")
    github_state_reason: str | None = Field(
        description="GitHub's reason for the state: completed, not_planned, reopened, duplicate"
    )
    github_removed: Literal["deleted", "transferred"] | None = Field(
        description="The GitHub issue was deleted or transferred to another repository; the "
        "issue was closed and no later delivery about it applies"
    )
    github_updated_at: datetime | None = Field(
        description="When GitHub last changed the state mirrored here"
    )
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None


class IssueStats(BaseModel):
    project_id: uuid.UUID | None = Field(description="The project counted, or null for all")
    total: int
    by_status: dict[IssueStatus, int]
    by_priority: dict[Priority, int]
    resolved_count: int
    mean_time_to_resolve_seconds: float | None
