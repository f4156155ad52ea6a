"""HTTP routes of /api/v1/prs."""

import uuid
from typing import Any

from fastapi import APIRouter, status

from swe_common.deps import SessionDep
from swe_common.pagination import Page, PageQuery, page_of
from swe_common.permissions import Permission
from swe_common.security import api_key_scope, require_permission
from swe_issues.deps import CallerDep, GitHubDep, ProjectsDep, TokenBoxDep
from swe_issues.github.sync import sync_pull_request
from swe_issues.pull_requests import service
from swe_issues.pull_requests.models import PullRequest
from swe_issues.pull_requests.repository import PullRequestFilters
from swe_issues.pull_requests.schemas import (
    PullRequestOut,
    PullRequestState,
    PullRequestStats,
    PullRequestTrack,
    PullRequestUpdate,
    ReviewHistory,
    ReviewOut,
    ReviewRequest,
    ReviewStatus,
)

router = APIRouter(
    prefix="/api/v1/prs",
    tags=["pull requests"],
    dependencies=[api_key_scope("issues"), require_permission(Permission.ISSUES_READ)],
)


def _out(pr: PullRequest | Any) -> PullRequestOut:
    """From a ``PullRequest`` or a dict of a row of its table (a list page)."""
    return PullRequestOut.model_validate(pr)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Track a pull request")
async def track_pr(
    body: PullRequestTrack, session: SessionDep, caller: CallerDep, projects: ProjectsDep
) -> PullRequestOut:
    return _out(await service.track_pr(session, caller, body, projects))


@router.get("", summary="List tracked pull requests in the caller's projects")
async def list_prs(
    session: SessionDep,
    caller: CallerDep,
    projects: ProjectsDep,
    page: PageQuery,
    project_id: uuid.UUID | None = None,
    state: PullRequestState | None = None,
    review_status: ReviewStatus | None = None,
) -> Page[PullRequestOut]:
    filters = PullRequestFilters(
        project_id=project_id,
        state=state.value if state else None,
        review_status=review_status.value if review_status else None,
    )
    return page_of(PullRequestOut, await service.list_prs(session, caller, filters, page, projects))


@router.get("/stats", summary="Counts by state and review status, review quality")
async def pr_stats(
    session: SessionDep,
    caller: CallerDep,
    projects: ProjectsDep,
    project_id: uuid.UUID | None = None,
) -> PullRequestStats:
    return await service.stats(session, caller, project_id, projects)


@router.get("/{pr_id}", summary="Get a tracked pull request")
async def get_pr(pr_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> PullRequestOut:
    return _out(await service.get_pr(session, caller, pr_id))


@router.patch("/{pr_id}", summary="Change a tracked pull request")
async def update_pr(
    pr_id: uuid.UUID,
    body: PullRequestUpdate,
    session: SessionDep,
    caller: CallerDep,
    projects: ProjectsDep,
) -> PullRequestOut:
    return _out(await service.update_pr(session, caller, pr_id, body, projects))


@router.delete("/{pr_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Stop tracking")
async def untrack_pr(pr_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> None:
    await service.untrack_pr(session, caller, pr_id)


@router.post(
    "/{pr_id}/review",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Request a review (an agent runs it; the result arrives later)",
)
async def request_review(
    pr_id: uuid.UUID, session: SessionDep, caller: CallerDep, body: ReviewRequest | None = None
) -> ReviewOut:
    level = (body or ReviewRequest()).level
    return ReviewOut.model_validate(await service.request_review(session, caller, pr_id, level))


@router.get(
    "/{pr_id}/review",
    summary="The latest review result and the review history",
    dependencies=[require_permission(Permission.REVIEWS_READ)],
)
async def get_review(pr_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> ReviewHistory:
    return await service.review_history(session, caller, pr_id)


@router.post("/{pr_id}/sync", summary="Refresh a pull request from GitHub")
async def sync_from_github(
    pr_id: uuid.UUID, session: SessionDep, caller: CallerDep, github: GitHubDep, box: TokenBoxDep
) -> PullRequestOut:
    return _out(await sync_pull_request(session, caller, pr_id, github, box))
