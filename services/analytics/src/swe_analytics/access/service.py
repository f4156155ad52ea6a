"""The caller's scope: every project for an admin, else the projects they own or belong to."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics.access import repository
from swe_analytics.access.repository import Scope
from swe_common.errors import NotFound
from swe_common.security import Principal


async def scope_for(session: AsyncSession, principal: Principal) -> Scope:
    if principal.is_admin:
        return Scope(None)
    user = principal.user_id
    if user is None:
        return Scope(())
    return Scope(tuple(await repository.accessible_projects(session, user)))


async def require_project(
    session: AsyncSession, principal: Principal, project_id: uuid.UUID
) -> Scope:
    """The one-project scope, or 404 when the caller may not see it (or it is unknown)."""
    user = None if principal.is_admin else principal.user_id
    if (principal.is_admin or user is not None) and await repository.project_visible(
        session, project_id, user
    ):
        return Scope((project_id,))
    raise NotFound(f"Project {project_id} does not exist")
