"""API models of /api/v1/projects."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from swe_common.types import NulFree, RequestModel
from swe_projects.events import Member, MemberRole, ProjectSettings, ReviewLevel

# Postgres refuses NUL in text, and control characters have no place in a name; a pattern keeps
# both out with a 422 instead of a database error.
Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
Description = Annotated[
    str, StringConstraints(max_length=5000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
]
RepositoryUrl = Annotated[str, StringConstraints(min_length=1, max_length=2048), NulFree()]
_BRANCH = re.compile(
    r"^(?![-/.])(?!.*(?:\.\.|//|@\{|/\.|\.lock/))[A-Za-z0-9._/+-]+(?<![/.])(?<!\.lock)$"
)


def _branch_name(value: str) -> str:
    # A git ref name (git check-ref-format) that can never be read as an option ("-...").
    if not _BRANCH.match(value):
        raise ValueError(
            "not a valid branch name: letters, digits and . _ / + -, not starting with '-', "
            "'/' or '.', without '..', '//' or '@{', not ending in '/', '.' or '.lock'"
        )
    return value


BranchName = Annotated[
    str, StringConstraints(min_length=1, max_length=255), NulFree(), AfterValidator(_branch_name)
]


class ProjectCreate(RequestModel):
    name: Name
    description: Description = ""
    repository_url: RepositoryUrl = Field(
        description="https://github.com/<owner>/<repo> or a configured GitHub Enterprise host"
    )
    default_branch: BranchName = "main"
    enabled: bool = True
    settings: ProjectSettings = Field(default_factory=ProjectSettings)


class ProjectSettingsPatch(RequestModel):
    auto_review: bool | None = None
    review_level: ReviewLevel | None = None


class ProjectUpdate(RequestModel):
    """A partial update: only the fields sent change (``null`` leaves a field as it is)."""

    name: Name | None = None
    description: Description | None = None
    repository_url: RepositoryUrl | None = None
    default_branch: BranchName | None = None
    enabled: bool | None = None
    settings: ProjectSettingsPatch | None = None


class ProjectRead(BaseModel):
    """The snapshot P plus what only the API shows (where to point GitHub's webhook)."""

    id: uuid.UUID
    name: str
    description: str
    repository_url: str
    default_branch: str
    enabled: bool
    owner_id: uuid.UUID
    settings: ProjectSettings
    members: list[Member]
    created_at: datetime
    updated_at: datetime
    webhook_path: str = Field(description="Where GitHub should deliver this project's webhooks")
    webhook_secret_rotated_at: datetime


class ProjectCreated(ProjectRead):
    webhook_secret: str = Field(
        description="The GitHub webhook secret; shown only now, store it in GitHub's settings"
    )


class WebhookSecret(BaseModel):
    webhook_secret: str = Field(description="The new secret; shown only now")
    webhook_secret_rotated_at: datetime


class MemberCreate(RequestModel):
    user_id: uuid.UUID
    role: MemberRole


class MemberUpdate(RequestModel):
    role: MemberRole


class MemberRead(BaseModel):
    user_id: uuid.UUID
    role: MemberRole
    created_at: datetime
