"""Queries on the projects read model."""

import uuid
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common import projects_read_model as read_model
from swe_issues.projects_read_model.models import ProjectView
from swe_issues.projects_read_model.schemas import ProjectSnapshot


async def get(
    session: AsyncSession, project_id: uuid.UUID, *, fresh: bool = False
) -> ProjectView | None:
    """``fresh`` reloads a row the session already holds (after a bulk upsert)."""
    return await read_model.get(session, ProjectView, project_id, fresh=fresh)


class InProject(Protocol):
    """An ORM class whose rows belong to a project (issues, pull requests)."""

    id: Any
    project_id: Any


Row = TypeVar("Row", bound=InProject)


async def get_with_project(
    session: AsyncSession, model: type[Row], row_id: uuid.UUID, *, lock: bool = False
) -> tuple[Row, ProjectView | None] | None:
    """The row and its project's read-model row in one round trip (``lock``: the row only,
    ``FOR UPDATE OF`` its table); None when there is no such row."""
    statement = (
        sa.select(model, ProjectView)
        .outerjoin(ProjectView, ProjectView.id == model.project_id)
        .where(model.id == row_id)
    )
    if lock:
        statement = statement.with_for_update(of=model)
    row = (await session.execute(statement)).first()
    return None if row is None else (row[0], row[1])


async def get_for_update(session: AsyncSession, project_id: uuid.UUID) -> ProjectView | None:
    return await read_model.get_for_update(session, ProjectView, project_id)


async def upsert_snapshot(session: AsyncSession, snapshot: ProjectSnapshot) -> None:
    await read_model.upsert_snapshot(session, ProjectView, snapshot)


async def mark_deleted(
    session: AsyncSession, project_id: uuid.UUID, owner_id: uuid.UUID | None
) -> None:
    await read_model.mark_deleted(session, ProjectView, project_id, owner_id)


def visible_project_ids(subject: str) -> sa.Select[Any]:
    """Ids of the live projects ``subject`` owns or is a member of."""
    return read_model.visible_project_ids(ProjectView, subject)
