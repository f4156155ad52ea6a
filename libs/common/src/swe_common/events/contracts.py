"""Payload parts that more than one service reads, typed once.

An event's payload model lives with the service that publishes it (its ``events.py``), but a
part that other services read must not be a loose dict each of them guesses at: the pull
request review result rides in ``agents.run.completed`` (``result`` of a ``pr_reviewer`` run),
the agents service writes it and issues (the review, its comments) and analytics (the quality
score) read it. Its model lives here, and ``docs/events.md`` lists it.

Within a schema version changes are additive: every field a reader might meet missing has a
default, so a result written before a field existed still reads, and unknown keys are ignored
(the comments keep theirs: they are stored and shown as they came).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ReviewComment(BaseModel):
    """A finding on a changed line (the agents service's ``Finding`` without its internal
    ``extra``), with the line it is shown on and whether the base branch already had it."""

    model_config = ConfigDict(extra="allow")

    tool: str = ""
    rule: str = ""
    severity: str = "info"
    message: str = ""
    path: str = ""
    line: int = 0
    end_line: int = 0
    category: str = "lint"
    cwe: int | None = None
    suggestion: str | None = None
    rule_name: str | None = None
    help_url: str | None = None
    fingerprint: str = ""
    column: int | None = None
    end_column: int | None = None
    kind: str = "code_smell"
    test: bool = False
    line_hash: str = ""
    new: bool = True


class ReviewedRange(BaseModel):
    """Which commits the review read: the whole pull request, or only what came since the last
    review of an ancestor of its head."""

    model_config = ConfigDict(populate_by_name=True)

    incremental: bool = False
    reason: str = "first_review"  # first_review | new_commits | force_push | same_head
    from_: str = Field(default="", alias="from")
    to: str = ""


class ComplexityDelta(BaseModel):
    path: str
    function: str
    line: int
    before: int | None
    after: int
    delta: int


class MaintainabilityDelta(BaseModel):
    path: str
    before: float | None
    after: float
    delta: float | None


class RuleDescription(BaseModel):
    name: str
    short: str
    full: str
    help_text: str
    help_markdown: str
    help_uri: str | None = None
    severity: str
    precision: str


class ReviewResult(BaseModel):
    """The result of a ``pr_reviewer`` run (``agents.run.completed``'s ``result``)."""

    summary: str | None = None
    approval: str | None = None  # approve | comment | request_changes
    approval_rules_version: str = "1"
    level: str = "standard"  # quick | standard | thorough
    base_sha: str = ""
    head_sha: str = ""
    merge_base: str = ""
    reviewed_range: ReviewedRange = Field(default_factory=ReviewedRange)
    files_reviewed: list[str] = Field(default_factory=list)
    skipped_files: list[str] = Field(default_factory=list)
    comments: list[ReviewComment] = Field(default_factory=list)
    comment_count: int = 0
    # Findings on changed lines that got no comment, by reason (below_min_severity,
    # suppressed, over_cap, test_noise, test_below_min_severity).
    suppressed: dict[str, int] = Field(default_factory=dict)
    security: list[ReviewComment] = Field(default_factory=list)
    performance: list[ReviewComment] = Field(default_factory=list)
    complexity: list[ComplexityDelta] = Field(default_factory=list)
    maintainability: list[MaintainabilityDelta] = Field(default_factory=list)
    # The quality score's breakdown (rating, formula version, components), as code analysis
    # reports it too.
    quality: dict[str, Any] = Field(default_factory=dict)
    quality_score: float | None = None
    findings_by_severity: dict[str, int] | None = None
    repository_url: str | None = None
    branch: str | None = None
    tools: dict[str, str] = Field(default_factory=dict)  # each tool that ran -> its version
    rules: dict[str, RuleDescription] = Field(default_factory=dict)  # "tool:rule" -> rule

    def wire(self) -> dict[str, Any]:
        """The JSON document carried in the event and stored with the run."""
        return self.model_dump(mode="json", by_alias=True)


class PullRequestRequest(BaseModel):
    """An ``issue_resolver`` run's request to open a draft pull request with its validated patch
    (``agents.run.completed``'s ``result.pull_request``, when the agent has ``open_pull_request``
    on). The issues service, which holds the project's GitHub token, opens it and answers with
    ``issues.resolution.delivered`` or ``issues.resolution.delivery_failed``; the agents service
    then records the outcome here (``status`` opened or failed, with ``number`` and ``url`` or
    ``error``)."""

    status: str = "requested"  # requested | opened | failed
    branch: str
    base_ref: str
    base_commit: str
    title: str
    body: str = ""
    message: str = ""
    # The whole new content of every changed file (path -> UTF-8 text).
    files: dict[str, str] = Field(default_factory=dict)
    number: int | None = None
    url: str | None = None
    error: str | None = None
    github_status: int | None = None


CONTRACTS: tuple[type[BaseModel], ...] = (ReviewResult, PullRequestRequest)
