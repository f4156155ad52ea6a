"""Events the projects service publishes (payloads exactly as docs/event-contracts.md)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from swe_common.events import EventCatalog, Outbox
from swe_projects.models import event_tables

MemberRole = Literal["maintainer", "viewer"]
ReviewLevel = Literal["quick", "standard", "thorough"]


class ProjectSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_review: bool = Field(default=False, description="Review new or updated pull requests")
    review_level: ReviewLevel = "standard"


class Member(BaseModel):
    user_id: uuid.UUID
    role: MemberRole


class ProjectSnapshot(BaseModel):
    """The snapshot ``P`` every consumer's read model is built from."""

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


class ProjectDeletedPayload(BaseModel):
    id: uuid.UUID
    owner_id: uuid.UUID


class MemberAddedPayload(BaseModel):
    project_id: uuid.UUID
    user_id: uuid.UUID
    role: MemberRole


class MemberRemovedPayload(BaseModel):
    project_id: uuid.UUID
    user_id: uuid.UUID


class WebhookReceivedPayload(BaseModel):
    project_id: uuid.UUID
    delivery_id: str
    event: str
    action: str | None
    payload: dict[str, Any]


catalog = EventCatalog("projects")
ProjectCreated = catalog.define(
    "projects.project.created", ProjectSnapshot, "A project was registered (snapshot P)."
)
ProjectUpdated = catalog.define(
    "projects.project.updated",
    ProjectSnapshot,
    "A project, or its membership, changed (full snapshot P after the change).",
)
ProjectDeleted = catalog.define(
    "projects.project.deleted", ProjectDeletedPayload, "A project was deleted."
)
MemberAdded = catalog.define(
    "projects.member.added", MemberAddedPayload, "A user became a maintainer or viewer."
)
MemberRemoved = catalog.define(
    "projects.member.removed", MemberRemovedPayload, "A user's membership ended."
)
WebhookReceived = catalog.define(
    "projects.webhook.received",
    WebhookReceivedPayload,
    "A GitHub `issues` or `pull_request` delivery whose signature matched the project's secret, "
    "whose delivery id had not been seen, about the project's repository, with an action the "
    "platform applies, and not older than one already accepted for the same issue or pull "
    "request; `payload` is GitHub's JSON body as delivered.",
)

outbox = Outbox(event_tables, source="/swe/projects")
