"""Per-project GitHub tokens: set and cleared by the project's writers, never shown again.

Sync uses the project's token when it has one, else the global ``ISSUES_GITHUB_TOKEN``. The
token is sealed with the project id as associated data (a row copied elsewhere is useless).
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.crypto import SecretBox
from swe_common.db import utcnow
from swe_common.errors import Conflict
from swe_common.security import Caller
from swe_issues.github.models import ProjectGitHubToken
from swe_issues.projects_read_model.service import (
    ProjectLookup,
    readable_project,
    writable_project,
)

PURPOSE = "swe-issues/github-token/v1"
WHAT = "the project's GitHub token"


class TokenStatus(BaseModel):
    project_id: uuid.UUID
    configured: bool
    updated_at: datetime | None = None
    updated_by: str | None = None


async def set_token(
    session: AsyncSession,
    caller: Caller,
    project_id: uuid.UUID,
    token: str,
    box: SecretBox,
    lookup: ProjectLookup | None = None,
) -> TokenStatus:
    project = await writable_project(session, caller, project_id, WHAT, lookup)
    now = utcnow()
    values = {
        "project_id": project.id,
        "sealed": box.seal(project.id.bytes, token),
        "updated_by": caller.subject,
        "updated_at": now,
    }
    statement = insert(ProjectGitHubToken).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ProjectGitHubToken.project_id],
            set_={k: statement.excluded[k] for k in ("sealed", "updated_by", "updated_at")},
        )
    )
    return TokenStatus(
        project_id=project.id, configured=True, updated_at=now, updated_by=caller.subject
    )


async def clear_token(session: AsyncSession, caller: Caller, project_id: uuid.UUID) -> None:
    project = await writable_project(session, caller, project_id, WHAT)
    await session.execute(
        sa.delete(ProjectGitHubToken).where(ProjectGitHubToken.project_id == project.id)
    )


async def token_status(session: AsyncSession, caller: Caller, project_id: uuid.UUID) -> TokenStatus:
    project, _role = await readable_project(session, caller, project_id)
    row = await session.get(ProjectGitHubToken, project.id)
    if row is None:
        return TokenStatus(project_id=project.id, configured=False)
    return TokenStatus(
        project_id=project.id, configured=True, updated_at=row.updated_at, updated_by=row.updated_by
    )


async def token_for(session: AsyncSession, project_id: uuid.UUID, box: SecretBox) -> str | None:
    """The project's own token for a sync, or None (then the global token applies)."""
    row = await session.get(ProjectGitHubToken, project_id)
    if row is None:
        return None
    try:
        return box.open(project_id.bytes, row.sealed)
    except ValueError:
        raise Conflict(
            "The project's GitHub token no longer decrypts with the configured key; set it again"
        ) from None
