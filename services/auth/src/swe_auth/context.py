"""Who is asking, as the domain needs it: the client's address and agent, for sessions and audit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientInfo:
    ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class Actor:
    """The authenticated caller of an action (an admin acting on a user, or the user)."""

    user_id: uuid.UUID
    session_id: uuid.UUID | None = None
