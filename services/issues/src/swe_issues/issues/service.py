"""Issues: creation, the status flow, assignment, resolution, stats, and GitHub mirroring."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.db import utcnow
from swe_common.errors import Conflict, Unprocessable
from swe_common.events import EventSpec
from swe_common.pagination import Page, PageParams
from swe_common.security import Caller
from swe_issues import events
from swe_issues.issues import repository
from swe_issues.issues.models import Issue
from swe_issues.issues.repository import IssueFilters
from swe_issues.issues.schemas import IssueCreate, IssueStats, IssueStatus, IssueUpdate, Priority
from swe_issues.projects_read_model.models import ProjectView
from swe_issues.projects_read_model.service import (
    ProjectLookup,
    ensure_enabled,
    ensure_may_update,
    ensure_member,
    ensure_writer,
    read_visible_row,
    readable_page,
    readable_project,
    readable_role,
    visible_row,
    writable_project,
)
from swe_issues.pull_requests import repository as pr_repository

# open -> in_progress -> in_review -> resolved | closed; a finished issue can be reopened.
# An agent's draft pull request moves an open or in_progress issue to in_review (delivery).
UNFINISHED = ("open", "in_progress", "in_review")
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"in_progress", "closed"}),
    "in_progress": frozenset({"open", "in_review", "resolved", "closed"}),
    "in_review": frozenset({"open", "in_progress", "resolved", "closed"}),
    "resolved": frozenset({"open"}),
    "closed": frozenset({"open"}),
}
STATUS_EVENTS: dict[str, EventSpec] = {
    "resolved": events.IssueResolved,
    "closed": events.IssueClosed,
}


def check_transition(issue: Issue, target: str) -> None:
    allowed = TRANSITIONS[issue.status]
    if target not in allowed:
        raise Conflict(
            f"An issue that is {issue.status} cannot become {target}; "
            f"allowed from {issue.status}: {', '.join(sorted(allowed))}",
            current_status=issue.status,
            allowed_transitions=sorted(allowed),
        )


def apply_status(issue: Issue, target: str) -> None:
    now = utcnow()
    if target == "resolved":
        issue.resolved_at = now
    elif target == "closed":
        issue.closed_at = now
    elif target == "open" and issue.status in ("resolved", "closed"):
        # Reopened: the previous outcome no longer describes the issue.
        issue.resolved_at = issue.closed_at = None
        issue.resolution = issue.pull_request_id = None
    issue.status = target


def snapshot(issue: Issue) -> events.IssuePayload:
    return events.IssuePayload(
        id=str(issue.id),
        project_id=str(issue.project_id),
        title=issue.title,
        description=issue.description,
        status=issue.status,
        priority=issue.priority,
        labels=list(issue.labels),
        assigned_agent_id=str(issue.assigned_agent_id) if issue.assigned_agent_id else None,
        created_by=issue.created_by,
        created_at=issue.created_at,
        updated_at=issue.updated_at,
        resolved_at=issue.resolved_at,
        assignee_id=str(issue.assignee_id) if issue.assignee_id else None,
    )


async def publish(session: AsyncSession, spec: EventSpec, issue: Issue) -> None:
    if sa.inspect(issue).persistent:
        issue.updated_at = utcnow()
    # else a new issue: its INSERT (this flush) stamps it, and no UPDATE has to follow.
    await session.flush()
    payload = snapshot(issue)
    if spec is events.IssueResolved:
        payload = events.IssueResolvedPayload(
            **payload.model_dump(),
            resolution=issue.resolution,
            pull_request_id=str(issue.pull_request_id) if issue.pull_request_id else None,
        )
    await events.outbox.publish(session, spec, payload, subject=str(issue.id))


# -- reading ------------------------------------------------------------------------------------


async def _visible_issue(
    session: AsyncSession, caller: Caller, issue_id: uuid.UUID, *, lock: bool = False
) -> tuple[Issue, str]:
    """The issue and the caller's role in its project; 404 when it is not theirs to see."""
    issue, _, role = await _visible_with_project(session, caller, issue_id, lock=lock)
    return issue, role


async def _visible_with_project(
    session: AsyncSession, caller: Caller, issue_id: uuid.UUID, *, lock: bool = False
) -> tuple[Issue, ProjectView, str]:
    return await visible_row(session, caller, Issue, issue_id, "Issue", lock=lock)


async def get_issue(session: AsyncSession, caller: Caller, issue_id: uuid.UUID) -> Any:
    """The issue's row (a dict of its columns; no ORM object: a read only), 404 when it is not
    the caller's to see."""
    return await read_visible_row(session, caller, Issue, issue_id, "Issue")


async def list_issues(
    session: AsyncSession,
    caller: Caller,
    filters: IssueFilters,
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
) -> IssueStats:
    if project_id is not None:
        await readable_role(session, caller, project_id, lookup)
    rows = await repository.stats(session, project_id, None if caller.is_admin else caller.subject)
    return IssueStats(
        project_id=project_id,
        total=sum(rows.by_status.values()),
        by_status={s: rows.by_status.get(s.value, 0) for s in IssueStatus},
        by_priority={p: rows.by_priority.get(p.value, 0) for p in Priority},
        resolved_count=rows.resolved_count,
        mean_time_to_resolve_seconds=rows.mean_resolve_seconds,
    )


# -- changing -----------------------------------------------------------------------------------


async def _writable_issue(
    session: AsyncSession, caller: Caller, issue_id: uuid.UUID, *, lock: bool = True
) -> Issue:
    """An issue the caller may do anything to (``issues.write`` and a writer relation)."""
    issue, role = await _visible_issue(session, caller, issue_id, lock=lock)
    ensure_writer(role, caller, "issues")
    return issue


async def _updatable_issue(
    session: AsyncSession, caller: Caller, issue_id: uuid.UUID
) -> tuple[Issue, ProjectView, str]:
    """An issue the caller may change: any (``issues.write``), or one assigned to it
    (``issues.update_assigned``, the agent role)."""
    issue, project, role = await _visible_with_project(session, caller, issue_id, lock=True)
    ensure_may_update(role, caller, issue.assignee_id, "issues")
    return issue, project, role


async def create_issue(
    session: AsyncSession, caller: Caller, data: IssueCreate, lookup: ProjectLookup | None
) -> Issue:
    project = await writable_project(session, caller, data.project_id, "issues", lookup)
    ensure_enabled(project)
    if data.github_number is not None and await repository.by_github_number(
        session, project.id, data.github_number
    ):
        raise Conflict(f"GitHub issue #{data.github_number} is already linked in this project")
    issue = repository.stage(
        session,
        Issue(
            project_id=project.id,
            title=data.title,
            description=data.description,
            priority=data.priority.value,
            labels=_unique(data.labels),
            status="open",
            created_by=caller.subject,
            github_number=data.github_number,
        ),
    )
    await publish(session, events.IssueCreated, issue)  # flushes: the INSERT
    return issue


async def update_issue(
    session: AsyncSession,
    caller: Caller,
    issue_id: uuid.UUID,
    data: IssueUpdate,
    lookup: ProjectLookup | None = None,
) -> Issue:
    issue, project, role = await _updatable_issue(session, caller, issue_id)
    reassigned = "assignee_id" in data.model_fields_set and data.assignee_id != issue.assignee_id
    if reassigned:
        # Whom the work is assigned to is the project writers' call, never the assignee's.
        ensure_writer(role, caller, "assignees")
        if data.assignee_id is not None:
            await ensure_member(
                session, caller, project, data.assignee_id, "body.assignee_id", lookup
            )
        issue.assignee_id = data.assignee_id
    changes = data.model_dump(exclude_none=True, exclude={"status", "assignee_id"})
    if "labels" in changes:
        changes["labels"] = _unique(changes["labels"])
    for name, value in changes.items():
        setattr(issue, name, value.value if isinstance(value, Priority) else value)
    spec: EventSpec = events.IssueUpdated
    if data.status is not None and data.status.value != issue.status:
        check_transition(issue, data.status.value)
        apply_status(issue, data.status.value)
        spec = STATUS_EVENTS.get(issue.status, events.IssueUpdated)
    elif not changes and not reassigned:
        return issue
    await publish(session, spec, issue)
    return issue


async def assign_issue(
    session: AsyncSession, caller: Caller, issue_id: uuid.UUID, agent_id: uuid.UUID
) -> Issue:
    issue, _, _ = await _updatable_issue(session, caller, issue_id)
    if issue.status not in ("open", "in_progress"):
        raise Conflict(
            f"An issue that is {issue.status} cannot be assigned; reopen it first",
            current_status=issue.status,
            allowed_transitions=sorted(TRANSITIONS[issue.status]),
        )
    issue.assigned_agent_id = agent_id
    if issue.status == "open":
        # Assigning work to an agent is what starts it.
        apply_status(issue, "in_progress")
    await publish(session, events.IssueAssigned, issue)
    return issue


async def resolve_issue(
    session: AsyncSession,
    caller: Caller,
    issue_id: uuid.UUID,
    resolution: str,
    pull_request_id: uuid.UUID | None,
) -> Issue:
    issue, _, _ = await _updatable_issue(session, caller, issue_id)
    check_transition(issue, "resolved")
    if pull_request_id is not None:
        pull_request = await pr_repository.get(session, pull_request_id)
        if pull_request is None or pull_request.project_id != issue.project_id:
            raise Unprocessable(
                f"Pull request {pull_request_id} is not tracked in this issue's project",
                errors=[{"field": "body.pull_request_id", "message": "unknown pull request"}],
            )
    apply_status(issue, "resolved")
    issue.resolution = resolution
    issue.pull_request_id = pull_request_id
    await publish(session, events.IssueResolved, issue)
    return issue


async def delete_issue(session: AsyncSession, caller: Caller, issue_id: uuid.UUID) -> None:
    issue = await _writable_issue(session, caller, issue_id)
    payload = events.IssueDeletedPayload(id=str(issue.id), project_id=str(issue.project_id))
    await repository.delete(session, issue)
    await events.outbox.publish(session, events.IssueDeleted, payload, subject=payload.id)


async def close_for_deleted_project(session: AsyncSession, project_id: uuid.UUID) -> int:
    """Close every unfinished issue of a deleted project; how many were closed."""
    issues = await repository.unfinished_in_project(session, project_id)
    for issue in issues:
        apply_status(issue, "closed")
        await publish(session, events.IssueClosed, issue)
    return len(issues)


# -- GitHub mirroring ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GitHubIssue:
    """What we take from a GitHub issue (webhook payload or REST answer)."""

    number: int
    title: str
    body: str
    state: str  # "open" | "closed"
    labels: list[str]
    html_url: str | None
    author: str | None = None
    assignees: list[str] = field(default_factory=list)
    state_reason: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MirroredIssue:
    issue: Issue
    # The GitHub state was older than the one held (a late or redelivered delivery): nothing
    # changed and no event was published.
    stale: bool = False


def is_older(held: datetime | None, incoming: datetime | None) -> bool:
    """Whether GitHub's ``incoming`` updated_at is before the ``held`` one (equal times count
    as current: GitHub's times have one-second steps, and one change often sends several)."""
    return held is not None and incoming is not None and incoming < held


async def mirror_github_issue(
    session: AsyncSession, project: ProjectView, gh: GitHubIssue
) -> MirroredIssue:
    """Create or update the issue linked to a GitHub issue, following its open/closed state,
    unless what is held is newer (or the GitHub issue was deleted or transferred away)."""
    issue = await repository.by_github_number(session, project.id, gh.number)
    if issue is None:
        issue = repository.stage(
            session,
            Issue(
                project_id=project.id,
                status="open",
                github_number=gh.number,
                **_github_fields(gh),
            ),
        )
        await publish(session, events.IssueCreated, issue)
        if gh.state == "closed":
            apply_status(issue, "closed")
            await publish(session, events.IssueClosed, issue)
        return MirroredIssue(issue)
    if issue.github_removed is not None or is_older(issue.github_updated_at, gh.updated_at):
        return MirroredIssue(issue, stale=True)
    changed = _copy_fields(issue, gh)
    spec: EventSpec | None = events.IssueUpdated if changed else None
    if gh.state == "closed" and issue.status in UNFINISHED:
        apply_status(issue, "closed")
        spec = events.IssueClosed
    elif gh.state == "open" and issue.status in ("resolved", "closed"):
        apply_status(issue, "open")
        spec = events.IssueUpdated
    if spec is not None:
        await publish(session, spec, issue)
    return MirroredIssue(issue)


async def remove_github_issue(
    session: AsyncSession, project: ProjectView, gh: GitHubIssue, removal: str, note: str
) -> MirroredIssue | None:
    """The GitHub issue was deleted or transferred to another repository: close the linked
    issue, saying why, for good (no later delivery about that number applies). None when it
    was never mirrored here."""
    issue = await repository.by_github_number(session, project.id, gh.number)
    if issue is None:
        return None
    if issue.github_removed is not None or is_older(issue.github_updated_at, gh.updated_at):
        return MirroredIssue(issue, stale=True)
    issue.github_removed = removal
    issue.github_updated_at = gh.updated_at or issue.github_updated_at
    spec: EventSpec = events.IssueUpdated
    if issue.status in UNFINISHED:
        apply_status(issue, "closed")
        issue.resolution = note
        spec = events.IssueClosed
    await publish(session, spec, issue)
    return MirroredIssue(issue)


def _github_fields(gh: GitHubIssue) -> dict[str, Any]:
    return {
        "title": gh.title,
        "description": gh.body,
        "labels": gh.labels,
        "github_url": gh.html_url,
        "github_author": gh.author,
        "github_assignees": gh.assignees,
        "github_state_reason": gh.state_reason,
        "github_updated_at": gh.updated_at,
    }


def _copy_fields(issue: Issue, gh: GitHubIssue) -> bool:
    """Copy GitHub's fields; True when one a reader sees changed (not only the time)."""
    changed = False
    for field_name, value in _github_fields(gh).items():
        if field_name == "github_updated_at":
            if value is not None:
                issue.github_updated_at = value
        elif getattr(issue, field_name) != value:
            setattr(issue, field_name, value)
            changed = True
    return changed


async def linked_issue_for_sync(
    session: AsyncSession, caller: Caller, issue_id: uuid.UUID
) -> tuple[Issue, ProjectView]:
    # No row lock: GitHub may take seconds; the mirror step locks the row when it writes.
    issue = await _writable_issue(session, caller, issue_id, lock=False)
    if issue.github_number is None:
        raise Conflict(f"Issue {issue_id} is not linked to a GitHub issue; nothing to sync")
    project, _ = await readable_project(session, caller, issue.project_id)
    return issue, project


def _unique(labels: list[str]) -> list[str]:
    return list(dict.fromkeys(labels))
