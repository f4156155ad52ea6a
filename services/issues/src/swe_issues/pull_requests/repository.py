"""Queries on pull requests and reviews."""

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
from swe_issues.projects_read_model.models import ProjectView
from swe_issues.projects_read_model.repository import visible_project_ids
from swe_issues.pull_requests.models import PullRequest, Review

SORTABLE: dict[str, Any] = {
    "created_at": PullRequest.created_at,
    "updated_at": PullRequest.updated_at,
    "number": PullRequest.number,
    "state": PullRequest.state,
    "review_status": PullRequest.review_status,
}
DEFAULT_SORT = (PullRequest.created_at.desc(), PullRequest.id)
HISTORY_LIMIT = 50


@dataclass(frozen=True, slots=True)
class PullRequestFilters:
    project_id: uuid.UUID | None = None
    state: str | None = None
    review_status: str | None = None


def scoped(statement: sa.Select[Any], subject: str | None) -> sa.Select[Any]:
    if subject is None:
        return statement
    return statement.where(PullRequest.project_id.in_(visible_project_ids(subject)))


_FILTERS = ("project_id", "state", "review_status")


def _filtered(shape: Any) -> sa.Select[Any]:
    """The pull requests table's columns (a page is read without the ORM), filtered as
    ``shape`` says (``(visibility, filter names...)``), the values left to bind."""
    visible, *used = shape
    statement = sa.select(PullRequest.__table__)
    if visible != "all":
        statement = statement.where(
            PullRequest.project_id.in_(visible_ids_of(ProjectView, visible))
        )
    for name in used:
        statement = statement.where(getattr(PullRequest, name) == sa.bindparam(name))
    return statement


# A page of pull requests, its statements built once per filter shape (see ``Listing``).
LISTING = Listing(_filtered, allowed_sort=SORTABLE, default_sort=DEFAULT_SORT)


def _shape(
    filters: PullRequestFilters, subject: str | None
) -> tuple[tuple[str, ...], dict[str, Any]]:
    visible, values = visibility(subject)
    for name in _FILTERS:
        if (value := getattr(filters, name)) is not None:
            values[name] = value
    return (visible, *(name for name in _FILTERS if name in values)), values


async def page(
    session: AsyncSession, filters: PullRequestFilters, params: PageParams, subject: str | None
) -> Page[Any]:
    """A page of rows of the pull requests table, as dicts (column key -> value)."""
    shape, values = _shape(filters, subject)
    return await LISTING.page(session, shape, values, params)


async def page_in_project(
    session: AsyncSession,
    project_id: uuid.UUID,
    filters: PullRequestFilters,
    params: PageParams,
    subject: str | None,
) -> tuple[ProjectAccess | None, Page[Any] | None]:
    """``page`` (filtered on ``project_id``, which ``filters`` names) along with the project's
    access columns, in one round trip (``page_with_access``)."""
    shape, values = _shape(filters, subject)
    return await page_with_access(session, ProjectView, project_id, LISTING, shape, values, params)


def stage(session: AsyncSession, row: PullRequest) -> None:
    """Add a new pull request to the session; its INSERT goes out with the next flush."""
    session.add(row)


async def add(session: AsyncSession, row: PullRequest | Review) -> None:
    session.add(row)
    await session.flush()


async def get(session: AsyncSession, pr_id: uuid.UUID) -> PullRequest | None:
    return await session.get(PullRequest, pr_id)


async def get_for_update(session: AsyncSession, pr_id: uuid.UUID) -> PullRequest | None:
    return await session.scalar(
        sa.select(PullRequest).where(PullRequest.id == pr_id).with_for_update()
    )


async def by_number(
    session: AsyncSession, project_id: uuid.UUID, number: int
) -> PullRequest | None:
    return await session.scalar(
        sa.select(PullRequest)
        .where(PullRequest.project_id == project_id, PullRequest.number == number)
        .with_for_update()
    )


async def in_project(session: AsyncSession, project_id: uuid.UUID) -> list[PullRequest]:
    rows = await session.scalars(
        sa.select(PullRequest)
        .where(PullRequest.project_id == project_id)
        .order_by(PullRequest.created_at)
        .with_for_update()
    )
    return list(rows)


async def delete(session: AsyncSession, pr: PullRequest) -> None:
    # Reviews go with it (ON DELETE CASCADE).
    await session.execute(sa.delete(PullRequest).where(PullRequest.id == pr.id))
    session.expunge(pr)


async def review_for_update(session: AsyncSession, review_id: uuid.UUID) -> Review | None:
    return await session.scalar(sa.select(Review).where(Review.id == review_id).with_for_update())


async def latest_review_id(session: AsyncSession, pr_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(
        sa.select(Review.id)
        .where(Review.pull_request_id == pr_id)
        .order_by(Review.requested_at.desc(), Review.id)
        .limit(1)
    )


async def reviews_of(session: AsyncSession, pr_id: uuid.UUID) -> list[Review]:
    rows = await session.scalars(
        sa.select(Review)
        .where(Review.pull_request_id == pr_id)
        .order_by(Review.requested_at.desc(), Review.id)
        .limit(HISTORY_LIMIT)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class StatsRows:
    by_state: dict[str, int]
    by_review_status: dict[str, int]
    reviews_completed: int
    mean_quality_score: float | None


async def stats(
    session: AsyncSession, project_id: uuid.UUID | None, subject: str | None
) -> StatsRows:
    base = scoped(sa.select(PullRequest), subject)
    if project_id is not None:
        base = base.where(PullRequest.project_id == project_id)
    prs = base.subquery()
    by_state = await session.execute(sa.select(prs.c.state, sa.func.count()).group_by(prs.c.state))
    by_review = await session.execute(
        sa.select(prs.c.review_status, sa.func.count()).group_by(prs.c.review_status)
    )
    reviews = (
        await session.execute(
            sa.select(sa.func.count(), sa.func.avg(Review.quality_score)).where(
                Review.pull_request_id.in_(sa.select(prs.c.id)), Review.status == "completed"
            )
        )
    ).one()
    return StatsRows(
        by_state={state: count for state, count in by_state.all()},
        by_review_status={status: count for status, count in by_review.all()},
        reviews_completed=int(reviews[0]),
        mean_quality_score=float(reviews[1]) if reviews[1] is not None else None,
    )
