"""Every query of the projects domain; visibility scoping happens here, once."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from swe_common.pagination import Page, PageParams, paginate
from swe_projects.models import Project, ProjectMember

SORTABLE = {
    "name": Project.name,
    "created_at": Project.created_at,
    "updated_at": Project.updated_at,
}


class DuplicateRow(Exception):
    """A unique key already exists (name per owner, member per project)."""


def _visible_to(user_id: uuid.UUID | None) -> sa.ColumnElement[bool]:
    if user_id is None:
        return sa.false()
    is_member = sa.exists().where(
        ProjectMember.project_id == Project.id, ProjectMember.user_id == user_id
    )
    return sa.or_(Project.owner_id == user_id, is_member)


async def get_visible(
    session: AsyncSession,
    project_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    see_all: bool,
    for_update: bool = False,
) -> Project | None:
    statement = (
        sa.select(Project).where(Project.id == project_id).options(selectinload(Project.members))
    )
    if not see_all:
        statement = statement.where(_visible_to(user_id))
    if for_update:
        # Serialises concurrent changes to one project so snapshots go out in commit order.
        statement = statement.with_for_update(of=Project)
    return (await session.scalars(statement)).one_or_none()


async def get_by_id(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    return await session.get(Project, project_id)


async def list_visible(
    session: AsyncSession,
    params: PageParams,
    *,
    user_id: uuid.UUID | None,
    see_all: bool,
    enabled: bool | None,
    owner_id: uuid.UUID | None,
    q: str | None,
) -> Page[Any]:
    statement = sa.select(Project).options(selectinload(Project.members))
    if not see_all:
        statement = statement.where(_visible_to(user_id))
    if enabled is not None:
        statement = statement.where(Project.enabled.is_(enabled))
    if owner_id is not None:
        statement = statement.where(Project.owner_id == owner_id)
    if q:
        statement = statement.where(Project.name.ilike(f"%{_escape_like(q)}%", escape="\\"))
    return await paginate(
        session,
        statement,
        params,
        allowed_sort=SORTABLE,
        default_sort=[Project.created_at.desc(), Project.id],
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def add(session: AsyncSession, row: Project | ProjectMember) -> None:
    session.add(row)
    await _flush(session)


async def flush(session: AsyncSession) -> None:
    await _flush(session)


async def _flush(session: AsyncSession) -> None:
    # Flushing here turns a unique violation into a clear domain error instead of a late
    # failure at commit.
    try:
        await session.flush()
    except IntegrityError as exc:
        raise DuplicateRow(str(exc.orig)) from None


async def delete(session: AsyncSession, row: Project | ProjectMember) -> None:
    await session.delete(row)
    await session.flush()
