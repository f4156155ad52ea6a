"""Rate limits: headers, per-role limits, exact counting across gateways, Redis failures."""

from __future__ import annotations

import time
import uuid

import httpx
from gateway_support import WEBHOOK_LIMIT

from swe_common.testing import TokenFactory


async def test_answers_carry_both_rate_limit_header_styles(client, tokens: TokenFactory):
    response = await client.get("/api/v1/echo/rl", headers=tokens.headers())
    headers = response.headers
    assert headers["x-ratelimit-limit"] == "100000"
    assert int(headers["x-ratelimit-remaining"]) == 99999
    assert headers["ratelimit-limit"] == "100000"
    assert "x-ratelimit-reset" in headers
    assert headers["ratelimit-policy"] == '"user";q=100000;w=60'
    assert headers["ratelimit"].startswith('"user";r=99999;t=')


async def _until_refused(http: httpx.AsyncClient, headers: dict[str, str], tries: int) -> list[int]:
    return [(await http.get("/api/v1/echo/rl", headers=headers)).status_code for _ in range(tries)]


async def test_user_over_the_limit_gets_429_with_retry_after(limited_gateway, tokens, upstreams):
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        headers = tokens.headers(f"gwtest-{uuid.uuid4().hex}")
        statuses = await _until_refused(http, headers, 5)
        response = await http.get("/api/v1/echo/rl-refused", headers=headers)
    assert statuses == [200] * 5
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert upstreams["echo-a"].hits["/api/v1/echo/rl-refused"] == 0
    assert upstreams["echo-b"].hits["/api/v1/echo/rl-refused"] == 0


async def test_readonly_callers_get_a_smaller_limit_than_users(limited_gateway, tokens):
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        readonly = tokens.headers(f"gwtest-{uuid.uuid4().hex}", roles=("readonly",))
        statuses = await _until_refused(http, readonly, 5)
    assert statuses == [200, 200, 200, 429, 429]


async def test_anonymous_callers_are_limited_by_client_address(limited_gateway):
    address = f"198.51.100.{uuid.uuid4().int % 250}"
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        statuses = [
            (await http.get("/api/v1/open/x", headers={"X-Forwarded-For": address})).status_code
            for _ in range(5)
        ]
        other = await http.get("/api/v1/open/x", headers={"X-Forwarded-For": "192.0.2.77"})
    assert statuses == [200, 200, 200, 200, 429]
    assert other.status_code == 200


async def test_two_gateways_sharing_redis_count_one_login_limit_exactly(gateways):
    gateway, second = gateways["main"], gateways["second"]
    async with httpx.AsyncClient() as http:
        statuses = []
        for i in range(16):
            target = gateway if i % 2 == 0 else second
            response = await http.post(f"{target.url}/api/v1/auth/login", json={})
            statuses.append(response.status_code)
    assert statuses.count(200) == 10
    assert statuses[10:] == [429] * 6


async def test_redis_hanging_fails_open_fast_with_the_local_limiter(gateways, tokens):
    gw = gateways["hang_open"]  # its Redis accepts connections and never answers
    async with httpx.AsyncClient(base_url=gw.url) as http:
        headers = tokens.headers(f"gwtest-{uuid.uuid4().hex}")
        started = time.monotonic()
        statuses = await _until_refused(http, headers, 5)
        elapsed = time.monotonic() - started
    assert statuses == [200, 200, 200, 429, 429]
    assert elapsed < 2.0


async def test_redis_down_fails_closed_when_configured(gateways):
    gw = gateways["down_closed"]  # nothing listens at its Redis address
    async with httpx.AsyncClient(base_url=gw.url) as http:
        response = await http.get("/api/v1/open/x")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1


# -- GitHub's webhook deliveries: their own budget, never the anonymous one ---------------------


def _hook(project: str | None = None) -> str:
    return f"/api/v1/projects/{project or uuid.uuid4()}/webhooks/github"


async def _deliveries(http: httpx.AsyncClient, address: str, count: int, path: str) -> list[int]:
    headers = {"X-Forwarded-For": address, "X-GitHub-Event": "issues"}
    return [
        (await http.post(path, content=b'{"action": "opened"}', headers=headers)).status_code
        for _ in range(count)
    ]


async def _anonymous(http: httpx.AsyncClient, address: str, count: int) -> list[int]:
    headers = {"X-Forwarded-For": address}
    return [(await http.get("/api/v1/open/x", headers=headers)).status_code for _ in range(count)]


async def test_webhook_deliveries_never_spend_the_anonymous_budget(limited_gateway):
    # The limited gateway lets an anonymous address make 4 requests a minute.
    address = f"198.51.100.{uuid.uuid4().int % 250}"
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        delivered = await _deliveries(http, address, 35, _hook())
        anonymous = await _anonymous(http, address, 5)
    assert delivered == [200] * 35
    assert anonymous == [200, 200, 200, 200, 429]


async def test_a_spent_anonymous_budget_does_not_refuse_webhook_deliveries(limited_gateway):
    address = f"203.0.113.{uuid.uuid4().int % 250}"
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        anonymous = await _anonymous(http, address, 5)
        delivered = await _deliveries(http, address, 10, _hook())
    assert anonymous[-1] == 429
    assert delivered == [200] * 10


async def test_an_unsigned_flood_of_the_webhook_path_is_bounded_per_address(
    limited_gateway, upstreams
):
    # GitHub's address comes from 198.18.0.0/15, a range no gateway fixture denies (the
    # fixtures deny 192.0.2.66), fresh each run so an earlier run's minute cannot spend it.
    n = uuid.uuid4().int
    flooder, github = "192.0.2.200", f"198.18.{n % 250}.{(n >> 8) % 250}"
    project = str(uuid.uuid4())
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        flood = await _deliveries(http, flooder, WEBHOOK_LIMIT + 5, _hook(project))
        # Another project's path is the same budget: the address is what is limited.
        elsewhere = await http.post(_hook(), content=b"{}", headers={"X-Forwarded-For": flooder})
        # GitHub's own address still delivers to the flooded project.
        delivered = await _deliveries(http, github, 3, _hook(project))
    assert flood == [200] * WEBHOOK_LIMIT + [429] * 5
    assert elsewhere.status_code == 429
    assert '"github-webhook";q=' in elsewhere.headers["ratelimit-policy"]
    assert '"anonymous"' not in elsewhere.headers["ratelimit-policy"]
    assert int(elsewhere.headers["retry-after"]) >= 1
    assert delivered == [200] * 3
    forwarded = upstreams["echo-a"].hits[_hook(project)] + upstreams["echo-b"].hits[_hook(project)]
    assert forwarded == WEBHOOK_LIMIT + 3
