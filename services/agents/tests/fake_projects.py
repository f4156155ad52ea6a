"""A stand-in for the projects service's `GET /api/v1/projects/{id}` (its real answer shape)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from aiohttp import web

from swe_common.testing import served


class FakeProjects:
    def __init__(self) -> None:
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self._server = AsyncExitStack()
        self.url = ""

    async def _project(self, request: web.Request) -> web.Response:
        project_id = request.match_info["project_id"]
        self.requests.append(project_id)
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return web.json_response({"status": 401}, status=401)
        snapshot = self.snapshots.get(project_id)
        if snapshot is None:
            return web.json_response(
                {"type": "about:blank", "title": "Not Found", "status": 404}, status=404
            )
        return web.json_response(snapshot)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/api/v1/projects/{project_id}", self._project)
        self.url = await self._server.enter_async_context(served(app))

    async def stop(self) -> None:
        await self._server.aclose()
