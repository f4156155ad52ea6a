"""API models of the opt-in mail notices."""

from __future__ import annotations

from pydantic import BaseModel, Field

from swe_common.types import RequestModel


class NoticePreferences(BaseModel):
    issue_assigned: bool = Field(description="An issue I opened was assigned to an agent")
    review_finished: bool = Field(description="A review of a pull request of my project finished")
    run_failed: bool = Field(description="An agent run of my project failed")


class NoticePreferencesUpdate(RequestModel):
    issue_assigned: bool | None = None
    review_finished: bool | None = None
    run_failed: bool | None = None
