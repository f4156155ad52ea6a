"""CORS from configuration: preflights answered at the edge, every answer readable by the
allowed origins (refusals included), nothing for the others."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from gateway_support import GatewayProcess, Upstream

from swe_common.testing import TokenFactory

ORIGIN = "https://app.example"
OTHER = "https://evil.example"
SMALL = {"anonymous": 3, "readonly": 2, "user": 1000, "agent": 1000, "admin": 1000}


@pytest.fixture(scope="module")
async def cors_upstream() -> AsyncIterator[Upstream]:
    server = await Upstream("cors").start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
async def cors_gateway(start_gateway, cors_upstream: Upstream, prefix: str) -> GatewayProcess:
    return await start_gateway(
        cors_origins=[ORIGIN],
        upstreams={"echo": [cors_upstream.url]},
        rate_limits=SMALL,
        rate_limit_prefix=f"{prefix}:cors",  # its own anonymous budget for 127.0.0.1
    )


@pytest.fixture
async def http(cors_gateway: GatewayProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cors_gateway.url, timeout=30) as client:
        yield client


def _preflight(origin: str, method: str = "DELETE") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, x-api-key, content-type",
    }


def _exposed(response: httpx.Response) -> set[str]:
    raw = response.headers.get("access-control-expose-headers", "")
    return {name.strip().lower() for name in raw.split(",") if name.strip()}


async def test_preflight_from_an_allowed_origin_is_answered_with_its_permissions(
    http: httpx.AsyncClient,
):
    response = await http.options("/api/v1/echo/items/1", headers=_preflight(ORIGIN))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "DELETE" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "x-api-key", "content-type"} <= {h.strip() for h in allowed.split(",")}
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "origin" in response.headers["vary"].lower()


async def test_preflight_from_another_origin_gets_no_allow_origin(http: httpx.AsyncClient):
    response = await http.options("/api/v1/echo/items/1", headers=_preflight(OTHER))
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code == 400


async def test_preflight_needs_no_token_and_never_reaches_the_upstream(
    http: httpx.AsyncClient, cors_upstream: Upstream
):
    for path in ("/api/v1/echo/preflight-only", "/api/v1/gateway/admin/services"):
        response = await http.options(path, headers=_preflight(ORIGIN, "POST"))
        assert response.status_code == 200, path
        assert response.headers["access-control-allow-origin"] == ORIGIN
    assert cors_upstream.hits["/api/v1/echo/preflight-only"] == 0


async def test_preflights_are_not_rate_limited(http: httpx.AsyncClient):
    statuses = [
        (await http.options("/api/v1/open/x", headers=_preflight(ORIGIN, "GET"))).status_code
        for _ in range(2 * SMALL["anonymous"])
    ]
    assert statuses == [200] * (2 * SMALL["anonymous"])
    # The anonymous budget of this address is untouched by them.
    response = await http.get("/api/v1/open/after-preflights", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["x-ratelimit-remaining"] == str(SMALL["anonymous"] - 1)


async def test_proxied_answer_is_readable_by_an_allowed_origin(
    http: httpx.AsyncClient, tokens: TokenFactory
):
    response = await http.get("/api/v1/echo/simple", headers={**tokens.headers(), "Origin": ORIGIN})
    assert response.status_code == 200
    assert response.json()["instance"] == "cors"
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "origin" in response.headers["vary"].lower()
    exposed = _exposed(response)
    for name in ("x-request-id", "retry-after", "ratelimit", "ratelimit-policy",
                 "ratelimit-remaining", "x-ratelimit-remaining"):  # fmt: skip
        assert name in exposed
    assert response.headers.get_list("access-control-allow-origin") == [ORIGIN]


async def test_proxied_answer_to_another_origin_carries_no_allow_origin(
    http: httpx.AsyncClient, tokens: TokenFactory
):
    response = await http.get("/api/v1/echo/simple", headers={**tokens.headers(), "Origin": OTHER})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_401_for_a_missing_token_is_readable_by_an_allowed_origin(
    http: httpx.AsyncClient, cors_upstream: Upstream
):
    response = await http.get("/api/v1/echo/no-token", headers={"Origin": ORIGIN})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "www-authenticate" in _exposed(response)
    assert cors_upstream.hits["/api/v1/echo/no-token"] == 0


async def test_429_is_readable_with_its_retry_after(http: httpx.AsyncClient, tokens: TokenFactory):
    headers = {
        **tokens.headers(f"gwtest-{uuid.uuid4().hex}", roles=("readonly",)),
        "Origin": ORIGIN,
    }
    for _ in range(SMALL["readonly"]):
        assert (await http.get("/api/v1/echo/ro", headers=headers)).status_code == 200
    refused = await http.get("/api/v1/echo/ro", headers=headers)
    assert refused.status_code == 429
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    assert "retry-after" in refused.headers
    assert "retry-after" in _exposed(refused)


async def test_gateway_own_answers_are_readable_by_an_allowed_origin(
    http: httpx.AsyncClient, tokens: TokenFactory
):
    admin = await http.get(
        "/api/v1/gateway/admin/services",
        headers={**tokens.headers(roles=("admin",)), "Origin": ORIGIN},
    )
    unauthorised = await http.get("/api/v1/gateway/admin/services", headers={"Origin": ORIGIN})
    assert admin.status_code == 200
    assert unauthorised.status_code == 401
    for response in (admin, unauthorised):
        assert response.headers["access-control-allow-origin"] == ORIGIN
