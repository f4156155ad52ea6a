"""The admin API spends the caller's own rate-limit budget, like any proxied request."""

from __future__ import annotations

import uuid

import httpx

from swe_common.testing import TokenFactory

SERVICES = "/api/v1/gateway/admin/services"


def _subject() -> str:
    return f"gwtest-{uuid.uuid4().hex}"


async def test_admin_answers_carry_both_rate_limit_header_styles(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    response = await client.get(SERVICES, headers=tokens.headers(_subject(), roles=("admin",)))
    assert response.status_code == 200
    headers = response.headers
    assert headers["x-ratelimit-limit"] == headers["ratelimit-limit"] == "100000"
    assert headers["x-ratelimit-remaining"] == headers["ratelimit-remaining"] == "99999"
    assert headers["ratelimit-policy"] == '"admin";q=100000;w=60'
    assert headers["ratelimit"].startswith('"admin";r=99999;t=')
    assert "retry-after" not in headers


async def test_admin_over_the_limit_gets_429_problem_with_retry_after(
    limited_gateway, tokens: TokenFactory
):
    headers = tokens.headers(_subject(), roles=("admin",))
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        statuses = [(await http.get(SERVICES, headers=headers)).status_code for _ in range(13)]
        refused = await http.get(SERVICES, headers=headers)
    assert statuses == [200] * 13  # the limited gateway allows admins 13 a minute
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/rate-limited")
    assert refused.json()["request_id"] == refused.headers["x-request-id"]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-remaining"] == refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["x-content-type-options"] == "nosniff"


async def test_admin_api_and_proxied_requests_share_the_callers_budget(
    limited_gateway, tokens: TokenFactory
):
    headers = tokens.headers(_subject())  # a user: 5 a minute on the limited gateway
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        proxied = [
            (await http.get("/api/v1/echo/rl", headers=headers)).status_code for _ in range(3)
        ]
        # Not an admin: refused with 403, but the attempt still costs.
        admin = [(await http.get(SERVICES, headers=headers)).status_code for _ in range(2)]
        refused = await http.get(SERVICES, headers=headers)
        proxied_refused = await http.get("/api/v1/echo/rl", headers=headers)
    assert proxied == [200] * 3
    assert admin == [403] * 2
    assert refused.status_code == proxied_refused.status_code == 429


async def test_admin_api_with_an_exchanged_api_key_is_limited_by_that_key(
    client: httpx.AsyncClient,
):
    response = await client.get(SERVICES, headers={"X-API-Key": "gw-good-key"})
    assert response.status_code == 403  # the fake auth's keys belong to users
    assert response.headers["ratelimit-policy"] == '"user";q=100000;w=60'


async def test_admin_api_without_credentials_answers_401_uncharged(
    limited_gateway, tokens: TokenFactory
):
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        statuses = [(await http.get(SERVICES)).status_code for _ in range(6)]
        bogus = await http.get(SERVICES, headers={"Authorization": "Bearer not-a-token"})
    # More than the anonymous limit (4): a missing or bad token is refused, never counted.
    assert statuses == [401] * 6
    assert bogus.status_code == 401
    assert "ratelimit" not in bogus.headers
