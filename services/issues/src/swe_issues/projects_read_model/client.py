"""The projects fallback (see ``swe_common.projects_client`` for why), answering snapshots."""

import uuid

from swe_common.projects_client import ProjectsClient as BaseProjectsClient
from swe_common.projects_client import unavailable
from swe_issues.projects_read_model.schemas import ProjectSnapshot


class ProjectsClient(BaseProjectsClient):
    async def fetch(self, project_id: uuid.UUID, token: str) -> ProjectSnapshot | None:
        body = await self.fetch_snapshot(project_id, token)
        if body is None:
            return None
        try:
            return ProjectSnapshot.model_validate(body)
        except ValueError:
            raise unavailable(project_id, "an answer that is not a project") from None
