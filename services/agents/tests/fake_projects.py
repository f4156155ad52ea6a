"""A stand-in for the projects service's `GET /api/v1/projects/{id}` (its real answer shape)."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class FakeProjects:
    def __init__(self) -> None:
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self._runner: web.AppRunner | None = None
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
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
