"""The project snapshot ``P``, and a fake of the projects service's ``GET /api/v1/projects/{id}``
answering it to the owner, members and admins, and 404 to anyone else (as the real one does)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from aiohttp import web


@dataclass
class FakeProjects:
    url: str = ""
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    failing: bool = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/projects/{project_id}", self._get)
        return app

    async def _get(self, request: web.Request) -> web.Response:
        project_id = request.match_info["project_id"]
        self.calls.append(project_id)
        if self.failing:
            return web.json_response({"status": 500}, status=500)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return web.json_response({"status": 401, "title": "Unauthorized"}, status=401)
        # The real service verifies the token; the fake only reads who is asking.
        claims = jwt.decode(token, options={"verify_signature": False})
        project = self.projects.get(project_id)
        allowed = project is not None and (
            "admin" in claims.get("roles", [])
            or project["owner_id"] == claims["sub"]
            or any(m["user_id"] == claims["sub"] for m in project["members"])
        )
        if not allowed:
            return web.json_response(
                {"type": "about:blank", "title": "Not Found", "status": 404},
                status=404,
                content_type="application/problem+json",
            )
        return web.json_response(project)


def snapshot(
    owner: str,
    *,
    members: list[dict[str, str]] | None = None,
    settings: dict[str, Any] | None = None,
    enabled: bool = True,
    repository_url: str = "https://github.com/acme/widgets",
    project_id: uuid.UUID | None = None,
    updated_at: datetime | None = None,
) -> dict[str, Any]:
    now = updated_at or datetime.now(UTC)
    return {
        "id": str(project_id or uuid.uuid4()),
        "name": "widgets",
        "description": "",
        "repository_url": repository_url,
        "default_branch": "main",
        "enabled": enabled,
        "owner_id": owner,
        "settings": settings or {"auto_review": False, "review_level": "standard"},
        "members": members or [],
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
    }
