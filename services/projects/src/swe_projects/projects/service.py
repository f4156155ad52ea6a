"""Domain logic of projects and their members: validation, access rules, events."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.crypto import SecretBox
from swe_common.db import utcnow
from swe_common.errors import Conflict, NotFound, Unprocessable
from swe_common.events import EventSpec
from swe_common.pagination import Page, PageParams
from swe_common.permissions import Permission
from swe_common.repo_urls import validate_repository_url
from swe_common.security import Caller
from swe_projects import events
from swe_projects.crypto import new_webhook_secret
from swe_projects.models import Project, ProjectMember
from swe_projects.projects import repository
from swe_projects.projects.access import (
    require_creator,
    require_maintainer,
    require_owner,
    require_permission,
)
from swe_projects.projects.schemas import (
    MemberCreate,
    MemberUpdate,
    ProjectCreate,
    ProjectUpdate,
)


@dataclass(frozen=True, slots=True)
class RepositoryPolicy:
    allowed_hosts: tuple[str, ...]
    allow_file: bool


@dataclass(frozen=True, slots=True)
class NewSecret:
    project: Project
    secret: str


async def check_repository_url(url: str, policy: RepositoryPolicy) -> str:
    """The canonical form of ``url``, or a 422 that says what is wrong with it."""
    try:
        if policy.allow_file:
            # file:// checks the file system; keep it off the event loop.
            ref = await asyncio.to_thread(
                validate_repository_url,
                url,
                allowed_hosts=policy.allowed_hosts,
                allow_file=True,
            )
        else:
            ref = validate_repository_url(url, allowed_hosts=policy.allowed_hosts)
    except ValueError as exc:
        raise Unprocessable(
            f"repository_url: {exc}",
            errors=[{"field": "body.repository_url", "message": str(exc)}],
        ) from None
    return ref.url


def snapshot(project: Project | Any) -> events.ProjectSnapshot:
    """Of a ``Project`` or of a row a read returned (its members then dicts)."""
    return events.ProjectSnapshot(
        id=project.id,
        name=project.name,
        description=project.description,
        repository_url=project.repository_url,
        default_branch=project.default_branch,
        enabled=project.enabled,
        owner_id=project.owner_id,
        settings=events.ProjectSettings.model_validate(project.settings),
        members=[events.Member.model_validate(m, from_attributes=True) for m in project.members],
        created_at=project.created_at,
        updated_at=project.updated_at,
    )


async def create_project(
    session: AsyncSession,
    caller: Caller,
    data: ProjectCreate,
    policy: RepositoryPolicy,
    box: SecretBox,
) -> NewSecret:
    require_creator(caller)
    assert caller.user_id is not None  # require_creator guarantees it
    repository_url = await check_repository_url(data.repository_url, policy)
    project_id = uuid.uuid4()
    secret = new_webhook_secret()
    now = utcnow()
    project = Project(
        id=project_id,
        name=data.name,
        description=data.description,
        repository_url=repository_url,
        default_branch=data.default_branch,
        enabled=data.enabled,
        owner_id=caller.user_id,
        settings=data.settings.model_dump(mode="json"),
        webhook_secret_encrypted=box.seal(project_id.bytes, secret),
        webhook_secret_rotated_at=now,
        created_at=now,
        updated_at=now,
        members=[],
    )
    try:
        await repository.add(session, project)
    except repository.DuplicateRow:
        raise Conflict(f"You already have a project named {data.name!r}") from None
    await _publish_snapshot(session, events.ProjectCreated, project)
    return NewSecret(project, secret)


async def get_project(session: AsyncSession, caller: Caller, project_id: uuid.UUID) -> Any:
    """The project as a row with its members (a read: no ORM object); 404 when the caller may
    not see it."""
    row = await repository.read_visible(
        session, project_id, user_id=caller.user_id, see_all=caller.is_admin
    )
    if row is None:
        raise NotFound(f"Project {project_id} does not exist")
    return row


async def list_projects(
    session: AsyncSession,
    caller: Caller,
    params: PageParams,
    *,
    enabled: bool | None = None,
    owner_id: uuid.UUID | None = None,
    q: str | None = None,
) -> Page[Any]:
    return await repository.list_visible(
        session,
        params,
        user_id=caller.user_id,
        see_all=caller.is_admin,
        enabled=enabled,
        owner_id=owner_id,
        q=q,
    )


async def update_project(
    session: AsyncSession,
    caller: Caller,
    project_id: uuid.UUID,
    data: ProjectUpdate,
    policy: RepositoryPolicy,
) -> Project:
    require_permission(caller, Permission.PROJECTS_UPDATE, "change projects")
    project = await _load(session, caller, project_id, for_update=True)
    require_maintainer(project, caller)
    changes = data.model_dump(exclude_none=True, exclude={"settings"})
    if "repository_url" in changes:
        changes["repository_url"] = await check_repository_url(changes["repository_url"], policy)
    changed = _apply(project, changes)
    if data.settings is not None:
        merged = {**project.settings, **data.settings.model_dump(exclude_none=True)}
        if merged != project.settings:
            project.settings = merged
            changed = True
    if not changed:
        return project
    project.updated_at = utcnow()
    try:
        await repository.flush(session)
    except repository.DuplicateRow:
        raise Conflict(f"The owner already has a project named {project.name!r}") from None
    await _publish_snapshot(session, events.ProjectUpdated, project)
    return project


def _apply(project: Project, changes: dict[str, Any]) -> bool:
    changed = False
    for field, value in changes.items():
        if getattr(project, field) != value:
            setattr(project, field, value)
            changed = True
    return changed


async def delete_project(session: AsyncSession, caller: Caller, project_id: uuid.UUID) -> None:
    require_permission(caller, Permission.PROJECTS_UPDATE, "delete projects")
    project = await _load(session, caller, project_id, for_update=True)
    require_owner(project, caller)
    await repository.delete(session, project)
    await events.outbox.publish(
        session,
        events.ProjectDeleted,
        events.ProjectDeletedPayload(id=project.id, owner_id=project.owner_id),
        subject=str(project.id),
    )


async def rotate_webhook_secret(
    session: AsyncSession, caller: Caller, project_id: uuid.UUID, box: SecretBox
) -> NewSecret:
    require_permission(caller, Permission.PROJECTS_UPDATE, "rotate webhook secrets")
    project = await _load(session, caller, project_id, for_update=True)
    require_maintainer(project, caller)
    secret = new_webhook_secret()
    project.webhook_secret_encrypted = box.seal(project.id.bytes, secret)
    project.webhook_secret_rotated_at = utcnow()
    await repository.flush(session)
    return NewSecret(project, secret)


async def list_members(
    session: AsyncSession, caller: Caller, project_id: uuid.UUID
) -> list[ProjectMember]:
    project = await _load(session, caller, project_id)
    return list(project.members)


async def add_member(
    session: AsyncSession, caller: Caller, project_id: uuid.UUID, data: MemberCreate
) -> ProjectMember:
    require_permission(caller, Permission.PROJECTS_MEMBERS, "manage project members")
    project = await _load(session, caller, project_id, for_update=True)
    require_owner(project, caller)
    if data.user_id == project.owner_id:
        raise Conflict("The owner is already part of the project; owners are not members")
    if any(m.user_id == data.user_id for m in project.members):
        raise Conflict(
            f"User {data.user_id} is already a member; PATCH the member to change the role"
        )
    member = ProjectMember(user_id=data.user_id, role=data.role, created_at=utcnow())
    project.members.append(member)
    project.updated_at = utcnow()
    try:
        await repository.flush(session)
    except repository.DuplicateRow:
        raise Conflict(f"User {data.user_id} is already a member") from None
    await events.outbox.publish(
        session,
        events.MemberAdded,
        events.MemberAddedPayload(project_id=project.id, user_id=member.user_id, role=data.role),
        subject=str(project.id),
    )
    await _publish_snapshot(session, events.ProjectUpdated, project)
    return member


async def change_member_role(
    session: AsyncSession,
    caller: Caller,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    data: MemberUpdate,
) -> ProjectMember:
    require_permission(caller, Permission.PROJECTS_MEMBERS, "manage project members")
    project = await _load(session, caller, project_id, for_update=True)
    require_owner(project, caller)
    member = _member(project, user_id)
    if member.role != data.role:
        member.role = data.role
        project.updated_at = utcnow()
        await repository.flush(session)
        # The contract has no role-changed event: the snapshot carries the new role.
        await _publish_snapshot(session, events.ProjectUpdated, project)
    return member


def _member(project: Project, user_id: uuid.UUID) -> ProjectMember:
    member = next((m for m in project.members if m.user_id == user_id), None)
    if member is None:
        raise NotFound(f"User {user_id} is not a member of project {project.id}")
    return member


async def remove_member(
    session: AsyncSession, caller: Caller, project_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    require_permission(caller, Permission.PROJECTS_MEMBERS, "manage project members")
    project = await _load(session, caller, project_id, for_update=True)
    if caller.user_id != user_id:  # anyone may leave a project; only the owner removes others
        require_owner(project, caller)
    member = _member(project, user_id)
    project.members.remove(member)
    project.updated_at = utcnow()
    await repository.flush(session)
    await events.outbox.publish(
        session,
        events.MemberRemoved,
        events.MemberRemovedPayload(project_id=project.id, user_id=user_id),
        subject=str(project.id),
    )
    await _publish_snapshot(session, events.ProjectUpdated, project)


async def _load(
    session: AsyncSession, caller: Caller, project_id: uuid.UUID, *, for_update: bool = False
) -> Project:
    project = await repository.get_visible(
        session,
        project_id,
        user_id=caller.user_id,
        see_all=caller.is_admin,
        for_update=for_update,
    )
    if project is None:
        raise NotFound(f"Project {project_id} does not exist")
    return project


async def _publish_snapshot(session: AsyncSession, spec: EventSpec, project: Project) -> None:
    await events.outbox.publish(session, spec, snapshot(project), subject=str(project.id))
