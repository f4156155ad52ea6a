"""API model of the audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    action: str
    outcome: str
    user_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    ip: str
    user_agent: str
    at: datetime
    details: dict[str, Any]
