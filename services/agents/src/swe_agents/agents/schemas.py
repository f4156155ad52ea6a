"""API models of agents, runs and run logs, and each agent type's validated configuration."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from swe_agents.analysis.checkout import validate_ref
from swe_common.types import NulFree, PositiveInt32, RequestModel, Title

AgentType = Literal["code_analyzer", "pr_reviewer", "issue_resolver", "custom"]
Severity = Literal["info", "low", "medium", "high", "critical"]
Level = Literal["quick", "standard", "thorough"]
Step = Literal["lint", "secrets", "complexity", "security"]
Glob = Annotated[str, StringConstraints(min_length=1, max_length=200), NulFree()]
Fingerprint = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$", max_length=32)]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NulFree()
]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=200), NulFree()]
Sha = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}$", max_length=40)]


class _Config(RequestModel):
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)


class CodeAnalyzerConfig(_Config):
    min_severity: Severity = "info"
    complexity_threshold: int = Field(default=10, ge=2, le=100)


class PrReviewerConfig(_Config):
    level: Level = "standard"
    min_severity: Severity = "low"
    max_comments: int = Field(default=50, ge=1, le=500)
    include: list[Glob] = Field(default_factory=list, max_length=50)
    exclude: list[Glob] = Field(default_factory=list, max_length=50)
    suppressed_fingerprints: list[Fingerprint] = Field(default_factory=list, max_length=1000)
    complexity_threshold: int = Field(default=10, ge=2, le=100)


class IssueResolverConfig(_Config):
    max_calls: int = Field(default=3, ge=1, le=20)
    max_tokens: int = Field(default=50_000, ge=100, le=2_000_000)
    max_context_files: int = Field(default=8, ge=1, le=50)
    branch_prefix: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]{1,40}$", max_length=40)
    ] = "agent/"


class CustomConfig(_Config):
    steps: list[Step] = Field(min_length=1, max_length=4)
    min_severity: Severity = "info"
    complexity_threshold: int = Field(default=10, ge=2, le=100)
    fail_under_score: float | None = Field(default=None, ge=0, le=100)


CONFIG_MODELS: dict[str, type[_Config]] = {
    "code_analyzer": CodeAnalyzerConfig,
    "pr_reviewer": PrReviewerConfig,
    "issue_resolver": IssueResolverConfig,
    "custom": CustomConfig,
}


class AgentCreate(RequestModel):
    project_id: uuid.UUID
    name: Name
    type: AgentType
    description: Annotated[str, StringConstraints(max_length=2000), NulFree()] = ""
    config: dict[str, Any] = Field(default_factory=dict)


class AgentUpdate(RequestModel):
    name: Name | None = None
    description: Annotated[str, StringConstraints(max_length=2000), NulFree()] | None = None
    status: Literal["active", "disabled"] | None = None
    config: dict[str, Any] | None = None


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    type: str
    description: str
    status: str
    config: dict[str, Any]
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


def _ref(value: str | None) -> str | None:
    return None if value is None else validate_ref(value)


class PullRequestTarget(RequestModel):
    id: uuid.UUID | None = None
    number: PositiveInt32 | None = None
    base_ref: Ref
    head_ref: Ref
    base_sha: Sha | None = None
    head_sha: Sha | None = None

    _refs = field_validator("base_ref", "head_ref")(_ref)


class IssueTarget(RequestModel):
    id: uuid.UUID | None = None
    title: Title = Field(min_length=1)
    description: Annotated[str, StringConstraints(max_length=20_000), NulFree()] = ""


class RunStart(RequestModel):
    ref: Ref | None = None
    pull_request: PullRequestTarget | None = None
    issue: IssueTarget | None = None
    level: Level | None = None
    timeout_seconds: float | None = Field(default=None, gt=0, le=3600)

    _ref_ok = field_validator("ref")(_ref)


class RunCancel(RequestModel):
    run_id: uuid.UUID | None = None


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    agent_id: uuid.UUID
    project_id: uuid.UUID
    agent_type: str
    status: str
    exit_reason: str | None
    trigger: dict[str, Any]
    error: str | None
    attempts: int
    cancel_requested: bool
    timeout_seconds: float
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    result: dict[str, Any] | None = None


class RunLogOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    seq: int
    at: datetime
    level: str
    message: str
    fields: dict[str, Any]


class RunLogPage(BaseModel):
    items: list[RunLogOut]
    next_since: int
    run_status: str
