"""A client's own events: request and response."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from swe_common.types import Name, RequestModel

CUSTOM_EVENT_TYPE = r"^custom\.[a-z][a-z0-9_]{0,62}\.[a-z][a-z0-9_]{0,62}$"


class CustomEventIn(RequestModel):
    type: str = Field(pattern=CUSTOM_EVENT_TYPE, max_length=130, examples=["custom.button.clicked"])
    subject: Name | None = None
    project_id: uuid.UUID | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class CustomEventOut(BaseModel):
    id: str
    type: str
    time: datetime
