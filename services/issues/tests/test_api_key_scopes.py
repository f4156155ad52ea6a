"""Every route of the issues service (issues, pull requests, the per-project GitHub token)
checks an API key's ``issues:*`` scope: reads need ``issues:read``, changes ``issues:write``;
a missing scope is a 403 problem naming it."""

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


def test_every_route_carries_an_api_key_scope_guard(env: Any) -> None:
    assert unscoped_routes(env.app) == []


async def test_every_route_refuses_an_api_key_lacking_its_scope(env: Any) -> None:
    cases = scope_cases(env.app)
    assert {c.scope for c in cases} >= {"issues:read", "issues:write"}
    assert await scope_denials(env.client, cases, _key(env.tokens)) == []


async def test_every_route_admits_an_api_key_holding_its_scope(env: Any) -> None:
    cases = scope_cases(env.app)
    assert await scope_admissions(env.client, cases, _key(env.tokens)) == []
