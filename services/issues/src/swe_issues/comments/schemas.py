"""API models of comments."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from swe_common.types import RequestModel
from swe_issues.text import CommentText


class CommentCreate(RequestModel):
    body: CommentText = Field(description="1 to 10000 characters (surrounding blanks dropped)")


class CommentUpdate(RequestModel):
    body: CommentText = Field(description="The new text; only the author changes it")


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    issue_id: uuid.UUID | None = Field(description="The issue commented on (null on a PR's)")
    pull_request_id: uuid.UUID | None = Field(
        description="The pull request commented on (null on an issue's)"
    )
    author_id: uuid.UUID
    author_name: str = Field(description="The author's name when the comment was written")
    body: str
    created_at: datetime
    updated_at: datetime
    edited: bool = Field(description="Changed since it was written (updated_at > created_at)")
