"""Weighted balancing: smooth weighted round-robin over available instances, weight 0 drains;
weights from the routes file, GATEWAY_UPSTREAMS and the admin API."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from gateway_support import GatewayProcess, Upstream

from swe_common.testing import TokenFactory
from swe_gateway.config import load_config
from swe_gateway.settings import Settings, UpstreamInstance
from swe_gateway.upstreams import ServicePool

ADMIN = "/api/v1/gateway/admin/services"


@pytest.fixture(scope="module")
async def weighted() -> AsyncIterator[dict[str, Upstream]]:
    names = ["heavy", "light", "stay", "drain"]
    servers = {name: await Upstream(f"w-{name}").start() for name in names}
    yield servers
    for server in servers.values():
        await server.stop()


@pytest.fixture(scope="module")
async def weighted_gateway(start_gateway, weighted: dict[str, Upstream]) -> GatewayProcess:
    # Instances from GATEWAY_UPSTREAMS: a weighted one next to a plain URL (weight 1).
    return await start_gateway(
        upstreams={
            "echo": [{"url": weighted["heavy"].url, "weight": 3}, weighted["light"].url],
            "health": [weighted["stay"].url, weighted["drain"].url],
        }
    )


@pytest.fixture
async def http(weighted_gateway: GatewayProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=weighted_gateway.url, timeout=30) as client:
        yield client


async def _instances_seen(http: httpx.AsyncClient, path: str, count: int, headers) -> list[str]:
    return [(await http.get(path, headers=headers)).json()["instance"] for _ in range(count)]


def _pool(*instances: str | UpstreamInstance) -> ServicePool:
    return ServicePool("svc", list(instances), Settings())


def _names(pool: ServicePool, picks: int) -> str:
    by_url = {instance.url: name for name, instance in zip("abc", pool.instances, strict=False)}
    return "".join(by_url[pool.pick().url] for _ in range(picks))  # type: ignore[union-attr]


def test_picks_follow_smooth_weighted_round_robin():
    pool = _pool(
        UpstreamInstance(url="http://a.test", weight=5),
        "http://b.test",
        UpstreamInstance(url="http://c.test", weight=1),
    )
    # nginx's documented sequence for weights 5, 1, 1: interleaved, not "aaaaabc".
    assert _names(pool, 14) == "aabacaa" * 2


def test_equal_weights_are_plain_round_robin():
    pool = _pool("http://a.test", "http://b.test", "http://c.test")
    assert _names(pool, 6) == "abcabc"


def test_unhealthy_ejected_and_drained_instances_get_no_picks():
    pool = _pool("http://a.test", "http://b.test", "http://c.test")
    a, b, c = pool.instances
    b.healthy = False
    c.ejected_until = time.monotonic() + 60
    assert {pool.pick() for _ in range(5)} == {a}
    a.weight = 0
    assert pool.pick() is None


def test_a_retry_prefers_an_instance_not_tried_yet():
    pool = _pool(UpstreamInstance(url="http://a.test", weight=10), "http://b.test")
    a, b = pool.instances
    assert pool.pick((a,)) is b
    assert pool.pick((a, b)) is a  # every one tried: the retry goes back to one


def test_routes_file_accepts_weighted_instances_and_plain_urls(tmp_path: Path):
    routes = tmp_path / "routes.toml"
    routes.write_text(
        "[services.svc]\n"
        'instances = ["http://a.test", {url = "http://b.test", weight = 3}, '
        '{url = "http://c.test", weight = 0}]\n'
        '[[routes]]\nprefix = "/api/v1/svc"\nservice = "svc"\n'
    )
    config = load_config(Settings(routes_file=str(routes)))
    assert [(i.url, i.weight) for i in config.services["svc"]] == [
        ("http://a.test", 1),
        ("http://b.test", 3),
        ("http://c.test", 0),
    ]


@pytest.mark.parametrize("instance", ['{url = "http://a.test", weight = -1}', '"ftp://a.test"'])
def test_routes_file_with_a_bad_instance_refuses_to_start(tmp_path: Path, instance: str):
    routes = tmp_path / "routes.toml"
    routes.write_text(f"[services.svc]\ninstances = [{instance}]\n")
    with pytest.raises(SystemExit, match=r"services\.svc\.instances"):
        load_config(Settings(routes_file=str(routes)))


def test_upstreams_from_the_environment_accept_weights(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(
        "GATEWAY_UPSTREAMS", '{"svc": ["http://a.test", {"url": "http://b.test", "weight": 2}]}'
    )
    settings = Settings.load()
    assert settings.upstreams["svc"] == [
        "http://a.test",
        UpstreamInstance(url="http://b.test", weight=2),
    ]


async def test_weights_3_to_1_send_three_of_four_requests_to_the_heavy_instance(
    http: httpx.AsyncClient, tokens: TokenFactory
):
    seen = await _instances_seen(http, "/api/v1/echo/weighted", 40, tokens.headers())
    assert Counter(seen) == {"w-heavy": 30, "w-light": 10}
    # Interleaved: every run of four consecutive answers holds exactly one from the light one.
    windows = [seen[i : i + 4] for i in range(len(seen) - 3)]
    assert all(window.count("w-light") == 1 for window in windows)


async def test_admin_shows_each_instances_weight(http: httpx.AsyncClient, tokens: TokenFactory):
    response = await http.get(f"{ADMIN}/echo", headers=tokens.headers(roles=("admin",)))
    weights = {i["url"]: i["weight"] for i in response.json()["instances"]}
    assert sorted(weights.values()) == [1, 3]


async def test_weight_zero_drains_an_instance_until_it_gets_a_weight_again(
    http: httpx.AsyncClient, tokens: TokenFactory, weighted: dict[str, Upstream]
):
    admin, user = tokens.headers(roles=("admin",)), tokens.headers()
    drain = weighted["drain"].url
    try:
        changed = await http.post(
            f"{ADMIN}/health/instances", headers=admin, json={"url": drain, "weight": 0}
        )
        assert changed.status_code == 200  # already registered: its weight changed
        assert changed.json()["weight"] == 0
        seen = await _instances_seen(http, "/api/v1/health/drained", 6, user)
        assert set(seen) == {"w-stay"}
    finally:
        await http.post(
            f"{ADMIN}/health/instances", headers=admin, json={"url": drain, "weight": 1}
        )
    seen = await _instances_seen(http, "/api/v1/health/back", 4, user)
    assert Counter(seen) == {"w-stay": 2, "w-drain": 2}


async def test_admin_registers_an_instance_with_a_weight(
    http: httpx.AsyncClient, tokens: TokenFactory
):
    admin = tokens.headers(roles=("admin",))
    first, second = await Upstream("reg-a").start(), await Upstream("reg-b").start()
    try:
        for server, weight in ((first, 2), (second, None)):
            body = {"url": server.url} if weight is None else {"url": server.url, "weight": weight}
            added = await http.post(f"{ADMIN}/empty/instances", headers=admin, json=body)
            assert added.status_code == 201
            assert added.json()["weight"] == (weight or 1)
        seen = await _instances_seen(http, "/api/v1/empty/reg", 6, tokens.headers())
        assert Counter(seen) == {"reg-a": 4, "reg-b": 2}
        assert all(pair != ("reg-b", "reg-b") for pair in itertools.pairwise(seen))
    finally:
        for server in (first, second):
            await http.delete(f"{ADMIN}/empty/instances", headers=admin, params={"url": server.url})
            await server.stop()


@pytest.mark.parametrize("weight", [-1, 1001, "heavy", 1.5])
async def test_admin_rejects_a_bad_weight_with_422_problem(
    http: httpx.AsyncClient, tokens: TokenFactory, weight: object
):
    response = await http.post(
        f"{ADMIN}/empty/instances",
        headers=tokens.headers(roles=("admin",)),
        json={"url": "http://127.0.0.1:9/", "weight": weight},
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "weight" in response.text
    services = await http.get(f"{ADMIN}/empty", headers=tokens.headers(roles=("admin",)))
    assert services.json()["instances"] == []
