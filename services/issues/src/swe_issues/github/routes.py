"""A project's own GitHub token for sync: set, inspect (never read back), clear."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import Field

from swe_common.deps import SessionDep
from swe_common.permissions import Permission
from swe_common.security import api_key_scope, require_permission
from swe_common.types import RequestModel
from swe_issues.deps import CallerDep, ProjectsDep, TokenBoxDep
from swe_issues.github import tokens
from swe_issues.github.tokens import TokenStatus

router = APIRouter(
    prefix="/api/v1/issues/projects/{project_id}/github-token",
    tags=["github"],
    dependencies=[api_key_scope("issues"), require_permission(Permission.ISSUES_READ)],
)


class TokenIn(RequestModel):
    token: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_\-.]+$")]


@router.put("", summary="Set the project's GitHub token (used by sync; never shown again)")
async def set_token(
    project_id: uuid.UUID,
    body: TokenIn,
    session: SessionDep,
    caller: CallerDep,
    box: TokenBoxDep,
    projects: ProjectsDep,
) -> TokenStatus:
    return await tokens.set_token(session, caller, project_id, body.token, box, projects)


@router.get("", summary="Whether the project has its own GitHub token")
async def get_token_status(
    project_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> TokenStatus:
    return await tokens.token_status(session, caller, project_id)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, summary="Clear the project's token")
async def clear_token(project_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Response:
    await tokens.clear_token(session, caller, project_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
