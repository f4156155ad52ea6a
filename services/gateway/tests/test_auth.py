"""Authentication at the edge: what passes, what is refused, and that refused requests never
reach an upstream."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import redis.asyncio as aioredis
from gateway_support import FakeAuth, Upstream

from swe_common.security import REVOKED_JTI_KEY, TOKENS_NOT_BEFORE_KEY, announce_revocation
from swe_common.testing import TokenFactory, eventually


def _hits(upstreams: dict[str, Upstream], path: str) -> int:
    return upstreams["echo-a"].hits[path] + upstreams["echo-b"].hits[path]


async def _refused(client: httpx.AsyncClient, upstreams, headers: dict[str, str]) -> None:
    path = f"/api/v1/echo/private-{uuid.uuid4().hex}"
    response = await client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert _hits(upstreams, path) == 0


async def test_request_without_credentials_is_refused(client, upstreams):
    await _refused(client, upstreams, {})


async def test_malformed_token_is_refused(client, upstreams):
    await _refused(client, upstreams, {"Authorization": "Bearer not.a.jwt"})


async def test_expired_token_is_refused(client, upstreams, tokens: TokenFactory):
    await _refused(client, upstreams, tokens.headers(ttl_seconds=-120))


async def test_token_signed_by_an_unknown_key_is_refused(client, upstreams):
    await _refused(client, upstreams, TokenFactory().headers())


async def test_token_for_another_audience_is_refused(client, upstreams):
    await _refused(client, upstreams, TokenFactory(audience="someone-else").headers())


async def test_token_with_a_forged_signature_is_refused(client, upstreams, tokens: TokenFactory):
    forger = TokenFactory()
    forger.kid = tokens.kid  # same key id, different private key
    await _refused(client, upstreams, forger.headers())


async def test_revoked_token_stops_passing_within_seconds(
    client, redis: aioredis.Redis, tokens: TokenFactory
):
    jti = f"gwtest-{uuid.uuid4().hex}"
    headers = {"Authorization": f"Bearer {tokens.token(jti=jti)}"}
    assert (await client.get("/api/v1/echo/me", headers=headers)).status_code == 200
    await redis.set(REVOKED_JTI_KEY.format(jti=jti), "1", ex=120)

    async def refused() -> bool:
        return (await client.get("/api/v1/echo/me", headers=headers)).status_code == 401

    started = time.monotonic()
    await eventually(refused, timeout=5, interval=0.1)
    assert time.monotonic() - started < 2.5


async def test_tokens_issued_before_the_users_cutoff_are_refused(
    client, upstreams, redis: aioredis.Redis, tokens: TokenFactory
):
    subject = f"gwtest-{uuid.uuid4().hex}"
    headers = tokens.headers(subject)
    await redis.set(TOKENS_NOT_BEFORE_KEY.format(sub=subject), str(time.time() + 5), ex=120)
    await _refused(client, upstreams, headers)


async def test_public_route_passes_without_a_token(client):
    # (Login is public too; it is left to the rate-limit tests, which count its budget.)
    response = await client.get("/api/v1/open/anything")
    assert response.status_code == 200
    assert response.json()["raw_path"] == "/api/v1/open/anything"


async def test_github_webhook_passes_without_a_token(client):
    response = await client.post("/api/v1/projects/42/webhooks/github", content=b"{}")
    assert response.status_code == 200
    assert response.json()["raw_path"] == "/api/v1/projects/42/webhooks/github"


async def test_api_key_is_exchanged_and_forwarded_as_a_bearer_token(client, fake_auth: FakeAuth):
    response = await client.get("/api/v1/echo/keyed", headers={"X-API-Key": "gw-good-key"})
    assert response.status_code == 200
    seen = response.json()["headers"]
    assert seen["authorization"].startswith("Bearer ey")
    assert "x-api-key" not in seen


async def test_api_key_exchange_is_cached(client, fake_auth: FakeAuth):
    await client.get("/api/v1/echo/keyed", headers={"X-API-Key": "gw-good-key"})
    before = fake_auth.exchanges
    for _ in range(3):
        response = await client.get("/api/v1/echo/keyed", headers={"X-API-Key": "gw-good-key"})
        assert response.status_code == 200
    assert fake_auth.exchanges == before


async def test_unknown_api_key_is_refused(client, upstreams):
    await _refused(client, upstreams, {"X-API-Key": "not-a-key"})


async def test_dot_segments_cannot_smuggle_a_private_path_through_a_public_one(client, upstreams):
    reader, writer = await asyncio.open_connection("127.0.0.1", client.base_url.port)
    writer.write(b"GET /api/v1/open/../echo/private-dot HTTP/1.1\r\nHost: gw\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    writer.close()
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"application/problem+json" in head
    assert _hits(upstreams, "/api/v1/echo/private-dot") == 0  # aiohttp normalises the path


async def test_an_announced_revocation_is_refused_by_the_next_request(
    client, redis: aioredis.Redis, tokens: TokenFactory
):
    # Just checked, so without the announcement the cache would let it pass for another
    # second (revocation_recheck_seconds): what auth's announcement is for.
    jti = f"gwtest-{uuid.uuid4().hex}"
    headers = {"Authorization": f"Bearer {tokens.token(jti=jti)}"}
    assert (await client.get("/api/v1/echo/me", headers=headers)).status_code == 200
    await redis.set(REVOKED_JTI_KEY.format(jti=jti), "1", ex=120)
    await announce_revocation(redis)
    announced = time.monotonic()

    async def refused() -> bool:
        return (await client.get("/api/v1/echo/me", headers=headers)).status_code == 401

    await eventually(refused, timeout=5, interval=0.02)
    assert time.monotonic() - announced < 0.6
