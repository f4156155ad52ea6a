"""API models of agents, runs and run logs, and each agent type's validated configuration."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
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


class _AnalysisConfig(_Config):
    # Globs of test code (shown apart, never rated); None: the conventions (tests/, test_*.py...).
    test_paths: list[Glob] | None = Field(default=None, max_length=100)
    # The quality formula (analysis/scoring.py): "2" = SonarQube-style ratings, "1" = as before.
    quality_formula: Literal["1", "2"] = "2"


class CodeAnalyzerConfig(_AnalysisConfig):
    min_severity: Severity = "info"
    complexity_threshold: int = Field(default=10, ge=2, le=100)


class PrReviewerConfig(_AnalysisConfig):
    level: Level = "standard"
    min_severity: Severity = "low"
    # Test code's quieter policy: the least severity a comment in test code needs.
    test_min_severity: Severity = "high"
    max_comments: int = Field(default=50, ge=1, le=500)
    include: list[Glob] = Field(default_factory=list, max_length=50)
    exclude: list[Glob] = Field(default_factory=list, max_length=50)
    suppressed_fingerprints: list[Fingerprint] = Field(default_factory=list, max_length=1000)
    complexity_threshold: int = Field(default=10, ge=2, le=100)


def _inside(path: str) -> str:
    if ".." in path.split("/"):
        raise ValueError("must stay inside the repository (no '..')")
    return path


# A file of the repository: relative, plain characters, never leaving it.
RelativePath = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$"),
    AfterValidator(_inside),
]


class IssueResolverConfig(_AnalysisConfig):
    # The model (OpenAI-compatible; base_url overrides AGENTS_LLM_BASE_URL for this agent).
    model: Annotated[str, StringConstraints(min_length=1, max_length=200), NulFree()] | None = None
    base_url: Annotated[str, StringConstraints(pattern=r"^https?://", max_length=500)] | None = None
    stream: bool = False
    tool_calling: bool = False
    price_input_per_mtok: float = Field(default=0.0, ge=0, le=1000)
    price_output_per_mtok: float = Field(default=0.0, ge=0, le=1000)
    # Per run: model calls, tokens, dollars, wall time; per project per UTC day.
    max_calls: int = Field(default=12, ge=1, le=200)
    max_tokens: int = Field(default=200_000, ge=100, le=20_000_000)
    max_cost: float | None = Field(default=None, gt=0, le=1000)
    max_wall_seconds: float | None = Field(default=None, gt=0, le=3600)
    daily_max_tokens: int | None = Field(default=None, ge=100)
    daily_max_cost: float | None = Field(default=None, gt=0)
    samples: int = Field(default=4, ge=1, le=20)
    stuck_after: int = Field(default=3, ge=2, le=20)
    max_context_files: int = Field(default=8, ge=1, le=50)
    branch_prefix: Annotated[
        str, StringConstraints(pattern=r"^[A-Za-z0-9._/-]{1,40}$", max_length=40)
    ] = "agent/"
    # Deliver a validated patch as a branch and a draft pull request on GitHub (opened by the
    # issues service with the project's GitHub token; the issue then moves to in_review).
    open_pull_request: bool = False
    # Installed (wheels only, in the sandbox) before the tests run, when the worker has a
    # package index or a wheel cache configured; null: no install step.
    requirements_file: RelativePath | None = "requirements.txt"


class CustomConfig(_AnalysisConfig):
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


class ProjectRunOut(BaseModel):
    """A run in a project's list: no result document, the score and the agent's name."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    agent_id: uuid.UUID
    agent_name: str | None
    project_id: uuid.UUID
    agent_type: str
    status: str
    exit_reason: str | None
    trigger: dict[str, Any]
    attempts: int
    cancel_requested: bool
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    score: float | None = Field(description="The quality score of an analysis or review run")


class QueueOut(BaseModel):
    """Why a pending run has not started: the project's runs already take every slot."""

    running: int = Field(description="The project's runs a worker is executing now")
    limit: int = Field(description="How many of a project's runs may execute at once")
    at_capacity: bool


class RunDetailOut(RunOut):
    queue: QueueOut | None = Field(
        default=None, description="For a pending run: the project's slots (None otherwise)"
    )


class SourceLineOut(BaseModel):
    number: int
    text: str = Field(description="The line as the repository has it (plain text, untrusted)")
    truncated: bool = Field(description="The line was cut at 400 characters")


class RunSourceOut(BaseModel):
    """The source lines kept around a finding of a run (five either side)."""

    run_id: uuid.UUID
    path: str
    line: int = Field(description="The line asked for (the finding's)")
    start_line: int
    end_line: int
    lines: list[SourceLineOut]


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


# -- the diff a review looked at --------------------------------------------------------------


class DiffLineOut(BaseModel):
    kind: Literal["context", "add", "delete"]
    old: int | None = Field(description="Line number in the old file (None for an added line)")
    new: int | None = Field(
        description="Line number in the new file (None for a deleted line); review comments "
        "name this number"
    )
    text: str = Field(description="The line without its +/-/space marker and newline")
    truncated: bool = Field(default=False, description="The line was cut at max_line_chars")


class DiffHunkOut(BaseModel):
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    section: str = Field(description="The text after the @@ header (an enclosing function)")
    lines: list[DiffLineOut]


class DiffFileOut(BaseModel):
    path: str
    old_path: str | None = Field(description="The name before a rename")
    status: Literal["added", "modified", "renamed", "deleted"]
    binary: bool
    additions: int | None = Field(description="Added lines (None for a binary file)")
    deletions: int | None
    truncated: bool = Field(description="Some of the file's changed lines are not shown")
    omitted: Literal["binary", "too_large", "limit"] | None = Field(
        description="Why no lines are shown: a binary file, a file far over the per-file "
        "limit, or the whole diff's limits reached"
    )
    hunks: list[DiffHunkOut]


class DiffLimitsOut(BaseModel):
    max_files: int
    max_lines_per_file: int
    max_total_lines: int
    max_line_chars: int
    max_bytes: int
    max_raw_bytes: int
    context: int


class RunDiffOut(BaseModel):
    """The diff a pull request review looked at: the reviewed range, files → hunks → lines."""

    run_id: uuid.UUID
    base_sha: str = Field(description="Start of the reviewed range (merge base or last review)")
    head_sha: str
    truncated: bool = Field(description="A limit cut something: a file, a line or the list")
    files_total: int = Field(description="Files the review selected (may exceed files listed)")
    limits: DiffLimitsOut
    files: list[DiffFileOut]
