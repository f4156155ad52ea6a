"""Breaking, ejection, health checks and retries, against real upstream instances."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from gateway_support import Upstream

from swe_common.testing import TokenFactory, eventually
from swe_gateway.upstreams import BreakerState, CircuitBreaker, RetryBudget


async def _admin(client: httpx.AsyncClient, tokens: TokenFactory, service: str) -> dict[str, Any]:
    headers = tokens.headers(roles=("admin",))
    return (await client.get(f"/api/v1/gateway/admin/services/{service}", headers=headers)).json()


async def _reset_breaker(client: httpx.AsyncClient, tokens: TokenFactory, service: str) -> None:
    headers = tokens.headers(roles=("admin",))
    url = f"/api/v1/gateway/admin/services/{service}/breaker/reset"
    assert (await client.post(url, headers=headers)).status_code == 200


def _set(upstreams: dict[str, Upstream], names: list[str], status: int) -> None:
    for name in names:
        upstreams[name].status = status


BREAKER = ["breaker-1", "breaker-2", "breaker-3"]


def _answered_by_upstream(response: httpx.Response) -> bool:
    """The upstream's own answer (JSON naming it), not a refusal of the gateway's."""
    return response.headers["content-type"].startswith("application/json")


async def test_breaker_opens_after_consecutive_failures_and_answers_503_at_once(
    client, tokens, upstreams
):
    await _reset_breaker(client, tokens, "breaker")
    _set(upstreams, BREAKER, 503)
    headers = tokens.headers()
    answers = [await client.post("/api/v1/breaker/status", headers=headers) for _ in range(5)]
    hits = sum(upstreams[n].hits["POST /api/v1/breaker/status"] for n in BREAKER)
    refused = await client.post("/api/v1/breaker/status", headers=headers)
    assert [(a.status_code, _answered_by_upstream(a)) for a in answers] == [(503, True)] * 5
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert sum(upstreams[n].hits["POST /api/v1/breaker/status"] for n in BREAKER) == hits
    assert (await _admin(client, tokens, "breaker"))["breaker"]["state"] == "open"
    _set(upstreams, BREAKER, 200)


async def test_breaker_closes_after_a_successful_trial_once_cooled_down(client, tokens, upstreams):
    await _reset_breaker(client, tokens, "breaker")
    _set(upstreams, BREAKER, 503)
    headers = tokens.headers()
    for _ in range(5):
        await client.post("/api/v1/breaker/status", headers=headers)
    _set(upstreams, BREAKER, 200)

    async def passes() -> bool:
        return (await client.post("/api/v1/breaker/status", headers=headers)).status_code == 200

    await eventually(passes, timeout=5, interval=0.2)
    assert (await _admin(client, tokens, "breaker"))["breaker"]["state"] == "closed"


async def test_breaker_reopens_when_the_trial_fails(client, tokens, upstreams):
    await _reset_breaker(client, tokens, "breaker")
    _set(upstreams, BREAKER, 503)
    headers = tokens.headers()
    for _ in range(5):
        await client.post("/api/v1/breaker/status", headers=headers)

    async def trial_went_through() -> bool:
        return _answered_by_upstream(await client.post("/api/v1/breaker/status", headers=headers))

    await eventually(trial_went_through, timeout=5, interval=0.2)
    after = await client.post("/api/v1/breaker/status", headers=headers)
    assert after.status_code == 503
    assert after.headers["content-type"] == "application/problem+json"
    _set(upstreams, BREAKER, 200)


@pytest.mark.parametrize("status", [500, 501])
async def test_a_callers_5xx_answers_never_take_the_service_from_another_caller(
    client, tokens, upstreams, status
):
    """A 500 answers one request: an input that makes the service fail is not evidence that
    the instance is unhealthy, so it neither ejects the instance nor opens the breaker."""
    await _reset_breaker(client, tokens, "shared")
    _set(upstreams, ["shared-1", "shared-2"], status)
    attacker, other = tokens.headers("finds-a-500"), tokens.headers("bystander")
    for _ in range(20):
        answer = await client.post("/api/v1/shared/status", headers=attacker)
        assert answer.status_code == status
    seen = set()
    for _ in range(4):
        response = await client.get("/api/v1/shared/anything", headers=other)
        assert response.status_code == 200
        seen.add(response.json()["instance"])
    state = await _admin(client, tokens, "shared")
    _set(upstreams, ["shared-1", "shared-2"], 200)
    assert seen == {"shared-1", "shared-2"}
    assert state["breaker"]["state"] == "closed"
    assert not any(i["ejected"] or i["ejections"] for i in state["instances"])


async def test_a_dependency_failure_the_service_reports_does_not_count_against_it(
    client, tokens, upstreams
):
    """A 502 marked ``X-Failure-Scope: request`` (GitHub failed for this request) is passed on
    once, not retried, and neither ejects the instance nor opens the breaker."""
    await _reset_breaker(client, tokens, "depends")
    headers = tokens.headers()
    for _ in range(10):
        answer = await client.get("/api/v1/depends/dependency", headers=headers)
        assert answer.status_code == 502
        assert "x-failure-scope" not in answer.headers
    hits = sum(upstreams[n].hits["/api/v1/depends/dependency"] for n in ("depends-1", "depends-2"))
    state = await _admin(client, tokens, "depends")
    assert hits == 10
    assert state["breaker"]["state"] == "closed"
    assert not any(i["ejected"] for i in state["instances"])


async def test_instances_that_time_out_are_ejected_and_the_breaker_opens(client, tokens):
    headers = tokens.headers()
    answers = [
        await client.get("/api/v1/slowpoke/sleep?seconds=3", headers=headers) for _ in range(5)
    ]
    refused = await client.get("/api/v1/slowpoke/sleep?seconds=3", headers=headers)
    state = await _admin(client, tokens, "slowpoke")
    assert [a.status_code for a in answers] == [504] * 5
    assert refused.status_code == 503
    assert refused.json()["type"].endswith("/circuit-open")
    assert state["breaker"]["state"] == "open"
    assert sum(i["ejections"] for i in state["instances"]) == 1


async def test_at_most_the_configured_share_of_instances_is_ejected(client, tokens, upstreams):
    """Three instances all answering 503: with the default 50%, one is ejected at a time."""
    _set(upstreams, ["trio-1", "trio-2", "trio-3"], 503)
    headers = tokens.headers()
    for _ in range(5):
        await client.get("/api/v1/trio/status", headers=headers)
    state = await _admin(client, tokens, "trio")
    hits = [upstreams[n].hits["GET /api/v1/trio/status"] for n in ("trio-1", "trio-2", "trio-3")]
    _set(upstreams, ["trio-1", "trio-2", "trio-3"], 200)
    assert min(hits) >= 3  # each failed often enough to be ejected on its own
    assert [i["ejected"] for i in state["instances"]].count(True) == 1


async def test_the_only_instance_of_a_service_is_never_ejected(client, tokens, upstreams):
    """Ejecting it would turn a few failed answers into an outage until the ejection ends."""
    upstreams["single-only"].status = 503
    headers = tokens.headers()
    for _ in range(4):  # one short of the breaker's threshold, past the ejection's
        assert (await client.post("/api/v1/single/status", headers=headers)).status_code == 503
    upstreams["single-only"].status = 200
    recovered = await client.post("/api/v1/single/status", headers=headers)
    state = await _admin(client, tokens, "single")
    assert recovered.status_code == 200
    assert recovered.json() == {"instance": "single-only"}
    assert not state["instances"][0]["ejected"]


def test_breaker_needs_the_minimum_request_count_before_opening():
    breaker = CircuitBreaker("unit", failure_threshold=2, min_requests=4, cooldown_seconds=30)
    for _ in range(3):
        breaker.record(False)
    assert breaker.state is BreakerState.closed
    breaker.record(False)
    assert breaker.state is BreakerState.open
    assert not breaker.allow()


def test_retry_budget_caps_retries_to_a_share_of_requests():
    budget = RetryBudget(ratio=0.5, capacity=2)
    assert [budget.withdraw() for _ in range(3)] == [True, True, False]
    budget.deposit()
    assert not budget.withdraw()
    budget.deposit()
    assert budget.withdraw()


async def test_failing_instance_is_ejected_for_growing_times(client, tokens, upstreams):
    headers = tokens.headers()
    first = [
        (await client.get("/api/v1/eject/status", headers=headers)).headers["x-instance"]
        for _ in range(8)
    ]
    assert first[-2:] == ["eject-good", "eject-good"]
    bad = next(i for i in (await _admin(client, tokens, "eject"))["instances"] if i["ejected"])
    assert bad["ejections"] == 1

    async def back() -> bool:
        instances = (await _admin(client, tokens, "eject"))["instances"]
        return not any(i["ejected"] for i in instances)

    await eventually(back, timeout=5, interval=0.1)
    for _ in range(8):
        await client.get("/api/v1/eject/status", headers=headers)
    again = next(i for i in (await _admin(client, tokens, "eject"))["instances"] if i["ejected"])
    assert again["ejections"] == 2
    assert again["ejected_for_seconds"] > 1.0


async def test_instance_failing_its_health_check_leaves_rotation_until_it_recovers(
    client, tokens, upstreams
):
    headers = tokens.headers()
    upstreams["health-2"].ready = 503

    async def only_first() -> bool:
        seen = {
            (await client.get("/api/v1/health/x", headers=headers)).json()["instance"]
            for _ in range(4)
        }
        return seen == {"health-1"}

    await eventually(only_first, timeout=5, interval=0.1)
    upstreams["health-2"].ready = 200

    async def both() -> bool:
        seen = {
            (await client.get("/api/v1/health/x", headers=headers)).json()["instance"]
            for _ in range(4)
        }
        return seen == {"health-1", "health-2"}

    await eventually(both, timeout=5, interval=0.1)


async def test_idempotent_request_is_retried_on_another_instance_after_a_connect_error(
    client, tokens
):
    headers = tokens.headers()
    for _ in range(4):
        response = await client.get(f"/api/v1/retry/{uuid.uuid4().hex}", headers=headers)
        assert response.status_code == 200
        assert response.json()["instance"] == "retry-good"


async def test_idempotent_request_is_retried_on_503_a_bounded_number_of_times(
    client, tokens, upstreams
):
    response = await client.get("/api/v1/retry503/status", headers=tokens.headers())
    assert response.status_code == 503
    assert response.json() == {"instance": "retry503-only"}
    assert upstreams["retry503-only"].hits["GET /api/v1/retry503/status"] == 3


async def test_non_idempotent_request_is_not_retried(client, tokens, upstreams):
    before = upstreams["post503-only"].hits["POST /api/v1/post503/status"]
    await _reset_breaker(client, tokens, "post503")
    response = await client.post("/api/v1/post503/status", headers=tokens.headers())
    assert response.status_code == 503
    assert upstreams["post503-only"].hits["POST /api/v1/post503/status"] == before + 1


async def test_a_loaded_instance_sheds_what_it_cannot_take_without_opening_the_breaker(
    start_gateway, tokens
):
    """Every connection the gateway allows to the service's only instance is in use (one here,
    held by a slow request): a request that finds none free within the connect timeout gets a
    503 to retry shortly, and that is not counted against the service. After more of them than
    open the breaker, the next request is served once a connection is free. (Each used to count
    as a failed connect, so a burst past the service's capacity opened the breaker and refused
    every caller for its cooldown.)"""
    gateway = await start_gateway(
        pool_size_per_host=1, connect_timeout_seconds=0.2, breaker_cooldown_seconds=30
    )
    headers = tokens.headers()
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        slow = asyncio.create_task(client.get("/api/v1/single/sleep?seconds=5", headers=headers))
        await asyncio.sleep(0.5)  # the slow request holds the only connection
        shed = [await client.get("/api/v1/single/anything", headers=headers) for _ in range(6)]
        assert [r.status_code for r in shed] == [503] * 6
        problem = shed[0].json()
        assert shed[0].headers["content-type"] == "application/problem+json"
        assert problem["type"].endswith("/busy")
        assert "busy" in problem["detail"]
        assert shed[0].headers["retry-after"] == "1"
        assert (await slow).status_code == 200
        after = await client.get("/api/v1/single/anything", headers=headers)
        assert after.status_code == 200
        state = await _admin(client, tokens, "single")
    assert state["breaker"]["state"] == "closed"
    assert not any(i["ejected"] or i["ejections"] for i in state["instances"])
