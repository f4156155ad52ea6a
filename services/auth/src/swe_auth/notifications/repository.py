"""Queries on notice preferences and the project-owner read model."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.models import NotificationPreferences, ProjectOwner

NOTICES = ("issue_assigned", "review_finished", "run_failed")


async def preferences(session: AsyncSession, user_id: uuid.UUID) -> NotificationPreferences | None:
    return await session.get(NotificationPreferences, user_id)


async def save_preferences(
    session: AsyncSession, user_id: uuid.UUID, values: dict[str, bool], at: datetime
) -> NotificationPreferences:
    defaults = dict.fromkeys(NOTICES, False)
    upsert = (
        pg_insert(NotificationPreferences)
        .values(user_id=user_id, **{**defaults, **values}, updated_at=at)
        .on_conflict_do_update(
            index_elements=[NotificationPreferences.user_id], set_={**values, "updated_at": at}
        )
        .returning(NotificationPreferences)
    )
    result = await session.scalars(upsert, execution_options={"populate_existing": True})
    return result.one()


async def wants(session: AsyncSession, user_id: uuid.UUID, notice: str) -> bool:
    column = getattr(NotificationPreferences, notice)
    statement = sa.select(column).where(NotificationPreferences.user_id == user_id)
    return bool(await session.scalar(statement))


async def save_project(
    session: AsyncSession, project_id: uuid.UUID, owner_id: uuid.UUID, name: str, at: datetime
) -> None:
    statement = pg_insert(ProjectOwner).values(
        project_id=project_id, owner_id=owner_id, name=name[:200], updated_at=at
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ProjectOwner.project_id],
            set_={"owner_id": owner_id, "name": name[:200], "updated_at": at},
            # An older snapshot delivered late must not undo a newer one.
            where=ProjectOwner.updated_at <= at,
        )
    )


async def forget_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    await session.execute(sa.delete(ProjectOwner).where(ProjectOwner.project_id == project_id))


async def project(session: AsyncSession, project_id: uuid.UUID) -> ProjectOwner | None:
    return await session.get(ProjectOwner, project_id)
