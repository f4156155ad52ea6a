"""The gateway's own endpoints: admin API, health, metrics, merged docs."""

from __future__ import annotations

import asyncio
import math
import time

import httpx
from gateway_support import Upstream

from swe_common.testing import eventually


async def test_admin_api_needs_a_token(client):
    response = await client.get("/api/v1/gateway/admin/services")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_admin_api_refuses_non_admins(client, tokens):
    response = await client.get("/api/v1/gateway/admin/services", headers=tokens.headers())
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


async def test_admin_lists_services_with_instances_and_breaker_state(client, tokens):
    response = await client.get(
        "/api/v1/gateway/admin/services", headers=tokens.headers(roles=("admin",))
    )
    services = {item["name"]: item for item in response.json()["items"]}
    assert len(services["echo"]["instances"]) == 2
    assert services["echo"]["breaker"]["state"] in ("closed", "open", "half_open")
    assert services["empty"]["instances"] == []


async def test_admin_registers_and_deregisters_an_instance_at_runtime(client, tokens):
    admin = tokens.headers(roles=("admin",))
    extra = await Upstream("runtime").start()
    try:
        added = await client.post(
            "/api/v1/gateway/admin/services/empty/instances", headers=admin, json={"url": extra.url}
        )
        assert added.status_code == 201
        served = await client.get("/api/v1/empty/x", headers=tokens.headers())
        assert served.json()["instance"] == "runtime"
        removed = await client.delete(
            "/api/v1/gateway/admin/services/empty/instances",
            headers=admin,
            params={"url": extra.url},
        )
        assert removed.status_code == 204
        assert (await client.get("/api/v1/empty/x", headers=tokens.headers())).status_code == 503
    finally:
        await extra.stop()


async def test_admin_rejects_an_instance_that_is_not_a_url(client, tokens):
    response = await client.post(
        "/api/v1/gateway/admin/services/echo/instances",
        headers=tokens.headers(roles=("admin",)),
        json={"url": "ftp://nowhere"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_admin_accepts_an_api_key_of_an_admin_exchange(client, tokens):
    # The fake auth mints user tokens for API keys: an exchanged key is not an admin.
    response = await client.get(
        "/api/v1/gateway/admin/services", headers={"X-API-Key": "gw-good-key"}
    )
    assert response.status_code == 403


async def test_an_admins_api_key_reaches_the_admin_api_only_with_the_gateway_admin_scope(
    client, tokens
):
    def key(*scopes: str) -> dict[str, str]:
        return tokens.headers(roles=("admin",), scopes=scopes, api_key_id="gw-admin-key")

    refused = await client.get("/api/v1/gateway/admin/services", headers=key("gateway:write"))
    allowed = await client.get("/api/v1/gateway/admin/services", headers=key("gateway:admin"))
    assert refused.status_code == 403
    assert refused.json()["missing_scope"] == "gateway:admin"
    assert allowed.status_code == 200


async def test_public_health_says_only_ok_or_degraded(client):
    """No service names, instance addresses or breaker states for an anonymous caller."""
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded"}  # the "empty" service has no instance


async def test_admin_health_details_every_services_readiness(client, tokens):
    response = await client.get(
        "/api/v1/gateway/admin/health", headers=tokens.headers(roles=("admin",))
    )
    body = response.json()
    assert body["services"]["echo"]["status"] == "ok"
    assert body["services"]["echo"]["breaker"] == "closed"
    assert len(body["services"]["echo"]["ready_instances"]) == 2
    assert body["services"]["empty"]["status"] == "down"
    assert body["status"] == "degraded"


async def test_admin_health_is_refused_to_a_non_admin(client, tokens):
    response = await client.get("/api/v1/gateway/admin/health", headers=tokens.headers())
    assert response.status_code == 403


async def test_a_flood_of_health_requests_shares_one_round_of_upstream_checks(
    client, upstreams: dict[str, Upstream], gateways: dict[str, object]
):
    instances = [u for u in upstreams.values() if u.name.startswith("echo")]
    before = sum(u.hits["/health/ready"] for u in instances)
    started = time.monotonic()
    answers = await asyncio.gather(*(client.get("/health") for _ in range(50)))
    elapsed = time.monotonic() - started
    checks = sum(u.hits["/health/ready"] for u in instances) - before
    assert all(a.status_code == 200 for a in answers)
    # Without sharing: 50 rounds. With it: one shared round per second, plus the background
    # checks of every gateway of the suite (each every 0.2 s) while the flood lasted.
    background = len(gateways) * (math.ceil(elapsed / 0.2) + 1)
    rounds = math.ceil(elapsed) + 1 + background
    assert checks <= rounds * len(instances)


async def test_live_and_ready_probes_answer(client):
    assert (await client.get("/health/live")).status_code == 200
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["redis"] == "ok"


async def test_metrics_count_requests_by_route_status_and_upstream(client, gateway, tokens):
    await client.get("/api/v1/echo/metered", headers=tokens.headers())
    text = (await client.get(gateway.metrics_url)).text
    assert 'swe_gateway_requests_total{route="/api/v1/echo",status="200",upstream="echo"}' in text
    assert "swe_gateway_upstream_latency_seconds_bucket" in text


async def test_metrics_count_the_requests_in_progress(client, gateway, tokens):
    def in_progress(text: str) -> float:
        [line] = [x for x in text.splitlines() if x.startswith("swe_http_requests_in_progress ")]
        return float(line.split()[1])

    slow = asyncio.create_task(
        client.get("/api/v1/echo/sleep?seconds=1.5", headers=tokens.headers())
    )

    async def counted() -> bool:
        return in_progress((await client.get(gateway.metrics_url)).text) >= 1

    await eventually(counted, timeout=5)
    await slow

    async def settled() -> bool:
        return in_progress((await client.get(gateway.metrics_url)).text) == 0

    await eventually(settled, timeout=5)


async def test_metrics_are_not_served_on_the_public_port(client):
    response = await client.get("/metrics")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_openapi_merges_every_services_paths(client):
    doc = (await client.get("/openapi.json")).json()
    assert "/api/v1/echo/things" in doc["paths"]
    assert "/api/v1/eject/things" in doc["paths"]
    assert "/api/v1/gateway/admin/services" in doc["paths"]
    # Same schema name, different shapes: kept apart under the service's name.
    titles = {
        schema.get("title")
        for name, schema in doc["components"]["schemas"].items()
        if name.endswith("Thing")
    }
    assert {"echo-a", "eject-good"} <= titles or {"echo-b", "eject-good"} <= titles


async def test_docs_page_is_served_with_a_content_security_policy(client):
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "/openapi.json" in response.text
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_gateway_answers_carry_the_request_id(client: httpx.AsyncClient):
    response = await client.get("/health/live", headers={"X-Request-ID": "probe-1"})
    assert response.headers["x-request-id"] == "probe-1"
