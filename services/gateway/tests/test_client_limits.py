"""What one client may cost the gateway: body sizes per route, and how long it may take to send
a request (real sockets against a gateway process)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from gateway_support import GatewayProcess

from swe_common.testing import TokenFactory
from swe_gateway.config import load_config
from swe_gateway.settings import Settings

MiB = 1024 * 1024


async def _head_for(gateway: GatewayProcess, request: bytes) -> bytes:
    """Send a request head (its body never follows) and read the answer's head."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    finally:
        writer.close()


# -- body sizes ---------------------------------------------------------------------------


async def test_an_anonymous_register_over_the_public_limit_is_refused_unread(gateway):
    head = await _head_for(
        gateway,
        b"POST /api/v1/auth/register HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {100 * MiB}\r\n\r\n".encode(),
    )
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"application/problem+json" in head


async def test_a_public_path_takes_at_most_64_kib(client: httpx.AsyncClient):
    response = await client.post("/api/v1/open/post", content=b"x" * (64 * 1024 + 1))
    assert response.status_code == 413
    assert "65536 bytes" in response.json()["detail"]


async def test_a_body_over_the_default_limit_is_refused_unread(gateway, tokens: TokenFactory):
    head = await _head_for(
        gateway,
        b"POST /api/v1/echo/big HTTP/1.1\r\nHost: gw\r\n"
        + f"Authorization: Bearer {tokens.token()}\r\n".encode()
        + f"Content-Length: {MiB + 1}\r\n\r\n".encode(),
    )
    assert head.startswith(b"HTTP/1.1 413 ")


async def test_a_body_within_the_default_limit_is_forwarded(client, tokens: TokenFactory):
    response = await client.post("/api/v1/echo/fits", headers=tokens.headers(), content=b"y" * MiB)
    assert response.status_code == 200
    assert response.json()["body_length"] == MiB


async def test_the_github_webhook_path_takes_deliveries_up_to_githubs_cap(client):
    """Public (signed by GitHub, no token), yet allowed GitHub's 25 MiB, not the 64 KiB."""
    response = await client.post("/api/v1/projects/p1/webhooks/github", content=b"{" * (3 * MiB))
    assert response.status_code == 200
    assert response.json()["body_length"] == 3 * MiB


async def test_the_github_webhook_path_refuses_more_than_githubs_cap(gateway):
    head = await _head_for(
        gateway,
        b"POST /api/v1/projects/p1/webhooks/github HTTP/1.1\r\nHost: gw\r\n"
        + f"Content-Length: {25 * MiB + 1}\r\n\r\n".encode(),
    )
    assert head.startswith(b"HTTP/1.1 413 ")


async def test_the_admin_api_refuses_a_large_body_before_checking_credentials(gateway):
    head = await _head_for(
        gateway,
        b"POST /api/v1/gateway/admin/services/echo/instances HTTP/1.1\r\nHost: gw\r\n"
        + f"Content-Type: application/json\r\nContent-Length: {MiB}\r\n\r\n".encode(),
    )
    assert head.startswith(b"HTTP/1.1 413 ")


def test_routes_toml_sets_body_limits_per_route_and_per_path(tmp_path: Path):
    routes = tmp_path / "routes.toml"
    routes.write_text(
        'public = ["/api/v1/files/public/*"]\n'
        '[services.files]\ninstances = ["http://127.0.0.1:1"]\n'
        '[[routes]]\nprefix = "/api/v1/files"\nservice = "files"\nmax_body_bytes = 5000000\n'
        '[[body_limits]]\nname = "tiny"\npaths = ["/api/v1/files/*/tiny"]\nmax_bytes = 10\n'
    )
    config = load_config(Settings(routes_file=str(routes), public_max_body_bytes=1000))
    route = config.routes[0]
    assert config.max_body_for("/api/v1/files/a", route, public=False) == 5_000_000
    assert config.max_body_for("/api/v1/files/public/a", route, public=True) == 1000
    assert config.max_body_for("/api/v1/files/a/tiny", route, public=False) == 10


# -- slow clients ---------------------------------------------------------------------------


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """Everything the gateway sent until it closed the connection; fails past ``seconds``."""
    received = b""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            chunk = await asyncio.wait_for(reader.read(65536), left)
        except TimeoutError:
            break
        if not chunk:
            return received
        received += chunk
    pytest.fail(f"the connection was still open after {seconds}s (received {received[:200]!r})")


@pytest.fixture
def deadlines(gateways: dict[str, GatewayProcess]) -> GatewayProcess:
    return gateways["deadlines"]  # head within 1 s, at most 1 s between body chunks


async def test_a_request_head_that_trickles_in_gets_408_and_is_closed(deadlines):
    reader, writer = await asyncio.open_connection("127.0.0.1", deadlines.port)
    writer.write(b"GET /api/v1/echo/slow-head HTTP/1.1\r\nHost: gw\r\n")

    async def trickle() -> None:
        for n in range(100):  # one header line every 0.2 s: the head never ends on its own
            await asyncio.sleep(0.2)
            writer.write(f"X-Trickle-{n}: y\r\n".encode())

    sending = asyncio.create_task(trickle())
    try:
        answer = await _closed_within(reader, 10)
    finally:
        sending.cancel()
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_a_connection_that_never_sends_a_request_is_closed(deadlines):
    reader, writer = await asyncio.open_connection("127.0.0.1", deadlines.port)
    try:
        answer = await _closed_within(reader, 10)
    finally:
        writer.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 ")


async def test_a_body_that_stops_midway_gets_408_and_is_closed(deadlines, tokens: TokenFactory):
    reader, writer = await asyncio.open_connection("127.0.0.1", deadlines.port)
    writer.write(
        b"POST /api/v1/echo/stalled HTTP/1.1\r\nHost: gw\r\n"
        + f"Authorization: Bearer {tokens.token()}\r\n".encode()
        + b"Content-Length: 100\r\n\r\n"
        + b"z" * 10
    )
    try:
        answer = await _closed_within(reader, 10)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"application/problem+json" in answer


async def test_a_slow_but_steady_body_is_accepted(deadlines, tokens: TokenFactory):
    """The idle bound is between chunks: an upload that keeps coming may take longer overall."""

    async def steady():
        for _ in range(6):  # 0.3 s apart: 1.5 s in all, past the head deadline, never idle 1 s
            yield b"s" * 100
            await asyncio.sleep(0.3)

    async with httpx.AsyncClient(base_url=deadlines.url, timeout=30) as http:
        response = await http.post(
            "/api/v1/echo/steady", headers=tokens.headers(), content=steady()
        )
    assert response.status_code == 200
    assert response.json()["body_length"] == 600
