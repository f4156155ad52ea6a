"""Queries on issues."""

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.pagination import Listing, Page, PageParams
from swe_common.projects_read_model import (
    ProjectAccess,
    page_with_access,
    visibility,
    visible_ids_of,
)
from swe_issues.issues.models import Issue
from swe_issues.projects_read_model.models import ProjectView
from swe_issues.projects_read_model.repository import visible_project_ids

_PRIORITY_RANK = sa.case(
    {"low": 0, "medium": 1, "high": 2, "critical": 3}, value=Issue.priority, else_=1
)
SORTABLE: dict[str, Any] = {
    "created_at": Issue.created_at,
    "updated_at": Issue.updated_at,
    "resolved_at": Issue.resolved_at,
    "priority": _PRIORITY_RANK,
    "status": Issue.status,
    "title": Issue.title,
}
DEFAULT_SORT = (Issue.created_at.desc(), Issue.id)


@dataclass(frozen=True, slots=True)
class IssueFilters:
    project_id: uuid.UUID | None = None
    status: str | None = None
    priority: str | None = None
    labels: tuple[str, ...] = ()
    assigned_agent_id: uuid.UUID | None = None
    q: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def scoped(statement: sa.Select[Any], subject: str | None) -> sa.Select[Any]:
    """Limit to the projects ``subject`` may see; ``None`` (an admin) sees all."""
    if subject is None:
        return statement
    return statement.where(Issue.project_id.in_(visible_project_ids(subject)))


# Which filters a list request uses (and who asks): the statement of each such shape is built
# once, its values bound per request (``Listing``).
_FILTERS = ("project_id", "status", "priority", "labels", "assigned_agent_id", "q")


def _filtered(shape: Any) -> sa.Select[Any]:
    """The issues table's columns (a page is read without the ORM), filtered as ``shape`` says
    (``(visibility, filter names...)``), the values left to bind."""
    visible, *used = shape
    statement = sa.select(Issue.__table__)
    if visible != "all":
        statement = statement.where(Issue.project_id.in_(visible_ids_of(ProjectView, visible)))
    if "project_id" in used:
        statement = statement.where(Issue.project_id == sa.bindparam("project_id"))
    if "status" in used:
        statement = statement.where(Issue.status == sa.bindparam("status"))
    if "priority" in used:
        statement = statement.where(Issue.priority == sa.bindparam("priority"))
    if "labels" in used:
        statement = statement.where(Issue.labels.contains(sa.bindparam("labels")))
    if "assigned_agent_id" in used:
        statement = statement.where(Issue.assigned_agent_id == sa.bindparam("assigned_agent_id"))
    if "q" in used:
        pattern = sa.bindparam("q", type_=sa.Text)
        statement = statement.where(
            sa.or_(
                Issue.title.ilike(pattern, escape="\\"),
                Issue.description.ilike(pattern, escape="\\"),
            )
        )
    return statement


LISTING = Listing(_filtered, allowed_sort=SORTABLE, default_sort=DEFAULT_SORT)


def _shape(filters: IssueFilters, subject: str | None) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The shape of a list request (``_filtered``) and the values it binds."""
    visible, values = visibility(subject)
    for name in ("project_id", "status", "priority", "assigned_agent_id"):
        if (value := getattr(filters, name)) is not None:
            values[name] = value
    if filters.labels:
        values["labels"] = list(filters.labels)
    if filters.q:
        values["q"] = f"%{_escape_like(filters.q)}%"
    return (visible, *(name for name in _FILTERS if name in values)), values


async def page(
    session: AsyncSession, filters: IssueFilters, params: PageParams, subject: str | None
) -> Page[Any]:
    """A page of rows of the issues table, as dicts (column key -> value)."""
    shape, values = _shape(filters, subject)
    return await LISTING.page(session, shape, values, params)


async def page_in_project(
    session: AsyncSession,
    project_id: uuid.UUID,
    filters: IssueFilters,
    params: PageParams,
    subject: str | None,
) -> tuple[ProjectAccess | None, Page[Any] | None]:
    """``page`` (filtered on ``project_id``, which ``filters`` names) along with the project's
    access columns, in one round trip (``page_with_access``)."""
    shape, values = _shape(filters, subject)
    return await page_with_access(session, ProjectView, project_id, LISTING, shape, values, params)


def stage(session: AsyncSession, issue: Issue) -> Issue:
    """Add a new issue to the session; its INSERT goes out with the next flush."""
    session.add(issue)
    return issue


async def add(session: AsyncSession, issue: Issue) -> Issue:
    session.add(issue)
    await session.flush()
    return issue


async def get(session: AsyncSession, issue_id: uuid.UUID) -> Issue | None:
    return await session.get(Issue, issue_id)


async def get_for_update(session: AsyncSession, issue_id: uuid.UUID) -> Issue | None:
    return await session.scalar(sa.select(Issue).where(Issue.id == issue_id).with_for_update())


async def by_github_number(
    session: AsyncSession, project_id: uuid.UUID, number: int
) -> Issue | None:
    return await session.scalar(
        sa.select(Issue)
        .where(Issue.project_id == project_id, Issue.github_number == number)
        .with_for_update()
    )


async def unfinished_in_project(session: AsyncSession, project_id: uuid.UUID) -> list[Issue]:
    rows = await session.scalars(
        sa.select(Issue)
        .where(
            Issue.project_id == project_id, Issue.status.in_(("open", "in_progress", "in_review"))
        )
        .order_by(Issue.created_at)
        .with_for_update()
    )
    return list(rows)


async def delete(session: AsyncSession, issue: Issue) -> None:
    await session.delete(issue)
    await session.flush()


@dataclass(frozen=True, slots=True)
class StatsRows:
    by_status: dict[str, int]
    by_priority: dict[str, int]
    resolved_count: int
    mean_resolve_seconds: float | None


async def stats(
    session: AsyncSession, project_id: uuid.UUID | None, subject: str | None
) -> StatsRows:
    base = scoped(sa.select(Issue), subject)
    if project_id is not None:
        base = base.where(Issue.project_id == project_id)
    issues = base.subquery()
    by_status = await session.execute(
        sa.select(issues.c.status, sa.func.count()).group_by(issues.c.status)
    )
    by_priority = await session.execute(
        sa.select(issues.c.priority, sa.func.count()).group_by(issues.c.priority)
    )
    seconds = sa.func.extract("epoch", issues.c.resolved_at - issues.c.created_at)
    resolved = (
        await session.execute(
            sa.select(sa.func.count(), sa.func.avg(seconds)).where(
                issues.c.status == "resolved", issues.c.resolved_at.is_not(None)
            )
        )
    ).one()
    return StatsRows(
        by_status={status: count for status, count in by_status.all()},
        by_priority={priority: count for priority, count in by_priority.all()},
        resolved_count=int(resolved[0]),
        mean_resolve_seconds=float(resolved[1]) if resolved[1] is not None else None,
    )
