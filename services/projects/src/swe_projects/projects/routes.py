"""HTTP routes of /api/v1/projects (everything but the GitHub webhook receiver)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from swe_common.deps import SessionDep
from swe_common.pagination import Page, PageQuery, page_of
from swe_common.permissions import Permission
from swe_common.security import api_key_scope, require_permission
from swe_common.types import Name
from swe_projects.deps import CallerDep, PolicyDep, SecretBoxDep
from swe_projects.models import Project, ProjectMember
from swe_projects.projects import service
from swe_projects.projects.repository import WEBHOOK_PATH_PREFIX, WEBHOOK_PATH_SUFFIX
from swe_projects.projects.schemas import (
    MemberCreate,
    MemberRead,
    MemberUpdate,
    ProjectCreate,
    ProjectCreated,
    ProjectRead,
    ProjectUpdate,
    WebhookSecret,
)

router = APIRouter(
    prefix="/api/v1/projects",
    tags=["projects"],
    dependencies=[api_key_scope("projects"), require_permission(Permission.PROJECTS_READ)],
)
# Issues and agents look up the project of their caller's resource with the caller's own
# token (``swe_common.projects_client``), so reading ONE project by id is open to their
# ``:read`` scopes too; listing and everything else needs ``projects:*``.
lookup_router = APIRouter(
    prefix="/api/v1/projects",
    tags=["projects"],
    dependencies=[api_key_scope("projects", read_also=("issues", "agents"))],
)


# Answers that carry a webhook secret must not be kept by any cache.
NO_STORE = "no-store"


def to_read(project: Project | Any) -> ProjectRead:
    """Of a ``Project`` or of a row a read returned (``repository.read_visible``)."""
    return ProjectRead(
        **service.snapshot(project).model_dump(),
        webhook_path=f"{WEBHOOK_PATH_PREFIX}{project.id}{WEBHOOK_PATH_SUFFIX}",
        webhook_secret_rotated_at=project.webhook_secret_rotated_at,
    )


def listed(page: Page[Any]) -> Page[ProjectRead]:
    """Of a page of dicts of rows (``repository.list_visible``, their webhook paths made by
    PostgreSQL): what ``to_read`` answers for each, the page validated in one step
    (``ProjectRead`` holds the snapshot's fields and types)."""
    return page_of(ProjectRead, page)


def to_member(member: ProjectMember) -> MemberRead:
    return MemberRead.model_validate(member, from_attributes=True)


@router.post("", status_code=201, summary="Register a repository as a project")
async def create_project(
    body: ProjectCreate,
    policy: PolicyDep,
    box: SecretBoxDep,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
) -> ProjectCreated:
    created = await service.create_project(session, caller, body, policy, box)
    response.headers["Cache-Control"] = NO_STORE
    return ProjectCreated(**to_read(created.project).model_dump(), webhook_secret=created.secret)


@router.get("", summary="Projects the caller owns or is a member of (admins: all)")
async def list_projects(
    session: SessionDep,
    caller: CallerDep,
    page: PageQuery,
    enabled: bool | None = None,
    owner_id: uuid.UUID | None = None,
    q: Annotated[Name | None, Query(description="Search in project names")] = None,
) -> Page[ProjectRead]:
    result = await service.list_projects(
        session, caller, page, enabled=enabled, owner_id=owner_id, q=q
    )
    return listed(result)


@lookup_router.get("/{project_id}", summary="One project (the snapshot other services consume)")
async def get_project(project_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> ProjectRead:
    return to_read(await service.get_project(session, caller, project_id))


@router.patch("/{project_id}", summary="Change some of a project's fields")
async def update_project(
    project_id: uuid.UUID,
    body: ProjectUpdate,
    policy: PolicyDep,
    session: SessionDep,
    caller: CallerDep,
) -> ProjectRead:
    project = await service.update_project(session, caller, project_id, body, policy)
    return to_read(project)


@router.delete("/{project_id}", status_code=204, summary="Delete a project (owner or admin)")
async def delete_project(project_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Response:
    await service.delete_project(session, caller, project_id)
    return Response(status_code=204)


@router.post(
    "/{project_id}/webhook-secret/rotate",
    summary="Replace the GitHub webhook secret; the new one is shown only in this answer",
)
async def rotate_webhook_secret(
    project_id: uuid.UUID,
    box: SecretBoxDep,
    response: Response,
    session: SessionDep,
    caller: CallerDep,
) -> WebhookSecret:
    rotated = await service.rotate_webhook_secret(session, caller, project_id, box)
    response.headers["Cache-Control"] = NO_STORE
    return WebhookSecret(
        webhook_secret=rotated.secret,
        webhook_secret_rotated_at=rotated.project.webhook_secret_rotated_at,
    )


@router.get("/{project_id}/members", summary="The project's maintainers and viewers")
async def list_members(
    project_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> list[MemberRead]:
    members = await service.list_members(session, caller, project_id)
    return [to_member(m) for m in members]


@router.post("/{project_id}/members", status_code=201, summary="Add a maintainer or viewer")
async def add_member(
    project_id: uuid.UUID, body: MemberCreate, session: SessionDep, caller: CallerDep
) -> MemberRead:
    member = await service.add_member(session, caller, project_id, body)
    return to_member(member)


@router.patch("/{project_id}/members/{user_id}", summary="Change a member's role (owner or admin)")
async def change_member_role(
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    body: MemberUpdate,
    session: SessionDep,
    caller: CallerDep,
) -> MemberRead:
    member = await service.change_member_role(session, caller, project_id, user_id, body)
    return to_member(member)


@router.delete(
    "/{project_id}/members/{user_id}",
    status_code=204,
    summary="Remove a member (the owner, an admin, or the member themself)",
)
async def remove_member(
    project_id: uuid.UUID, user_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> Response:
    await service.remove_member(session, caller, project_id, user_id)
    return Response(status_code=204)
