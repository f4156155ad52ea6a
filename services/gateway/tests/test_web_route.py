"""The web console's route: ``/`` and every path no API route claims go to the console's
server without a token, GET and HEAD only; unknown ``/api`` and ``/ws`` paths stay 404s."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from conftest import GENEROUS
from gateway_support import FakeAuth, GatewayProcess, Upstream, routes_toml

from swe_common.testing import TokenFactory
from swe_gateway.config import load_config
from swe_gateway.settings import Settings

WEB_ROUTE = """
[[routes]]
prefix = "/"
service = "web"
public = true
methods = ["GET", "HEAD"]
except = ["/api", "/ws"]
"""


@pytest.fixture(scope="module")
async def console() -> AsyncIterator[Upstream]:
    upstream = await Upstream("console").start()
    yield upstream
    await upstream.stop()


@pytest.fixture(scope="module")
async def web_gateway(
    console: Upstream,
    upstreams: dict[str, Upstream],
    fake_auth: FakeAuth,
    prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[GatewayProcess]:
    directory = tmp_path_factory.mktemp("webroute")
    routes = directory / "routes.toml"
    services = {"echo": [upstreams["echo-a"].url], "auth": [fake_auth.url], "web": [console.url]}
    routes.write_text(routes_toml(services) + WEB_ROUTE)
    env = {
        "GATEWAY_ROUTES_FILE": str(routes),
        "GATEWAY_JWKS_URL": fake_auth.jwks_url,
        "GATEWAY_RATE_LIMIT_PREFIX": prefix,
        "GATEWAY_RATE_LIMITS": json.dumps(GENEROUS),
        "GATEWAY_ACCESS_LOG": "false",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    gateway = GatewayProcess(env, directory / "gateway.log").spawn()
    try:
        yield await gateway.start()
    finally:
        gateway.stop()


@pytest.fixture
async def web_client(web_gateway: GatewayProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=web_gateway.url, timeout=30) as http:
        yield http


@pytest.mark.parametrize("path", ["/", "/projects", "/projects/7/issues", "/assets/index-1.js"])
async def test_console_paths_reach_the_console_without_a_token(
    web_client: httpx.AsyncClient, path: str
):
    response = await web_client.get(path)
    assert response.status_code == 200
    assert response.json()["instance"] == "console"
    assert response.json()["raw_path"] == path


async def test_head_reaches_the_console_without_a_token(web_client: httpx.AsyncClient):
    response = await web_client.head("/projects")
    assert response.status_code == 200
    assert response.headers["x-instance"] == "console"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_other_methods_on_console_paths_answer_405_and_never_reach_it(
    web_client: httpx.AsyncClient, console: Upstream, method: str, tokens: TokenFactory
):
    before = console.hits["/projects"]
    response = await web_client.request(method, "/projects", headers=tokens.headers())
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == "GET, HEAD"
    assert console.hits["/projects"] == before


@pytest.mark.parametrize("path", ["/api", "/api/v1/nope", "/api/v2/projects", "/api/v1/echox"])
async def test_unknown_api_paths_answer_the_gateways_404_problem(
    web_client: httpx.AsyncClient, console: Upstream, path: str
):
    response = await web_client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["instance"] == path
    assert console.hits[path] == 0


async def test_api_routes_keep_their_service_and_their_token_check(
    web_client: httpx.AsyncClient, tokens: TokenFactory
):
    assert (await web_client.get("/api/v1/echo/things")).status_code == 401
    response = await web_client.get("/api/v1/echo/things", headers=tokens.headers())
    assert response.json()["instance"] == "echo-a"


async def test_a_websocket_to_a_console_path_is_refused(web_gateway: GatewayProcess):
    from aiohttp import ClientSession, WSServerHandshakeError

    async with ClientSession() as session:
        with pytest.raises(WSServerHandshakeError) as refused:
            await session.ws_connect(f"{web_gateway.url}/projects")
    assert refused.value.status in (403, 404)


def test_the_packaged_routes_send_the_console_paths_to_web(tmp_path: Path):
    config = load_config(Settings(routes_file=None))
    for path in ("/", "/projects", "/projects/1/issues", "/assets/index-abc.js"):
        route = config.route_for(path)
        assert route is not None and route.service == "web", path
        assert route.public and route.methods == {"GET", "HEAD"}
    for path, service in (
        ("/api/v1/projects/1", "projects"),
        ("/api/v1/auth/login", "auth"),
        ("/ws/runs/1", "agents"),
    ):
        route = config.route_for(path)
        assert route is not None and route.service == service, path
    assert config.route_for("/api/v1/nope") is None
    assert not config.routes[-1].matches("/ws/anything"), "the console never takes /ws"
    assert config.route_for("/apis") is not None, "only whole segments are excluded"
