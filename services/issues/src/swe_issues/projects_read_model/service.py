"""Who may do what in a project, from the read model (with the fallback for unknown ones)."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from swe_common import projects_read_model as read_model
from swe_common.errors import Conflict, Forbidden, NotFound, ServiceUnavailable, Unprocessable
from swe_common.pagination import Page, PageParams
from swe_common.permissions import WRITER_RELATIONS, Permission, require
from swe_common.projects_read_model import (
    LOOKUPS,
    ProjectAccess,
    read_access,
    read_with_project,
    role_in,
)
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


Row = TypeVar("Row", bound=repository.InProject)


def role_of(project: ProjectView | None, caller: Caller) -> str | None:
    """The caller's role in a read-model row loaded along with what it owns (None: the
    project is unknown here, deleted, or not the caller's to see). No fallback to the projects
    service: a resource found by its id names a project this service has already seen."""
    return role_in(project, caller.principal) if project is not None else None


async def visible_row(
    session: AsyncSession,
    caller: Caller,
    model: type[Row],
    row_id: uuid.UUID,
    label: str,
    *,
    lock: bool = False,
) -> tuple[Row, ProjectView, str]:
    """A row of a project (an issue, a pull request), its project and the caller's role there,
    in one round trip; 404 naming ``label`` when it is not the caller's to see (unknown, or in
    a project it has no relation to: the two are not told apart)."""
    found = await repository.get_with_project(session, model, row_id, lock=lock)
    role = role_of(found[1], caller) if found is not None else None
    if found is None or found[1] is None or role is None:
        raise NotFound(f"{label} {row_id} does not exist")
    return found[0], found[1], role


async def read_visible_row(
    session: AsyncSession, caller: Caller, model: type[Any], row_id: uuid.UUID, label: str
) -> Any:
    """``visible_row`` for a read that returns the row: a row of ``model``'s table (a dict of
    its columns, for the response's model) with its project's access columns in the same
    statement, and no ORM object (``swe_common.projects_read_model.read_with_project``); the
    same 404."""
    found = await read_with_project(session, model, ProjectView, row_id)
    if found is None or found[1] is None or role_in(found[1], caller.principal) is None:
        raise NotFound(f"{label} {row_id} does not exist")
    return found[0]


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


async def readable_role(
    session: AsyncSession,
    caller: Caller,
    project_id: uuid.UUID,
    lookup: ProjectLookup | None = None,
) -> str:
    """``readable_project`` for a read that needs only the caller's role (a list page, stats):
    the read model's access columns without the ORM when they answer; the full path (with the
    projects service) only when the project may be stale here."""
    return await role_from_access(
        session, caller, project_id, await read_access(session, ProjectView, project_id), lookup
    )


async def role_from_access(
    session: AsyncSession,
    caller: Caller,
    project_id: uuid.UUID,
    access: ProjectAccess | None,
    lookup: ProjectLookup | None = None,
) -> str:
    """``readable_role`` from the access columns already read (``page_with_access``)."""
    role = role_in(access, caller.principal) if access is not None else None
    if role is not None:
        LOOKUPS.hit()
        return role
    if access is not None and access.deleted_at is not None:
        LOOKUPS.hit()  # a tombstone: nobody's to see, nothing to ask
        raise NotFound(f"Project {project_id} does not exist")
    _, role = await readable_project(session, caller, project_id, lookup)
    return role


class ProjectFiltered(Protocol):
    @property
    def project_id(self) -> uuid.UUID | None: ...


Filters = TypeVar("Filters", bound=ProjectFiltered)


async def readable_page(
    session: AsyncSession,
    caller: Caller,
    filters: Filters,
    params: PageParams,
    lookup: ProjectLookup | None,
    page: Callable[[AsyncSession, Filters, PageParams, str | None], Awaitable[Page[Any]]],
    page_in_project: Callable[
        [AsyncSession, uuid.UUID, Filters, PageParams, str | None],
        Awaitable[tuple[ProjectAccess | None, Page[Any] | None]],
    ],
) -> Page[Any]:
    """A list page of what the caller may see (a repository's ``page``). Filtered on one
    project, for a caller ``readable_role`` admits: the project's access columns come with the
    page (``page_in_project``, a round trip less), and the page is only returned once they
    grant the caller a role. When the role came from asking the projects service, which may
    have just brought the read model (whose rows scope the page) up to date, the page is read
    after it."""
    subject = None if caller.is_admin else caller.subject
    project_id = filters.project_id
    if project_id is None:
        return await page(session, filters, params, subject)
    access, found = await page_in_project(session, project_id, filters, params, subject)
    granted = access is not None and role_in(access, caller.principal) is not None
    await role_from_access(session, caller, project_id, access, lookup)
    if found is None or not granted:
        found = await page(session, filters, params, subject)
    return found


def ensure_writer_relation(role: str, what: str) -> None:
    if role not in WRITER_RELATIONS:
        raise Forbidden(
            f"Viewers cannot change {what}; the project owner or a maintainer can",
            role=role,
        )


def ensure_writer(
    role: str, caller: Caller, what: str, permission: Permission = Permission.ISSUES_WRITE
) -> None:
    """The caller's role grants ``permission`` and it is a writer (owner, maintainer) here."""
    require(caller.principal, permission, f"change {what}")
    ensure_writer_relation(role, what)


def ensure_may_update(role: str, caller: Caller, assignee_id: uuid.UUID | None, what: str) -> None:
    """Changing one issue or pull request: ``issues.write``, or ``issues.update_assigned``
    when it is assigned to the caller (the agent role); a writer relation in both cases."""
    ensure_may_act(
        role,
        caller,
        assignee_id,
        what,
        on_any=Permission.ISSUES_WRITE,
        on_assigned=Permission.ISSUES_UPDATE_ASSIGNED,
        doing="change",
    )


def ensure_may_comment(role: str, caller: Caller, assignee_id: uuid.UUID | None, what: str) -> None:
    """Commenting on one issue or pull request: ``issues.comment``, or
    ``issues.comment_assigned`` when it is assigned to the caller (the agent role); a writer
    relation in both cases."""
    ensure_may_act(
        role,
        caller,
        assignee_id,
        f"comments on {what}",
        on_any=Permission.ISSUES_COMMENT,
        on_assigned=Permission.ISSUES_COMMENT_ASSIGNED,
        doing="comment on",
        only=what,
    )


def ensure_may_act(
    role: str,
    caller: Caller,
    assignee_id: uuid.UUID | None,
    what: str,
    *,
    on_any: Permission,
    on_assigned: Permission,
    doing: str,
    only: str | None = None,
) -> None:
    """Acting on one issue or pull request: ``on_any`` lets the caller act on any, and
    ``on_assigned`` on the ones assigned to it; a writer relation in both cases. A caller
    holding only ``on_assigned`` is refused the others naming ``on_any`` (what it would need);
    one holding neither, naming the permission that would have applied."""
    assigned = assignee_id is not None and assignee_id == caller.user_id
    if not caller.may(on_any) and assigned:
        ensure_writer(role, caller, what, on_assigned)
        return
    if not caller.may(on_any) and caller.may(on_assigned):
        raise Forbidden(
            f"Your role ({', '.join(sorted(caller.roles))}) may {doing} only the "
            f"{only or what} assigned to it; this one is not",
            permission=on_any.value,
        )
    ensure_writer(role, caller, what, on_any)


def _is_member(project: ProjectView, account_id: uuid.UUID) -> bool:
    return project.owner_id == account_id or any(
        m.get("user_id") == str(account_id) for m in project.members
    )


async def ensure_member(
    session: AsyncSession,
    caller: Caller,
    project: ProjectView,
    account_id: uuid.UUID,
    field: str,
    lookup: ProjectLookup | None = None,
) -> None:
    """``account_id`` owns or is a member of the project (whom work may be assigned to). With
    ``lookup``, an account the read model does not list yet (just added, its event still in
    flight) is checked once against the projects service."""
    if _is_member(project, account_id):
        return
    if lookup is not None and caller.token is not None:
        fresh = await _ask_projects(session, caller, project.id, lookup)
        if fresh is not None and _is_member(fresh, account_id):
            return
    raise Unprocessable(
        f"Account {account_id} is not a member of project {project.id}",
        errors=[{"field": field, "message": "not a member of the project"}],
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
