"""The service reports its readiness and documents its API."""

from __future__ import annotations

from httpx import AsyncClient


async def test_ready_when_the_database_answers(client: AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200


async def test_openapi_documents_every_projects_route(client: AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {
        "/api/v1/projects",
        "/api/v1/projects/{project_id}",
        "/api/v1/projects/{project_id}/members",
        "/api/v1/projects/{project_id}/members/{user_id}",
        "/api/v1/projects/{project_id}/webhook-secret/rotate",
        "/api/v1/projects/{project_id}/webhooks/github",
    } <= set(paths)
