"""Every route of the agents service (agents, runs and their WebSocket streams) checks an API
key's ``agents:*`` scope: reads need ``agents:read``, changes ``agents:write``; a missing
scope is a 403 problem naming it."""

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


def _key(tokens: TokenFactory) -> Any:
    owner = uuid.uuid4()

    def headers(scopes: tuple[str, ...]) -> dict[str, str]:
        return tokens.headers(owner, scopes=scopes, api_key_id=str(uuid.uuid4()))

    return headers


def test_every_route_carries_an_api_key_scope_guard(
    app: Any, client: Any, tokens: TokenFactory
) -> None:
    assert unscoped_routes(app) == []


async def test_every_route_refuses_an_api_key_lacking_its_scope(
    app: Any, client: Any, tokens: TokenFactory
) -> None:
    cases = scope_cases(app)
    assert {c.scope for c in cases} >= {"agents:read", "agents:write"}
    assert await scope_denials(client, cases, _key(tokens)) == []


async def test_every_route_admits_an_api_key_holding_its_scope(
    app: Any, client: Any, tokens: TokenFactory
) -> None:
    cases = scope_cases(app)
    assert await scope_admissions(client, cases, _key(tokens)) == []
