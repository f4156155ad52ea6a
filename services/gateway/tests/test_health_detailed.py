"""GET /health/detailed: admins only, every instance asked with the admin's own token."""

from __future__ import annotations


async def test_detailed_health_refuses_anonymous_callers_and_non_admins(client, tokens):
    anonymous = await client.get("/health/detailed")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    user = await client.get("/health/detailed", headers=tokens.headers())
    assert user.status_code == 403
    assert "services" not in user.text and "instances" not in user.text


async def test_detailed_health_asks_every_instance_with_the_admins_token(client, tokens):
    admin = tokens.headers(roles=("admin",))
    response = await client.get("/health/detailed", headers=admin)
    assert response.status_code == 200
    body = response.json()
    echo = body["services"]["echo"]
    assert {answer["service"] for answer in echo["instances"].values()} == {"echo-a", "echo-b"}
    for answer in echo["instances"].values():
        assert answer["status"] == "ok"
        assert answer["asked_with"] == admin["Authorization"]
        assert answer["latency_ms"] >= 0
    assert echo["status"] == "ok" and echo["breaker"] in ("closed", "open", "half_open")
    # A service without instances is down, and so is the platform's verdict.
    assert body["services"]["empty"] == {"breaker": "closed", "instances": {}, "status": "down"}
    assert body["status"] == "down"
    gateway = body["gateway"]
    assert gateway["checks"]["redis"]["status"] == "ok"
    assert set(gateway["build"]) == {"commit", "time"}


async def test_the_public_health_answer_stays_the_verdict_only(client):
    body = (await client.get("/health")).json()
    assert set(body) == {"status"}
