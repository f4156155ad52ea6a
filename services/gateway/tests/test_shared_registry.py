"""The registry shared by every gateway instance: a change through one gateway's admin API
(an instance added, drained or removed, a service registered, a breaker reset) is honoured by
another gateway process within seconds, through Redis; a missed notification still converges;
the routes file stays the default."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from gateway_support import GatewayProcess, Upstream

from swe_common.testing import TokenFactory, eventually

ADMIN = "/api/v1/gateway/admin"
# Convergence through the notification is immediate; through the reconcile, at most this.
RECONCILE_SECONDS = 0.5


@pytest.fixture(scope="module")
def registry_prefix(prefix: str) -> str:
    return f"{prefix}:shared-registry:{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
async def pair(start_gateway, registry_prefix: str) -> tuple[GatewayProcess, GatewayProcess]:
    """Two gateway processes sharing one registry; breakers stay open a minute unless reset."""
    settings = {
        "registry_prefix": registry_prefix,
        "registry_reconcile_seconds": str(RECONCILE_SECONDS),
        "breaker_cooldown_seconds": "60",
    }
    return await start_gateway(**settings), await start_gateway(**settings)


@pytest.fixture
async def extra() -> AsyncIterator[list[Upstream]]:
    """Upstream instances of the test's own, stopped after it."""
    started: list[Upstream] = []
    yield started
    for upstream in started:
        await upstream.stop()


async def _upstream(extra: list[Upstream], name: str) -> Upstream:
    upstream = await Upstream(name).start()
    extra.append(upstream)
    return upstream


def _admin(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(roles=("admin",))


async def _served_by(gateway: GatewayProcess, path: str, tokens: TokenFactory) -> str | None:
    """Which instance answered ``path`` through ``gateway`` (None: no instance did)."""
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        response = await http.get(path, headers=tokens.headers())
    if response.status_code != 200:
        return None
    return str(response.json()["instance"])


async def _all_served_by(
    gateway: GatewayProcess, path: str, tokens: TokenFactory, count: int = 6
) -> set[str | None]:
    return {await _served_by(gateway, path, tokens) for _ in range(count)}


async def test_an_instance_registered_through_one_gateway_serves_through_the_other(
    pair, tokens: TokenFactory, extra
):
    first, second = pair
    runtime = await _upstream(extra, "added-through-first")
    async with httpx.AsyncClient(base_url=first.url) as http:
        added = await http.post(
            f"{ADMIN}/services/empty/instances", headers=_admin(tokens), json={"url": runtime.url}
        )
    assert added.status_code == 201, added.text
    assert await _served_by(first, "/api/v1/empty/x", tokens) == "added-through-first"
    await eventually(
        lambda: _is(_served_by(second, "/api/v1/empty/x", tokens), "added-through-first"),
        timeout=5,
    )
    # Back to the routes file (no instance for "empty"), on both.
    async with httpx.AsyncClient(base_url=first.url) as http:
        forgotten = await http.delete(f"{ADMIN}/services/empty", headers=_admin(tokens))
    assert forgotten.status_code == 204
    await eventually(lambda: _is(_served_by(second, "/api/v1/empty/x", tokens), None), timeout=5)


async def _is(answer: Any, expected: object) -> bool:
    return bool(await answer == expected)


async def test_a_service_registered_at_runtime_is_routed_drained_and_removed_on_every_gateway(
    pair, tokens: TokenFactory, extra
):
    first, second = pair
    a, b = await _upstream(extra, "reports-a"), await _upstream(extra, "reports-b")
    body = {
        "instances": [{"url": a.url}, {"url": b.url}],
        "routes": [{"prefix": "/api/v1/reports", "timeout": 5}],
    }
    async with httpx.AsyncClient(base_url=first.url, headers=_admin(tokens)) as http:
        registered = await http.put(f"{ADMIN}/services/reports", json=body)
        assert registered.status_code == 201, registered.text
        assert registered.json()["source"] == "runtime"
        assert registered.json()["routes"] == ["/api/v1/reports"]

        async def both_serve() -> bool:
            return await _all_served_by(second, "/api/v1/reports/x", tokens) == {
                "reports-a",
                "reports-b",
            }

        await eventually(both_serve, timeout=5)
        described = (await http.get(f"{second.url}{ADMIN}/services/reports")).json()
        assert [i["url"] for i in described["instances"]] == [a.url, b.url]

        drained = await http.post(
            f"{ADMIN}/services/reports/instances", json={"url": b.url, "weight": 0}
        )
        assert drained.status_code == 200, drained.text

        async def only_a() -> bool:
            return await _all_served_by(second, "/api/v1/reports/x", tokens) == {"reports-a"}

        await eventually(only_a, timeout=5)

        removed = await http.delete(f"{ADMIN}/services/reports")
        assert removed.status_code == 204

    async def gone() -> bool:
        async with httpx.AsyncClient(base_url=second.url) as http:
            response = await http.get("/api/v1/reports/x", headers=tokens.headers())
        return response.status_code == 404

    await eventually(gone, timeout=5)


async def test_a_breaker_reset_through_one_gateway_closes_the_others(
    pair, tokens: TokenFactory, extra
):
    first, second = pair
    flaky = await _upstream(extra, "flaky-only")
    flaky.status = 503
    async with httpx.AsyncClient(headers=_admin(tokens), timeout=10) as http:
        body = {"instances": [{"url": flaky.url}], "routes": [{"prefix": "/api/v1/flaky"}]}
        assert (await http.put(f"{first.url}{ADMIN}/services/flaky", json=body)).status_code == 201

        async def second_routes_it() -> bool:
            response = await http.get(f"{second.url}{ADMIN}/services/flaky")
            return response.status_code == 200

        await eventually(second_routes_it, timeout=5)

        async def second_breaker_open() -> bool:
            await http.get(f"{second.url}/api/v1/flaky/status")
            state = (await http.get(f"{second.url}{ADMIN}/services/flaky")).json()
            return bool(state["breaker"]["state"] == "open")

        await eventually(second_breaker_open, timeout=10)
        flaky.status = 200
        refused = await http.get(f"{second.url}/api/v1/flaky/status")
        assert refused.status_code == 503  # the breaker stays open for a minute on its own
        reset = await http.post(f"{first.url}{ADMIN}/services/flaky/breaker/reset")
        assert reset.status_code == 200, reset.text

        async def second_serves_again() -> bool:
            response = await http.get(f"{second.url}/api/v1/flaky/status")
            return response.status_code == 200

        await eventually(second_serves_again, timeout=5)
        await http.delete(f"{first.url}{ADMIN}/services/flaky")


async def test_a_gateway_that_missed_the_notification_converges_by_reconciling(
    pair, tokens: TokenFactory, extra, redis: aioredis.Redis, registry_prefix: str
):
    _, second = pair
    quiet = await _upstream(extra, "written-quietly")
    # What a change looks like in Redis, written without the notification a gateway sends.
    doc = {"instances": [{"url": quiet.url, "weight": 1}], "routes": [], "registered": False}
    await redis.hset(f"{registry_prefix}:services", "single", json.dumps(doc))
    await redis.incr(f"{registry_prefix}:version")
    try:
        await eventually(
            lambda: _is(_served_by(second, "/api/v1/single/x", tokens), "written-quietly"),
            timeout=RECONCILE_SECONDS * 10,
        )
    finally:
        await redis.hdel(f"{registry_prefix}:services", "single")
        await redis.incr(f"{registry_prefix}:version")
    await eventually(
        lambda: _is(_served_by(second, "/api/v1/single/x", tokens), "single-only"), timeout=5
    )


async def test_a_gateway_started_later_starts_with_the_shared_changes(
    pair, start_gateway, registry_prefix: str, tokens: TokenFactory, extra
):
    first, _ = pair
    late = await _upstream(extra, "there-before-the-gateway")
    body = {"instances": [{"url": late.url}], "routes": [{"prefix": "/api/v1/late"}]}
    async with httpx.AsyncClient(base_url=first.url, headers=_admin(tokens)) as http:
        assert (await http.put(f"{ADMIN}/services/late", json=body)).status_code == 201
        try:
            newcomer = await start_gateway(registry_prefix=registry_prefix)
            # No waiting: its first request already routes by the shared state.
            assert await _served_by(newcomer, "/api/v1/late/x", tokens) == (
                "there-before-the-gateway"
            )
        finally:
            await http.delete(f"{ADMIN}/services/late")


# -- the admin API's validation: 4xx problems, never a change ----------------------------------


@pytest.mark.parametrize(
    ("name", "body", "status", "field"),
    [
        ("bad", {"instances": [], "routes": [{"prefix": "no-slash"}]}, 422, "prefix"),
        ("bad", {"instances": [], "routes": [{"prefix": "/api/v1/gateway/x"}]}, 422, "prefix"),
        ("bad", {"instances": [], "routes": [{"prefix": "/api/../x"}]}, 422, "prefix"),
        ("bad", {"instances": [{"url": "ftp://x"}]}, 422, "url"),
        ("bad", {"instances": [{"url": "http://a:1", "weight": 5000}]}, 422, "weight"),
        ("bad", {"instances": [{"url": "http://a:1"}, {"url": "http://a:1/"}]}, 422, "instances"),
        ("Bad_Name", {"instances": []}, 422, "name"),
        ("bad", {"instances": [], "unknown": 1}, 422, "unknown"),
        # Another service's prefix, and routes for a service the routes file defines.
        ("bad", {"instances": [], "routes": [{"prefix": "/api/v1/echo"}]}, 409, None),
        ("echo", {"instances": [], "routes": [{"prefix": "/api/v1/echo2"}]}, 409, None),
    ],
)
async def test_a_bad_service_registration_is_a_4xx_problem_and_changes_nothing(
    pair, tokens: TokenFactory, name: str, body: dict[str, Any], status: int, field: str | None
):
    first, second = pair
    async with httpx.AsyncClient(headers=_admin(tokens)) as http:
        before = (await http.get(f"{first.url}{ADMIN}/services")).json()
        response = await http.put(f"{first.url}{ADMIN}/services/{name}", json=body)
        after = (await http.get(f"{first.url}{ADMIN}/services")).json()
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert field in json.dumps(response.json())
    assert {s["name"] for s in after["items"]} == {s["name"] for s in before["items"]}
    assert await _served_by(second, "/api/v1/echo/x", tokens) in ("echo-a", "echo-b")


async def test_changes_to_an_unknown_service_are_404_problems(pair, tokens: TokenFactory):
    first, _ = pair
    async with httpx.AsyncClient(base_url=first.url, headers=_admin(tokens)) as http:
        answers = [
            await http.post(f"{ADMIN}/services/nope/instances", json={"url": "http://a:1"}),
            await http.delete(f"{ADMIN}/services/nope/instances", params={"url": "http://a:1"}),
            await http.post(f"{ADMIN}/services/nope/breaker/reset"),
            await http.delete(f"{ADMIN}/services/nope"),
            await http.delete(f"{ADMIN}/services/echo/instances", params={"url": "http://a:1"}),
        ]
    assert [a.status_code for a in answers] == [404] * 5
    assert {a.headers["content-type"] for a in answers} == {"application/problem+json"}


async def test_registering_a_service_needs_an_admin(pair, tokens: TokenFactory):
    first, _ = pair
    async with httpx.AsyncClient(base_url=first.url) as http:
        body = {"instances": [], "routes": [{"prefix": "/api/v1/mine"}]}
        user = await http.put(f"{ADMIN}/services/mine", json=body, headers=tokens.headers())
        anonymous = await http.put(f"{ADMIN}/services/mine", json=body)
    assert (user.status_code, anonymous.status_code) == (403, 401)
