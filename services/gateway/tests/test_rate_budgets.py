"""Rate budgets as the source systems give them: several windows per role counted together
(a per-minute burst and an hourly quota), an API key's own budget, per-caller limits on the
expensive routes, and the headers naming the window closest to running out."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from gateway_support import GatewayProcess

from swe_common.rate_budgets import DEFAULT_ROLE_BUDGETS
from swe_common.testing import TokenFactory
from swe_gateway.config import load_config
from swe_gateway.settings import Settings

# user: a burst of 5 a minute within 100 an hour; agent: an hourly quota of 4 binds first.
WINDOWS = {"user": {"minute": 5, "hour": 100}, "agent": {"minute": 100, "hour": 4}}


@pytest.fixture(scope="module")
async def windowed(start_gateway, prefix: str) -> tuple[GatewayProcess, GatewayProcess]:
    """Two gateways sharing Redis (and so every budget), with small windows, and the agent-start
    limit lowered to 3 a minute by GATEWAY_ROUTE_LIMITS."""
    settings = {
        "rate_limits": WINDOWS,
        "rate_limit_prefix": f"{prefix}:windows",
        "route_limits": {"agent-start": {"limit": 3}},
        "trusted_proxies": ["127.0.0.1/32"],
    }
    return await start_gateway(**settings), await start_gateway(**settings)


def _me() -> str:
    return f"gwtest-{uuid.uuid4().hex}"


async def _statuses(http: httpx.AsyncClient, count: int, **kwargs: object) -> list[int]:
    path = str(kwargs.pop("path", "/api/v1/echo/budget"))
    method = str(kwargs.pop("method", "GET"))
    return [
        (await http.request(method, path, **kwargs)).status_code  # type: ignore[arg-type]
        for _ in range(count)
    ]


def _item(header: str) -> tuple[str, dict[str, int]]:
    """``"user-minute";r=3;t=48`` -> ("user-minute", {"r": 3, "t": 48})."""
    name, *params = header.split(";")
    return name.strip('"'), {k: int(v) for k, v in (p.split("=") for p in params)}


async def test_a_user_has_a_minute_burst_and_an_hourly_quota_counted_together(
    windowed, tokens: TokenFactory
):
    gateway, _ = windowed
    headers = tokens.headers(_me())
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        first = await http.get("/api/v1/echo/budget", headers=headers)
        rest = await _statuses(http, 4, headers=headers)
        refused = await http.get("/api/v1/echo/budget", headers=headers)
    assert first.status_code == 200 and rest == [200] * 4
    assert first.headers["ratelimit-policy"] == '"user-minute";q=5;w=60, "user-hour";q=100;w=3600'
    # The minute burst is closer to running out (4 left) than the hour (99 left).
    name, params = _item(first.headers["ratelimit"])
    assert (name, params["r"]) == ("user-minute", 4)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert _item(refused.headers["ratelimit"])[0] == "user-minute"
    assert 1 <= int(refused.headers["retry-after"]) <= 12  # one request every 60/5 s


async def test_the_hourly_quota_is_named_once_it_is_closest_to_running_out(
    windowed, tokens: TokenFactory
):
    gateway, _ = windowed
    headers = tokens.headers(_me(), roles=("agent",))
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        answers = [await http.get("/api/v1/echo/budget", headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    name, params = _item(answers[2].headers["ratelimit"])
    assert (name, params["r"]) == ("agent-hour", 1)
    assert answers[2].headers["x-ratelimit-limit"] == "4"
    # The next request fits the hour's quota again only after 3600/4 s.
    assert int(answers[4].headers["retry-after"]) > 60
    assert _item(answers[4].headers["ratelimit"])[0] == "agent-hour"


async def test_two_gateways_count_one_callers_windows_exactly(windowed, tokens: TokenFactory):
    headers = tokens.headers(_me())
    statuses = []
    async with httpx.AsyncClient() as http:
        for i in range(10):
            target = windowed[i % 2]
            response = await http.get(f"{target.url}/api/v1/echo/budget", headers=headers)
            statuses.append(response.status_code)
    assert statuses == [200] * 5 + [429] * 5


async def test_an_api_key_spends_its_own_budget_not_its_owners(windowed, tokens: TokenFactory):
    gateway, _ = windowed
    owner = _me()
    key = tokens.headers(owner, api_key_id=uuid.uuid4().hex, rate_limits={"minute": 2})
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        by_key = [await http.get("/api/v1/echo/budget", headers=key) for _ in range(3)]
        by_owner = await _statuses(http, 5, headers=tokens.headers(owner))
    assert [r.status_code for r in by_key] == [200, 200, 429]
    assert by_key[0].headers["ratelimit-policy"] == (
        '"key-minute";q=2;w=60, "key-hour";q=100;w=3600'
    )
    assert _item(by_key[2].headers["ratelimit"])[0] == "key-minute"
    assert by_owner == [200] * 5  # the owner's own budget is untouched


async def test_an_api_key_budget_above_its_owners_role_is_cut_to_the_owners(
    windowed, tokens: TokenFactory
):
    gateway, _ = windowed
    key = tokens.headers(_me(), api_key_id=uuid.uuid4().hex, rate_limits={"minute": 1000})
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        answers = [await http.get("/api/v1/echo/budget", headers=key) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    assert '"key-minute";q=5;w=60' in answers[0].headers["ratelimit-policy"]


async def test_an_api_key_without_a_budget_of_its_own_has_its_owners_windows_alone(
    windowed, tokens: TokenFactory
):
    gateway, _ = windowed
    owner = _me()
    key = tokens.headers(owner, api_key_id=uuid.uuid4().hex)
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        by_key = await _statuses(http, 6, headers=key)
        by_owner = await _statuses(http, 5, headers=tokens.headers(owner))
    assert by_key == [200] * 5 + [429]
    assert by_owner == [200] * 5


async def test_agent_starts_are_limited_per_caller_whatever_the_address(
    windowed, tokens: TokenFactory, upstreams
):
    gateway, _ = windowed
    # Users: 5 requests a minute, so the fourth start is refused by agent-start's 3.
    caller, other = tokens.headers(_me()), tokens.headers(_me())
    path = f"/api/v1/agents/{uuid.uuid4()}/start"
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        starts = [
            await http.post(path, headers={**caller, "X-Forwarded-For": f"198.51.100.{i + 1}"})
            for i in range(4)
        ]
        reading = await http.get(path, headers=caller)  # only POST is an agent start
        another = await http.post(path, headers=other)
    assert [s.status_code for s in starts] == [200, 200, 200, 429]
    assert '"agent-start";q=3;w=60' in starts[3].headers["ratelimit-policy"]
    assert _item(starts[3].headers["ratelimit"])[0] == "agent-start"
    assert reading.status_code == 200
    assert another.status_code == 200
    hits = upstreams["echo-a"].hits[path] + upstreams["echo-b"].hits[path]
    assert hits == 5  # three starts, the read, the other caller's start


async def test_exports_and_github_syncs_have_per_caller_limits_by_default(
    gateway, tokens: TokenFactory
):
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        export = await http.get("/api/v1/analytics/export", headers=tokens.headers(_me()))
        sync = await http.post(f"/api/v1/issues/{uuid.uuid4()}/sync", headers=tokens.headers(_me()))
    assert '"export";q=10;w=60' in export.headers["ratelimit-policy"]
    assert '"github-sync";q=30;w=60' in sync.headers["ratelimit-policy"]


def test_route_limit_settings_must_name_a_limit_of_the_routes_file() -> None:
    with pytest.raises(SystemExit, match="agent-strat"):
        load_config(Settings(route_limits={"agent-strat": {"limit": 3}}))


def test_route_limit_settings_replace_the_files_numbers() -> None:
    config = load_config(Settings(route_limits={"export": {"limit": 2, "period": 3600}}))
    (export,) = config.limits_for("/api/v1/analytics/export", "GET")
    assert (export.limit, export.period, export.per) == (2, 3600, "caller")
    assert config.limits_for(f"/api/v1/agents/{uuid.uuid4()}/start", "GET") == []


def test_role_budgets_named_replace_that_roles_windows_and_keep_the_others() -> None:
    settings = Settings(rate_limits={"user": {"minute": 10}})
    assert settings.rate_limits["user"] == {"minute": 10}
    assert settings.rate_limits["admin"] == DEFAULT_ROLE_BUDGETS["admin"]
    assert DEFAULT_ROLE_BUDGETS["user"] == {"minute": 60, "hour": 1000}


def test_a_window_the_gateway_does_not_know_stops_it_at_start() -> None:
    with pytest.raises(ValueError, match=re.escape("rate_limits")):
        Settings(rate_limits={"user": {"fortnight": 10}})
