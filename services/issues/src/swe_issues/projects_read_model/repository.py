"""Queries on the projects read model."""

import uuid
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.db import utcnow
from swe_issues.projects_read_model.models import ProjectView
from swe_issues.projects_read_model.schemas import ProjectSnapshot


async def get(
    session: AsyncSession, project_id: uuid.UUID, *, fresh: bool = False
) -> ProjectView | None:
    """``fresh`` reloads a row the session already holds (after a bulk upsert)."""
    return await session.get(ProjectView, project_id, populate_existing=fresh)


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
    return await session.scalar(
        sa.select(ProjectView).where(ProjectView.id == project_id).with_for_update()
    )


async def upsert_snapshot(session: AsyncSession, snapshot: ProjectSnapshot) -> None:
    """Insert or replace, unless we hold a newer snapshot or a tombstone (in one statement, so
    concurrent consumers and request-time fallbacks cannot interleave badly)."""
    values: dict[str, Any] = {
        "id": snapshot.id,
        "owner_id": snapshot.owner_id,
        "name": snapshot.name[:200],
        "enabled": snapshot.enabled,
        "repository_url": snapshot.repository_url,
        "default_branch": snapshot.default_branch[:200],
        "settings": snapshot.settings,
        "snapshot_updated_at": snapshot.updated_at,
        "synced_at": utcnow(),
    }
    members = [m.model_dump() for m in snapshot.members] if snapshot.members is not None else None
    insert = pg_insert(ProjectView).values(**values, members=members or [])
    updates = {key: insert.excluded[key] for key in values if key != "id"}
    if members is not None:
        updates["members"] = insert.excluded.members
    table = ProjectView.__table__
    newer_or_same = sa.or_(
        table.c.snapshot_updated_at.is_(None),
        insert.excluded.snapshot_updated_at.is_(None),
        table.c.snapshot_updated_at <= insert.excluded.snapshot_updated_at,
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.id],
            set_=updates,
            where=sa.and_(table.c.deleted_at.is_(None), newer_or_same),
        )
    )


async def mark_deleted(session: AsyncSession, project_id: uuid.UUID, owner_id: str) -> None:
    insert = pg_insert(ProjectView).values(
        id=project_id, owner_id=owner_id, members=[], settings={}, deleted_at=utcnow()
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=[ProjectView.__table__.c.id],
            set_={"deleted_at": insert.excluded.deleted_at, "synced_at": utcnow()},
        )
    )


def visible_project_ids(subject: str) -> sa.Select[Any]:
    """Ids of the live projects ``subject`` owns or is a member of."""
    return sa.select(ProjectView.id).where(
        ProjectView.deleted_at.is_(None),
        sa.or_(
            ProjectView.owner_id == subject,
            ProjectView.members.contains([{"user_id": subject}]),
        ),
    )
