"""The synchronous fallback to the projects service, for services that keep a projects read model.

Why: a read model is fed by events, which arrive a few milliseconds to seconds after the
projects service commits. A user who creates a project and at once creates an issue or an agent
in it would otherwise get a spurious 404 (the design forbids that). So when a read model does
not know a project, the service asks the projects service once, with the caller's own bearer
token, so that projects applies its own access rules: a 404 there is a 404 here, and the
snapshot answered is upserted into the read model (the events that follow are then applied or
ignored by their ``updated_at``). Only unknown projects trigger the call, so it costs nothing in
the steady state and the services stay decoupled (no shared database, no call when the model is
current).
"""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import structlog

from swe_common.errors import ServiceUnavailable
from swe_common.projects_read_model import ProjectSnapshot

log = structlog.stdlib.get_logger(__name__)


class ProjectsClient:
    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def fetch_snapshot(self, project_id: uuid.UUID, token: str) -> dict[str, Any] | None:
        """The project snapshot as the caller may see it, or None when projects says it does
        not exist (or not for this caller). ServiceUnavailable when projects cannot answer."""
        url = f"{self.base_url}/api/v1/projects/{project_id}"
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            async with self._client().get(url, headers=headers) as response:
                if response.status in (401, 403, 404):
                    return None
                if response.status != 200:
                    raise unavailable(project_id, f"status {response.status}")
                body: Any = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise unavailable(project_id, exc.__class__.__name__) from None
        if not isinstance(body, dict) or str(body.get("id")) != str(project_id):
            raise unavailable(project_id, "an answer that is not this project")
        return body

    async def fetch(self, project_id: uuid.UUID, token: str) -> ProjectSnapshot | None:
        """:meth:`fetch_snapshot`, read as the read model's snapshot."""
        body = await self.fetch_snapshot(project_id, token)
        if body is None:
            return None
        try:
            return ProjectSnapshot.model_validate(body)
        except ValueError:
            raise unavailable(project_id, "an answer that is not a project") from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def unavailable(project_id: uuid.UUID, reason: str) -> ServiceUnavailable:
    log.warning("projects_lookup_failed", project_id=str(project_id), reason=reason)
    return ServiceUnavailable(
        f"Project {project_id} is not known here yet and the projects service could not "
        f"confirm it ({reason}); retry shortly.",
        headers={"Retry-After": "2"},
    )
