"""Who may see which project: the projects read model folded from the projects' events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics.models import agents, projects, runs


@dataclass(frozen=True, slots=True)
class Scope:
    """Which projects a question covers: ``None`` is every project (admins)."""

    project_ids: tuple[uuid.UUID, ...] | None

    @property
    def is_all(self) -> bool:
        return self.project_ids is None


def _member_of(user_id: uuid.UUID) -> sa.ColumnElement[bool]:
    present = projects.c.members[str(user_id)]["present"].astext == "true"
    return sa.or_(projects.c.owner_id == user_id, present)


async def accessible_projects(session: AsyncSession, user_id: uuid.UUID) -> list[uuid.UUID]:
    result = await session.execute(
        sa.select(projects.c.id).where(~projects.c.deleted, _member_of(user_id))
    )
    return list(result.scalars().all())


async def project_visible(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID | None
) -> bool:
    """Whether the project is known (and, for a user, theirs); ``user_id=None`` is an admin."""
    statement = sa.select(projects.c.id).where(projects.c.id == project_id, ~projects.c.deleted)
    if user_id is not None:
        statement = statement.where(_member_of(user_id))
    return (await session.scalar(statement)) is not None


async def agent_project(session: AsyncSession, agent_id: uuid.UUID) -> uuid.UUID | None:
    """The project an agent belongs to, from its definition or else from its runs."""
    found: uuid.UUID | None = await session.scalar(
        sa.select(agents.c.project_id).where(agents.c.id == agent_id, ~agents.c.deleted)
    )
    if found is not None:
        return found
    from_runs: uuid.UUID | None = await session.scalar(
        sa.select(runs.c.project_id)
        .where(runs.c.agent_id == agent_id, runs.c.project_id.is_not(None))
        .limit(1)
    )
    return from_runs


def in_scope(column: sa.ColumnElement[Any], scope: Scope) -> sa.ColumnElement[bool]:
    if scope.project_ids is None:
        return sa.true()
    return column == sa.any_(sa.cast(list(scope.project_ids), sa.ARRAY(sa.Uuid)))
