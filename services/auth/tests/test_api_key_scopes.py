"""Auth's own routes (account, sessions, API keys, user administration, sign-in) refuse API-key
tokens whatever their scopes: a leaked key must not mint keys or take over the account. The one
operator route, the detailed health, takes a key of the gateway's admin family, as every
service's does (the gateway asks each instance with the admin's own credentials)."""

from __future__ import annotations

from typing import Any

from auth_testkit import API, bearer

from swe_common.testing import scope_cases, scope_denials, unscoped_routes

OPERATOR_ROUTES = {"/health/detailed"}
EVERY_SCOPE = [f"{f}:admin" for f in ("projects", "issues", "agents", "analytics", "gateway")]


async def _key_token(client: Any, tokens: dict[str, Any]) -> str:
    created = await client.post(
        f"{API}/api-keys",
        json={"name": "everything", "scopes": EVERY_SCOPE},
        headers=bearer(tokens),
    )
    assert created.status_code == 201, created.text
    exchanged = await client.post(
        f"{API}/api-keys/exchange", headers={"X-API-Key": created.json()["key"]}
    )
    assert exchanged.status_code == 200, exchanged.text
    return exchanged.json()["access_token"]


def test_every_route_carries_an_api_key_scope_guard(app: Any) -> None:
    assert unscoped_routes(app) == []


async def test_every_auth_route_refuses_an_api_key_token(client, tokens, app) -> None:
    token = await _key_token(client, tokens)
    cases = [c for c in scope_cases(app) if c.path not in OPERATOR_ROUTES]
    assert cases and {c.scope for c in cases} == {None}
    assert await scope_denials(client, cases, lambda _scopes: bearer(token)) == []


def test_the_detailed_health_takes_only_a_gateway_admin_key(app: Any) -> None:
    operator = {(c.path, c.scope) for c in scope_cases(app) if c.path in OPERATOR_ROUTES}
    assert operator == {("/health/detailed", "gateway:admin")}


async def test_a_key_of_a_user_who_is_no_admin_reads_no_detailed_health(client, tokens) -> None:
    token = await _key_token(client, tokens)  # it holds gateway:admin, its owner is no admin
    response = await client.get("/health/detailed", headers=bearer(token))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_api_key_cannot_create_another_key(client, tokens) -> None:
    token = await _key_token(client, tokens)
    response = await client.post(
        f"{API}/api-keys", json={"name": "escalate", "scopes": EVERY_SCOPE}, headers=bearer(token)
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
