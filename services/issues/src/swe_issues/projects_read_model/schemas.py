"""The project snapshot ``P`` as the projects service publishes and serves it."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Member(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: str
    role: Literal["maintainer", "viewer"]


class ProjectSnapshot(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    owner_id: str
    name: str = ""
    enabled: bool = True
    # None when the source did not say (then the members we hold are kept).
    members: list[Member] | None = None
    repository_url: str = ""
    default_branch: str = "main"
    settings: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime | None = None


class ProjectDeleted(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    owner_id: str | None = None


class MemberAdded(BaseModel):
    model_config = ConfigDict(extra="ignore")

    project_id: uuid.UUID
    user_id: str
    role: Literal["maintainer", "viewer"]


class MemberRemoved(BaseModel):
    model_config = ConfigDict(extra="ignore")

    project_id: uuid.UUID
    user_id: str
