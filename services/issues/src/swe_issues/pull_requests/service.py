"""Tracked pull requests: tracking, reviews (requested here, run by agents), GitHub mirroring."""

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.db import utcnow
from swe_common.errors import Conflict
from swe_common.events import EventSpec
from swe_common.events.contracts import ReviewResult
from swe_common.pagination import Page, PageParams
from swe_common.permissions import Permission
from swe_common.security import Caller
from swe_issues import events
from swe_issues.projects_read_model import repository as projects
from swe_issues.projects_read_model.models import ProjectView
from swe_issues.projects_read_model.service import (
    ProjectLookup,
    ensure_enabled,
    ensure_may_update,
    ensure_member,
    ensure_writer,
    readable_page,
    readable_role,
    visible_row,
    writable_project,
)
from swe_issues.pull_requests import repository
from swe_issues.pull_requests.models import PullRequest, Review
from swe_issues.pull_requests.repository import PullRequestFilters
from swe_issues.pull_requests.schemas import (
    PullRequestState,
    PullRequestStats,
    PullRequestTrack,
    PullRequestUpdate,
    ReviewHistory,
    ReviewLevel,
    ReviewOut,
    ReviewStatus,
)

_APPROVED = frozenset({"approve", "approved", "true", "lgtm"})
_CHANGES = frozenset({"request_changes", "changes_requested", "reject", "rejected", "false"})
_TEXT_MAX = 50_000
_COMMENTS_MAX = 1000


def snapshot(pr: PullRequest) -> events.PullRequestPayload:
    return events.PullRequestPayload(
        id=str(pr.id),
        project_id=str(pr.project_id),
        number=pr.number,
        title=pr.title,
        author=pr.author,
        state=pr.state,
        base_ref=pr.base_ref,
        head_ref=pr.head_ref,
        base_sha=pr.base_sha,
        head_sha=pr.head_sha,
        review_status=pr.review_status,
        created_at=pr.created_at,
        updated_at=pr.updated_at,
        assignee_id=str(pr.assignee_id) if pr.assignee_id else None,
    )


async def publish(session: AsyncSession, spec: EventSpec, pr: PullRequest) -> None:
    if sa.inspect(pr).persistent:
        pr.updated_at = utcnow()
    # else a new pull request: its INSERT (this flush) stamps it, and no UPDATE has to follow.
    await session.flush()
    await events.outbox.publish(session, spec, snapshot(pr), subject=str(pr.id))


async def _untrack(session: AsyncSession, pr: PullRequest) -> None:
    payload = events.PullRequestUntrackedPayload(id=str(pr.id), project_id=str(pr.project_id))
    await repository.delete(session, pr)
    await events.outbox.publish(session, events.PullRequestUntracked, payload, subject=payload.id)


# -- reading ------------------------------------------------------------------------------------


async def _visible(
    session: AsyncSession, caller: Caller, pr_id: uuid.UUID, *, lock: bool = False
) -> tuple[PullRequest, ProjectView, str]:
    return await visible_row(session, caller, PullRequest, pr_id, "Pull request", lock=lock)


async def _writable(
    session: AsyncSession, caller: Caller, pr_id: uuid.UUID
) -> tuple[PullRequest, ProjectView]:
    pr, project, role = await _visible(session, caller, pr_id, lock=True)
    ensure_writer(role, caller, "pull requests")
    return pr, project


async def get_pr(session: AsyncSession, caller: Caller, pr_id: uuid.UUID) -> PullRequest:
    pr, _, _ = await _visible(session, caller, pr_id)
    return pr


async def list_prs(
    session: AsyncSession,
    caller: Caller,
    filters: PullRequestFilters,
    params: PageParams,
    lookup: ProjectLookup | None,
) -> Page[Any]:
    return await readable_page(
        session, caller, filters, params, lookup, repository.page, repository.page_in_project
    )


async def stats(
    session: AsyncSession,
    caller: Caller,
    project_id: uuid.UUID | None,
    lookup: ProjectLookup | None,
) -> PullRequestStats:
    if project_id is not None:
        await readable_role(session, caller, project_id, lookup)
    rows = await repository.stats(session, project_id, None if caller.is_admin else caller.subject)
    return PullRequestStats(
        project_id=project_id,
        total=sum(rows.by_state.values()),
        by_state={s: rows.by_state.get(s.value, 0) for s in PullRequestState},
        by_review_status={s: rows.by_review_status.get(s.value, 0) for s in ReviewStatus},
        reviews_completed=rows.reviews_completed,
        mean_quality_score=rows.mean_quality_score,
    )


async def review_history(session: AsyncSession, caller: Caller, pr_id: uuid.UUID) -> ReviewHistory:
    pr, _, _ = await _visible(session, caller, pr_id)
    reviews = [ReviewOut.model_validate(r) for r in await repository.reviews_of(session, pr.id)]
    finished = [r for r in reviews if r.status != "pending"]
    return ReviewHistory(
        latest=reviews[0] if reviews else None,
        latest_result=finished[0] if finished else None,
        history=reviews,
    )


# -- changing -----------------------------------------------------------------------------------


async def track_pr(
    session: AsyncSession, caller: Caller, data: PullRequestTrack, lookup: ProjectLookup | None
) -> PullRequest:
    project = await writable_project(session, caller, data.project_id, "pull requests", lookup)
    ensure_enabled(project)
    if await repository.by_number(session, project.id, data.number) is not None:
        raise Conflict(f"Pull request #{data.number} is already tracked in this project")
    pr = PullRequest(
        **data.model_dump(exclude={"state"}), state=data.state.value, tracked_by=caller.subject
    )
    repository.stage(session, pr)
    await publish(session, events.PullRequestTracked, pr)  # flushes: the INSERT
    return pr


async def update_pr(
    session: AsyncSession,
    caller: Caller,
    pr_id: uuid.UUID,
    data: PullRequestUpdate,
    lookup: ProjectLookup | None = None,
) -> PullRequest:
    pr, project, role = await _visible(session, caller, pr_id, lock=True)
    # Any pull request (issues.write), or one assigned to the caller (the agent role).
    ensure_may_update(role, caller, pr.assignee_id, "pull requests")
    changed = False
    if "assignee_id" in data.model_fields_set and data.assignee_id != pr.assignee_id:
        # Whom the work is assigned to is the project writers' call, never the assignee's.
        ensure_writer(role, caller, "assignees")
        if data.assignee_id is not None:
            await ensure_member(
                session, caller, project, data.assignee_id, "body.assignee_id", lookup
            )
        pr.assignee_id = data.assignee_id
        changed = True
    changes = data.model_dump(exclude_none=True, exclude={"assignee_id"}, mode="json")
    for name, value in changes.items():
        if getattr(pr, name) != value:
            setattr(pr, name, value)
            changed = True
    if changed:
        await publish(session, events.PullRequestUpdated, pr)
    return pr


async def untrack_pr(session: AsyncSession, caller: Caller, pr_id: uuid.UUID) -> None:
    pr, _ = await _writable(session, caller, pr_id)
    await _untrack(session, pr)


async def untrack_for_deleted_project(session: AsyncSession, project_id: uuid.UUID) -> int:
    prs = await repository.in_project(session, project_id)
    for pr in prs:
        await _untrack(session, pr)
    return len(prs)


async def request_review(
    session: AsyncSession,
    caller: Caller,
    pr_id: uuid.UUID,
    level: ReviewLevel,
) -> Review:
    pr, project, role = await _visible(session, caller, pr_id, lock=True)
    ensure_writer(role, caller, "reviews", Permission.REVIEWS_REQUEST)
    return await start_review(session, project, pr, level, requested_by=caller.subject)


async def start_review(
    session: AsyncSession,
    project: ProjectView,
    pr: PullRequest,
    level: ReviewLevel,
    *,
    requested_by: str | None,
) -> Review:
    """Store a pending review and ask for it (the agents side consumes the request)."""
    if pr.state != "open":
        raise Conflict(f"Pull request #{pr.number} is {pr.state}; only open ones are reviewed")
    review = Review(
        pull_request_id=pr.id,
        project_id=pr.project_id,
        level=level.value,
        status="pending",
        requested_by=requested_by,
        head_sha=pr.head_sha,
        comments=[],
    )
    await repository.add(session, review)
    pr.review_status = ReviewStatus.pending.value
    payload = events.ReviewRequestedPayload(
        review_id=str(review.id),
        pull_request_id=str(pr.id),
        project_id=str(pr.project_id),
        repository_url=project.repository_url,
        number=pr.number,
        base_ref=pr.base_ref,
        head_ref=pr.head_ref,
        base_sha=pr.base_sha,
        head_sha=pr.head_sha,
        level=level.value,
        requested_by=requested_by,
    )
    await events.outbox.publish(session, events.ReviewRequested, payload, subject=str(pr.id))
    await publish(session, events.PullRequestUpdated, pr)
    return review


# -- review results from agents -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """The part of an ``agents.run.*`` event that concerns a review."""

    review_id: uuid.UUID
    run_id: uuid.UUID | None
    succeeded: bool
    result: ReviewResult
    error: str | None = None


async def record_review_outcome(session: AsyncSession, outcome: RunOutcome) -> bool:
    """Store a review's result; False when the review is unknown or already finished."""
    review = await repository.review_for_update(session, outcome.review_id)
    if review is None or review.status != "pending":
        return False
    pr = await repository.get_for_update(session, review.pull_request_id)
    review.run_id = outcome.run_id
    review.completed_at = utcnow()
    if outcome.succeeded:
        _store_result(review, outcome.result)
    else:
        review.status = "failed"
        review.error = _clean(outcome.error or "the review run failed")[:_TEXT_MAX]
    await session.flush()
    if outcome.succeeded:
        reviewed = events.ReviewedPayload(
            review_id=str(review.id),
            pull_request_id=str(review.pull_request_id),
            project_id=str(review.project_id),
            approval=review.approval,
            quality_score=review.quality_score,
            comment_count=len(review.comments),
        )
        await events.outbox.publish(
            session, events.PullRequestReviewed, reviewed, subject=str(review.pull_request_id)
        )
    # An older review finishing late must not hide that a newer one is still pending.
    if pr is not None and await repository.latest_review_id(session, pr.id) == review.id:
        pr.review_status = _review_status(review)
        await publish(session, events.PullRequestUpdated, pr)
    return True


def _store_result(review: Review, result: ReviewResult) -> None:
    review.status = "completed"
    review.approval = _clean(result.approval)[:40] if result.approval is not None else None
    review.summary = _clean(result.summary)[:_TEXT_MAX] if result.summary is not None else None
    review.quality_score = _score(result.quality_score)
    # As they came: a comment keeps the keys its producer gave it, unknown ones too.
    comments = result.comments[:_COMMENTS_MAX]
    review.comments = [_clean(c.model_dump(mode="json", exclude_unset=True)) for c in comments]
    findings = result.findings_by_severity
    review.findings_by_severity = _clean(findings) if findings is not None else None


def _score(value: float | None) -> float | None:
    # NaN or infinity would make every later answer about this review unserialisable.
    if value is not None and math.isfinite(value):
        return value
    return None


def _review_status(review: Review) -> str:
    if review.status != "completed":
        return ReviewStatus.failed.value
    approval = (review.approval or "").lower()
    if approval in _APPROVED:
        return ReviewStatus.approved.value
    if approval in _CHANGES:
        return ReviewStatus.changes_requested.value
    return ReviewStatus.commented.value


def _clean(value: Any) -> Any:
    """PostgreSQL refuses NUL characters in text and JSONB; drop them from agent output."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_clean(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# -- GitHub mirroring ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GitHubPullRequest:
    number: int
    title: str
    author: str
    state: str  # open | closed | merged
    base_ref: str
    head_ref: str
    base_sha: str | None
    head_sha: str | None
    html_url: str | None
    draft: bool = False
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Mirrored:
    pr: PullRequest
    created: bool
    head_moved: bool
    # The GitHub state was older than the one held (a late or redelivered delivery): nothing
    # changed, no event was published, and no review may follow.
    stale: bool = False


def _is_stale(pr: PullRequest, gh: GitHubPullRequest) -> bool:
    # A merged pull request never reopens on GitHub: any other state is an older one.
    if pr.state == "merged" and gh.state != "merged":
        return True
    held, incoming = pr.github_updated_at, gh.updated_at
    # Equal times count as current: GitHub's have one-second steps.
    return held is not None and incoming is not None and incoming < held


async def mirror_github_pr(
    session: AsyncSession, project: ProjectView, gh: GitHubPullRequest
) -> Mirrored:
    """Create or update the tracked pull request from GitHub's view of it, unless the one
    held is newer."""
    pr = await repository.by_number(session, project.id, gh.number)
    fields = {
        "title": gh.title[:300],
        "author": gh.author[:100],
        "state": gh.state,
        "base_ref": gh.base_ref[:255],
        "head_ref": gh.head_ref[:255],
        "base_sha": gh.base_sha,
        "head_sha": gh.head_sha,
        "url": gh.html_url,
        "draft": gh.draft,
        "labels": gh.labels,
        "assignees": gh.assignees,
    }
    if pr is None:
        pr = PullRequest(
            project_id=project.id, number=gh.number, github_updated_at=gh.updated_at, **fields
        )
        repository.stage(session, pr)
        await publish(session, events.PullRequestTracked, pr)  # flushes: the INSERT
        return Mirrored(pr, created=True, head_moved=False)
    if _is_stale(pr, gh):
        return Mirrored(pr, created=False, head_moved=False, stale=True)
    head_moved = pr.head_sha != gh.head_sha
    if gh.updated_at is not None:
        pr.github_updated_at = gh.updated_at
    changed = False
    for name, value in fields.items():
        if getattr(pr, name) != value:
            setattr(pr, name, value)
            changed = True
    if changed:
        await publish(session, events.PullRequestUpdated, pr)
    return Mirrored(pr, created=False, head_moved=head_moved)


async def maybe_auto_review(session: AsyncSession, project: ProjectView, pr: PullRequest) -> bool:
    """Request a review when the project asks for automatic reviews; True if one was. Drafts
    wait: their review is requested when they are marked ready."""
    settings = project.settings or {}
    if not settings.get("auto_review") or pr.state != "open" or pr.draft:
        return False
    try:
        level = ReviewLevel(settings.get("review_level", "standard"))
    except ValueError:
        level = ReviewLevel.standard
    await start_review(session, project, pr, level, requested_by=None)
    return True


async def writable_for_sync(
    session: AsyncSession, caller: Caller, pr_id: uuid.UUID
) -> tuple[PullRequest, ProjectView]:
    # No row lock: GitHub may take seconds; the mirror step locks the row when it writes.
    pr, project, role = await _visible(session, caller, pr_id)
    ensure_writer(role, caller, "pull requests")
    return pr, project


async def project_of(session: AsyncSession, project_id: uuid.UUID) -> ProjectView | None:
    return await projects.get(session, project_id)
