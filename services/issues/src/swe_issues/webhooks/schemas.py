"""The payload of ``projects.webhook.received``."""

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WebhookReceived(BaseModel):
    model_config = ConfigDict(extra="ignore")

    project_id: uuid.UUID
    delivery_id: str = Field(min_length=1, max_length=200)
    event: str = Field(max_length=50)
    action: str | None = Field(default=None, max_length=50)
    payload: dict[str, Any] = Field(default_factory=dict)
