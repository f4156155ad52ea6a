"""HTTP routes of /api/v1/issues."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from swe_common.deps import SessionDep
from swe_common.pagination import Page, PageQuery, page_of
from swe_common.permissions import Permission
from swe_common.security import api_key_scope, require_permission
from swe_issues.deps import CallerDep, GitHubDep, ProjectsDep, TokenBoxDep
from swe_issues.github.sync import sync_issue
from swe_issues.issues import service
from swe_issues.issues.models import Issue
from swe_issues.issues.repository import IssueFilters
from swe_issues.issues.schemas import (
    AssignRequest,
    IssueCreate,
    IssueOut,
    IssueStats,
    IssueStatus,
    IssueUpdate,
    Priority,
    ResolveRequest,
)
from swe_issues.text import Label, SearchText

router = APIRouter(
    prefix="/api/v1/issues",
    tags=["issues"],
    dependencies=[api_key_scope("issues"), require_permission(Permission.ISSUES_READ)],
)


def _out(issue: Issue | Any) -> IssueOut:
    """From an ``Issue``, a row of its table or a dict of one (reads skip the ORM)."""
    return IssueOut.model_validate(issue)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an issue")
async def create_issue(
    body: IssueCreate, session: SessionDep, caller: CallerDep, projects: ProjectsDep
) -> IssueOut:
    return _out(await service.create_issue(session, caller, body, projects))


@router.get("", summary="List issues in the caller's projects")
async def list_issues(
    session: SessionDep,
    caller: CallerDep,
    projects: ProjectsDep,
    page: PageQuery,
    project_id: uuid.UUID | None = None,
    status: IssueStatus | None = None,
    priority: Priority | None = None,
    labels: Annotated[
        list[Label] | None, Query(max_length=20, description="Issues having all these labels")
    ] = None,
    assigned_agent_id: uuid.UUID | None = None,
    q: Annotated[SearchText | None, Query(description="Text in title or description")] = None,
) -> Page[IssueOut]:
    filters = IssueFilters(
        project_id=project_id,
        status=status.value if status else None,
        priority=priority.value if priority else None,
        labels=tuple(labels or ()),
        assigned_agent_id=assigned_agent_id,
        q=q or None,
    )
    return page_of(IssueOut, await service.list_issues(session, caller, filters, page, projects))


@router.get("/stats", summary="Counts by status and priority, mean time to resolve")
async def issue_stats(
    session: SessionDep,
    caller: CallerDep,
    projects: ProjectsDep,
    project_id: uuid.UUID | None = None,
) -> IssueStats:
    return await service.stats(session, caller, project_id, projects)


@router.get("/{issue_id}", summary="Get an issue")
async def get_issue(issue_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> IssueOut:
    return _out(await service.get_issue(session, caller, issue_id))


@router.patch("/{issue_id}", summary="Change an issue's fields or status")
async def update_issue(
    issue_id: uuid.UUID,
    body: IssueUpdate,
    session: SessionDep,
    caller: CallerDep,
    projects: ProjectsDep,
) -> IssueOut:
    return _out(await service.update_issue(session, caller, issue_id, body, projects))


@router.delete("/{issue_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an issue")
async def delete_issue(issue_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> None:
    await service.delete_issue(session, caller, issue_id)


@router.post("/{issue_id}/assign", summary="Assign an agent (starts the work)")
async def assign_issue(
    issue_id: uuid.UUID, body: AssignRequest, session: SessionDep, caller: CallerDep
) -> IssueOut:
    return _out(await service.assign_issue(session, caller, issue_id, body.agent_id))


@router.post("/{issue_id}/resolve", summary="Resolve an issue, maybe naming its pull request")
async def resolve_issue(
    issue_id: uuid.UUID, body: ResolveRequest, session: SessionDep, caller: CallerDep
) -> IssueOut:
    issue = await service.resolve_issue(
        session, caller, issue_id, body.resolution, body.pull_request_id
    )
    return _out(issue)


@router.post("/{issue_id}/sync", summary="Refresh a GitHub-linked issue from GitHub")
async def sync_from_github(
    issue_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    github: GitHubDep,
    box: TokenBoxDep,
) -> IssueOut:
    return _out(await sync_issue(session, caller, issue_id, github, box))
