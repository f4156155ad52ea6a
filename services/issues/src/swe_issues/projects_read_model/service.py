"""Who may do what in a project, from the read model (with the fallback for unknown ones)."""

import uuid
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from swe_common import projects_read_model as read_model
from swe_common.errors import Conflict, Forbidden, NotFound, ServiceUnavailable
from swe_common.projects_read_model import LOOKUPS, WRITER_ROLES, role_in
from swe_common.security import Caller
from swe_issues.projects_read_model import repository
from swe_issues.projects_read_model.models import ProjectView
from swe_issues.projects_read_model.schemas import (
    MemberAdded,
    MemberRemoved,
    ProjectSnapshot,
)


class ProjectLookup(Protocol):
    async def fetch(self, project_id: uuid.UUID, token: str) -> ProjectSnapshot | None: ...


def role_of(project: ProjectView | None, caller: Caller) -> str | None:
    """The caller's role in a read-model row loaded along with what it owns (None: the
    project is unknown here, deleted, or not the caller's to see). No fallback to the projects
    service: a resource found by its id names a project this service has already seen."""
    return role_in(project, caller.principal) if project is not None else None


async def _ask_projects(
    session: AsyncSession, caller: Caller, project_id: uuid.UUID, lookup: ProjectLookup
) -> ProjectView | None:
    """Refresh the read model from the projects service (see ``client.py`` for why)."""
    assert caller.token is not None
    snapshot = await lookup.fetch(project_id, caller.token)
    if snapshot is None or snapshot.id != project_id:
        return None
    await repository.upsert_snapshot(session, snapshot)
    await session.flush()
    return await repository.get(session, project_id, fresh=True)


async def readable_project(
    session: AsyncSession,
    caller: Caller,
    project_id: uuid.UUID,
    lookup: ProjectLookup | None = None,
) -> tuple[ProjectView, str]:
    """The project and the caller's role in it; 404 when it is not theirs to see.

    With ``lookup``, a project the read model does not know, or a live one in which the caller
    has no role yet (just added as a member, event still in flight), is asked for once.
    """
    project = await repository.get(session, project_id)
    role = role_in(project, caller.principal) if project is not None else None
    may_be_stale = project is None or (role is None and project.deleted_at is None)
    if may_be_stale and lookup is not None and caller.token is not None:
        LOOKUPS.miss()
        try:
            project = await _ask_projects(session, caller, project_id, lookup) or project
        except ServiceUnavailable:
            if project is None:
                raise
            # We know the project; without projects' word the read model decides (404).
        role = role_in(project, caller.principal) if project is not None else None
    else:
        LOOKUPS.hit()
    if project is None or role is None:
        raise NotFound(f"Project {project_id} does not exist")
    return project, role


def ensure_writer(role: str, caller: Caller, what: str) -> None:
    if caller.principal.is_readonly:
        raise Forbidden(f"Read-only credentials cannot change {what}")
    if role not in WRITER_ROLES:
        raise Forbidden(
            f"Viewers cannot change {what}; the project owner or a maintainer can",
            role=role,
        )


async def writable_project(
    session: AsyncSession,
    caller: Caller,
    project_id: uuid.UUID,
    what: str,
    lookup: ProjectLookup | None = None,
) -> ProjectView:
    project, role = await readable_project(session, caller, project_id, lookup)
    ensure_writer(role, caller, what)
    return project


def ensure_enabled(project: ProjectView) -> None:
    if not project.enabled:
        raise Conflict(f"Project {project.id} is disabled; enable it before adding work to it")


# -- applying projects events -------------------------------------------------------------------


async def apply_snapshot(session: AsyncSession, snapshot: ProjectSnapshot) -> None:
    await repository.upsert_snapshot(session, snapshot)


async def apply_deleted(
    session: AsyncSession, project_id: uuid.UUID, owner_id: uuid.UUID | None
) -> None:
    await repository.mark_deleted(session, project_id, owner_id)


async def apply_member_added(session: AsyncSession, event: MemberAdded) -> bool:
    """False when the project is unknown (its snapshot will carry the members)."""
    return await read_model.add_member(session, ProjectView, event)


async def apply_member_removed(session: AsyncSession, event: MemberRemoved) -> bool:
    return await read_model.remove_member(session, ProjectView, event)
