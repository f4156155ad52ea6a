"""Every route of the projects service checks an API key's ``projects:*`` scope: reads need
``projects:read``, changes ``projects:write``; a missing scope is a 403 naming it."""

from __future__ import annotations

import uuid
from typing import Any

from swe_common.testing import (
    TokenFactory,
    scope_admissions,
    scope_cases,
    scope_denials,
    unscoped_routes,
)
from swe_projects.main import create_app
from swe_projects.settings import Settings


def _key(tokens: TokenFactory, owner: uuid.UUID) -> Any:
    def headers(scopes: tuple[str, ...]) -> dict[str, str]:
        return tokens.headers(owner, scopes=scopes, api_key_id=str(uuid.uuid4()))

    return headers


def test_every_route_carries_an_api_key_scope_guard(settings: Settings) -> None:
    assert unscoped_routes(create_app(settings)) == []


async def test_every_route_refuses_an_api_key_lacking_its_scope(
    client: Any, settings: Settings, tokens: TokenFactory
) -> None:
    cases = scope_cases(create_app(settings))
    assert {c.scope for c in cases} >= {"projects:read", "projects:write"}
    assert await scope_denials(client, cases, _key(tokens, uuid.uuid4())) == []


async def test_every_route_admits_an_api_key_holding_its_scope(
    client: Any, settings: Settings, tokens: TokenFactory
) -> None:
    cases = scope_cases(create_app(settings))
    assert await scope_admissions(client, cases, _key(tokens, uuid.uuid4())) == []


async def test_issues_and_agents_keys_read_one_project_but_never_list_or_change(
    client: Any, create_project: Any, owner: Any, tokens: TokenFactory
) -> None:
    project = await create_project(owner)
    for family in ("issues", "agents"):
        key = _key(tokens, owner.id)((f"{family}:read",))
        assert (
            await client.get(f"/api/v1/projects/{project['id']}", headers=key)
        ).status_code == 200
        listing = await client.get("/api/v1/projects", headers=key)
        assert listing.json()["missing_scope"] == "projects:read"
        change = await client.patch(
            f"/api/v1/projects/{project['id']}", json={"enabled": False}, headers=key
        )
        assert change.json()["missing_scope"] == "projects:write"
