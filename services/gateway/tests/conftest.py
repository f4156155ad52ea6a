"""Session-wide real servers: upstream instances, a fake auth (API-key exchange + JWKS), Redis
(the real one, under a unique key prefix) and gateway subprocesses built on demand."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

# Tests import their helpers from this folder (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))

from gateway_support import FakeAuth, GatewayProcess, Upstream, free_port, routes_toml

from swe_common.testing import TokenFactory, tcp_served

GENEROUS = {"anonymous": 100000, "readonly": 100000, "user": 100000, "agent": 100000,
            "admin": 100000}  # fmt: skip

UPSTREAMS = {
    "echo": ["echo-a", "echo-b"],
    "eject": ["eject-good", "eject-bad"],
    "breaker": ["breaker-1", "breaker-2", "breaker-3"],
    "retry": ["retry-good"],
    "retry503": ["retry503-only"],
    "post503": ["post503-only"],
    "health": ["health-1", "health-2"],
    "shared": ["shared-1", "shared-2"],
    "depends": ["depends-1", "depends-2"],
    "slowpoke": ["slowpoke-1", "slowpoke-2"],
    "trio": ["trio-1", "trio-2", "trio-3"],
    "single": ["single-only"],
}
TIMEOUTS = {"slowpoke": 0.3}


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture(scope="session")
def prefix() -> str:
    return f"swe:gateway:test:{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
async def redis(prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    yield client
    keys = [key async for key in client.scan_iter(f"{prefix}:*")]
    keys += [key async for key in client.scan_iter("swe:auth:*:gwtest-*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture(scope="session")
async def upstreams() -> AsyncIterator[dict[str, Upstream]]:
    servers = {name: await Upstream(name).start() for names in UPSTREAMS.values() for name in names}
    servers["eject-bad"].status = 503
    servers["retry503-only"].status = 503
    servers["post503-only"].status = 503
    yield servers
    for server in servers.values():
        await server.stop()


@pytest.fixture(scope="session")
async def fake_auth(tokens: TokenFactory) -> AsyncIterator[FakeAuth]:
    auth = await FakeAuth(tokens, keys={"gw-good-key": "key-1"}).start()
    yield auth
    await auth.stop()


@pytest.fixture(scope="session")
def routes_file(
    tmp_path_factory: pytest.TempPathFactory, upstreams: dict[str, Upstream], fake_auth: FakeAuth
) -> Path:
    services = {svc: [upstreams[n].url for n in names] for svc, names in UPSTREAMS.items()}
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    services["retry"] = [dead, *services["retry"]]
    services["auth"] = [fake_auth.url]
    services["empty"] = []
    path = tmp_path_factory.mktemp("gateway") / "routes.toml"
    path.write_text(routes_toml(services, TIMEOUTS))
    return path


GatewayFactory = Callable[..., Awaitable[GatewayProcess]]


@pytest.fixture(scope="session")
async def start_gateway(
    routes_file: Path, fake_auth: FakeAuth, prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayFactory]:
    running: list[GatewayProcess] = []

    async def start(other_env: dict[str, str] | None = None, **settings: object) -> GatewayProcess:
        """A gateway with these GATEWAY_* settings (and ``other_env``, e.g. OTEL_*)."""
        env = {
            **(other_env or {}),
            "GATEWAY_ROUTES_FILE": str(routes_file),
            "GATEWAY_JWKS_URL": fake_auth.jwks_url,
            "GATEWAY_RATE_LIMIT_PREFIX": prefix,
            "GATEWAY_RATE_LIMITS": json.dumps(GENEROUS),
            # Each gateway its own runtime registry, unless a test gives two the same one.
            "GATEWAY_REGISTRY_PREFIX": f"{prefix}:registry:{uuid.uuid4().hex[:8]}",
            "GATEWAY_HEALTH_CHECK_INTERVAL_SECONDS": "0.2",
            "GATEWAY_BREAKER_COOLDOWN_SECONDS": "1",
            "GATEWAY_EJECTION_BASE_SECONDS": "1",
            "GATEWAY_RETRY_BACKOFF_SECONDS": "0.01",
            "GATEWAY_ACCESS_LOG": "false",
            "GATEWAY_LOG_LEVEL": "WARNING",
        }
        for key, value in settings.items():
            text = value if isinstance(value, str) else json.dumps(value)
            env[f"GATEWAY_{key.upper()}"] = text
        log = tmp_path_factory.mktemp("gwlog") / "gateway.log"
        gateway = GatewayProcess(env, log).spawn()
        running.append(gateway)  # before waiting: a gateway that never comes up is stopped too
        return await gateway.start()

    yield start
    for gateway in running:
        gateway.stop()


@pytest.fixture(scope="session")
async def black_hole_port() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    async with tcp_served(hold) as port:
        yield port
        for writer in writers:
            writer.close()


@pytest.fixture(scope="session")
async def gateways(
    start_gateway: GatewayFactory, black_hole_port: int
) -> dict[str, GatewayProcess]:
    """Every gateway the suite needs, started side by side (start-up is mostly imports)."""
    small = {"anonymous": 4, "readonly": 3, "user": 5, "agent": 8, "admin": 13}
    configs: dict[str, dict[str, object]] = {
        "main": {},
        "second": {},  # same configuration as main: the two count limits together
        # Small per-role limits, and 127.0.0.1 trusted as a proxy.
        "limited": {"rate_limits": small, "trusted_proxies": ["127.0.0.1/32"],
                    "ip_deny": ["192.0.2.66/32"]},
        "hang_open": {"redis_url": f"redis://127.0.0.1:{black_hole_port}/0",
                      "rate_limits": {**small, "user": 3}},
        "down_closed": {"redis_url": f"redis://127.0.0.1:{free_port()}/0",
                        "redis_failure_policy": "closed"},
        # Short deadlines for a client's request head and between its body's chunks.
        "deadlines": {"request_head_timeout_seconds": 1, "request_body_idle_seconds": 1},
    }  # fmt: skip
    started = await asyncio.gather(*(start_gateway(**cfg) for cfg in configs.values()))
    return dict(zip(configs, started, strict=True))


@pytest.fixture(scope="session")
def gateway(gateways: dict[str, GatewayProcess]) -> GatewayProcess:
    return gateways["main"]


@pytest.fixture(scope="session")
def limited_gateway(gateways: dict[str, GatewayProcess]) -> GatewayProcess:
    return gateways["limited"]


@pytest.fixture
async def client(gateway: GatewayProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
        yield http
