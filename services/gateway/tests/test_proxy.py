"""Forwarding: paths, headers, bodies, streaming, errors a client can rely on."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import uuid
from typing import Any

import httpx
from conftest import GatewayFactory
from gateway_support import GatewayProcess, Upstream

from swe_common.testing import TokenFactory, tcp_served


async def test_forwards_path_and_query_unchanged(client: httpx.AsyncClient, tokens: TokenFactory):
    response = await client.get("/api/v1/echo/a%2Fb/c?x=1&y=%20z", headers=tokens.headers())
    assert response.status_code == 200
    assert response.json()["raw_path"] == "/api/v1/echo/a%2Fb/c?x=1&y=%20z"


async def test_forwards_the_callers_token_and_body(client: httpx.AsyncClient, tokens: TokenFactory):
    headers = tokens.headers()
    response = await client.post("/api/v1/echo/items", headers=headers, content=b"hello")
    seen = response.json()
    assert seen["method"] == "POST"
    assert seen["headers"]["authorization"] == headers["Authorization"]
    assert seen["body_sha256"] == hashlib.sha256(b"hello").hexdigest()


async def test_balances_round_robin_over_instances(client: httpx.AsyncClient, tokens: TokenFactory):
    headers = tokens.headers()
    seen = [
        (await client.get("/api/v1/echo/rr", headers=headers)).json()["instance"] for _ in range(6)
    ]
    assert sorted(set(seen)) == ["echo-a", "echo-b"]
    assert all(a != b for a, b in itertools.pairwise(seen))


async def test_strips_hop_by_hop_request_headers(client: httpx.AsyncClient, tokens: TokenFactory):
    headers = {
        **tokens.headers(),
        "Connection": "keep-alive, X-Secret-Hop",
        "X-Secret-Hop": "1",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic abc",
        "X-Kept": "yes",
    }
    seen = (await client.get("/api/v1/echo/hop-req", headers=headers)).json()["headers"]
    for name in ("x-secret-hop", "keep-alive", "proxy-authorization"):
        assert name not in seen
    assert seen["x-kept"] == "yes"


async def test_strips_hop_by_hop_response_headers(client: httpx.AsyncClient, tokens: TokenFactory):
    response = await client.get("/api/v1/echo/hop", headers=tokens.headers())
    assert response.text == "hop"
    assert "x-upstream-hop" not in response.headers
    assert response.headers["x-kept"] == "1"


async def test_sets_forwarded_headers_and_ignores_untrusted_ones(
    client: httpx.AsyncClient, tokens: TokenFactory, gateway: GatewayProcess
):
    headers = {**tokens.headers(), "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil"}
    seen = (await client.get("/api/v1/echo/fwd", headers=headers)).json()["headers"]
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == f"127.0.0.1:{gateway.port}"


async def test_appends_to_forwarded_for_from_a_trusted_proxy(
    limited_gateway: GatewayProcess, tokens: TokenFactory
):
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        headers = {**tokens.headers(), "X-Forwarded-For": "203.0.113.9"}
        seen = (await http.get("/api/v1/echo/fwd", headers=headers)).json()["headers"]
    assert seen["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"


async def test_denied_client_address_gets_403_before_reaching_an_upstream(
    limited_gateway: GatewayProcess, tokens: TokenFactory, upstreams: dict[str, Upstream]
):
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        headers = {**tokens.headers(), "X-Forwarded-For": "192.0.2.66"}
        response = await http.get("/api/v1/echo/denied", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert upstreams["echo-a"].hits["/api/v1/echo/denied"] == 0
    assert upstreams["echo-b"].hits["/api/v1/echo/denied"] == 0


async def test_passes_and_echoes_the_request_id(client: httpx.AsyncClient, tokens: TokenFactory):
    headers = {**tokens.headers(), "X-Request-ID": "req-123"}
    response = await client.get("/api/v1/echo/id", headers=headers)
    assert response.json()["headers"]["x-request-id"] == "req-123"
    assert response.headers["x-request-id"] == "req-123"


async def test_makes_a_request_id_when_missing(client: httpx.AsyncClient, tokens: TokenFactory):
    response = await client.get("/api/v1/echo/id", headers=tokens.headers())
    made = response.headers["x-request-id"]
    assert len(made) >= 16
    assert response.json()["headers"]["x-request-id"] == made


async def test_leaves_location_and_cookies_intact(client: httpx.AsyncClient, tokens: TokenFactory):
    response = await client.get("/api/v1/echo/cookies", headers=tokens.headers())
    assert response.status_code == 302
    assert response.headers["location"] == "/api/v1/echo/elsewhere?a=1"
    assert response.headers.get_list("set-cookie") == [
        "session=abc; Path=/; HttpOnly",
        "theme=dark; Path=/",
    ]


async def test_a_location_naming_an_upstream_instance_becomes_a_path(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    """A service's absolute redirect (``http://127.0.0.1:8002/...``) must not tell the client
    where the services live: the gateway keeps only the path, query and fragment."""
    response = await client.get("/api/v1/echo/redirect", headers=tokens.headers())
    assert response.status_code == 307
    assert response.headers["location"] == "/api/v1/echo/elsewhere?a=1#part"


async def test_a_location_naming_another_site_passes_unchanged(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    target = "https://github.com/login/oauth/authorize?client_id=x&state=y"
    response = await client.get(
        "/api/v1/echo/redirect", params={"to": target}, headers=tokens.headers()
    )
    assert response.headers["location"] == target


async def test_a_trailing_slash_is_dropped_before_routing(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    response = await client.get("/api/v1/echo/thing/?q=1", headers=tokens.headers())
    assert response.status_code == 200
    assert response.json()["raw_path"] == "/api/v1/echo/thing?q=1"


async def test_a_public_path_with_a_trailing_slash_stays_public_and_keeps_its_limit(
    limited_gateway,
):
    """``/login/`` is ``/login``: public, and counted against the login limit, not escaping it."""
    address = f"198.51.100.{uuid.uuid4().int % 250}"
    async with httpx.AsyncClient(base_url=limited_gateway.url) as http:
        response = await http.post(
            "/api/v1/auth/login/", json={}, headers={"X-Forwarded-For": address}
        )
    assert response.status_code == 200
    assert response.json() == {"logged_in": True}
    assert '"login";q=10' in response.headers["ratelimit-policy"]


async def test_adds_security_headers(client: httpx.AsyncClient, tokens: TokenFactory):
    response = await client.get("/api/v1/echo/sec", headers=tokens.headers())
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "max-age" in response.headers["strict-transport-security"]


async def test_unknown_path_answers_404_problem(client: httpx.AsyncClient):
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_service_without_instances_answers_503_problem(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    response = await client.get("/api/v1/empty/x", headers=tokens.headers())
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert "retry-after" in response.headers


async def test_upstream_5xx_passes_through(client: httpx.AsyncClient, tokens: TokenFactory):
    response = await client.post("/api/v1/post503/status", headers=tokens.headers())
    assert response.status_code == 503
    assert response.json() == {"instance": "post503-only"}


async def test_route_timeout_answers_504(client: httpx.AsyncClient, tokens: TokenFactory):
    started = asyncio.get_running_loop().time()
    response = await client.get("/api/v1/slow/sleep?seconds=3", headers=tokens.headers())
    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert asyncio.get_running_loop().time() - started < 2.5


async def test_declared_body_over_the_limit_answers_413_without_reading_it(
    gateway: GatewayProcess, tokens: TokenFactory
):
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(
        b"POST /api/v1/echo/big HTTP/1.1\r\nHost: gw\r\n"
        + f"Authorization: Bearer {tokens.token()}\r\n".encode()
        + b"Content-Length: 999999999999\r\n\r\n"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"application/problem+json" in head


HUNDRED_MB = 100 * 1024 * 1024


async def _peak_rss(gateway: GatewayProcess, work: asyncio.Task[Any]) -> int:
    peak = gateway.rss_bytes()
    while not work.done():
        peak = max(peak, gateway.rss_bytes())
        await asyncio.sleep(0.05)
    await work
    return peak


async def test_streams_a_100mb_download_with_bounded_memory(
    client: httpx.AsyncClient, tokens: TokenFactory, gateway: GatewayProcess
):
    before = gateway.rss_bytes()

    async def download() -> int:
        total = 0
        url = f"/api/v1/echo/download?bytes={HUNDRED_MB}"
        async with client.stream("GET", url, headers=tokens.headers()) as response:
            assert response.status_code == 200
            async for chunk in response.aiter_raw():
                total += len(chunk)
        return total

    work = asyncio.create_task(download())
    peak = await _peak_rss(gateway, work)
    assert work.result() == HUNDRED_MB
    assert peak - before < 30 * 1024 * 1024


async def test_streams_a_100mb_upload_with_bounded_memory(
    client: httpx.AsyncClient, tokens: TokenFactory, gateway: GatewayProcess
):
    block = os.urandom(1024 * 1024)
    digest = hashlib.sha256()
    for _ in range(100):
        digest.update(block)

    async def body():
        for _ in range(100):
            yield block

    before = gateway.rss_bytes()
    headers = {**tokens.headers(), "Content-Length": str(HUNDRED_MB)}
    work = asyncio.create_task(client.post("/api/v1/echo/upload", headers=headers, content=body()))
    peak = await _peak_rss(gateway, work)
    assert work.result().json() == {"size": HUNDRED_MB, "sha256": digest.hexdigest()}
    assert peak - before < 30 * 1024 * 1024


async def test_upstream_answering_invalid_http_gets_502_problem(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"this is not http\r\n\r\n")
        await writer.drain()
        writer.close()

    admin = tokens.headers(roles=("admin",))
    instances = "/api/v1/gateway/admin/services/empty/instances"
    async with tcp_served(garbage) as port:
        url = f"http://127.0.0.1:{port}"
        try:
            registered = await client.post(instances, headers=admin, json={"url": url})
            assert registered.status_code == 201
            response = await client.post("/api/v1/empty/x", headers=tokens.headers())
        finally:
            await client.delete(instances, headers=admin, params={"url": url})
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"


async def test_writes_one_json_access_line_per_request(
    start_gateway: GatewayFactory, tokens: TokenFactory
):
    gateway = await start_gateway(access_log=True, log_level="INFO", log_format="json")
    request_id = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.get(
            "/api/v1/echo/a;token=eyJsecret",
            headers={**tokens.headers(), "X-Request-ID": request_id},
        )
    assert response.status_code == 200
    lines: list[dict[str, Any]] = []
    for _ in range(100):  # written in batches, at most 0.05 s apart
        lines = [
            json.loads(line)
            for line in gateway.log_path.read_text().splitlines()
            if request_id in line
        ]
        if lines:
            break
        await asyncio.sleep(0.05)
    [line] = lines
    assert "eyJsecret" not in json.dumps(line)
    timestamp = line.pop("timestamp")
    assert timestamp.endswith("Z") and "T" in timestamp
    duration = line.pop("duration_ms")
    assert isinstance(duration, float | int) and duration >= 0
    assert line == {
        "method": "GET",
        "path": "/api/v1/echo/a;token=[redacted]",
        "status": 200,
        "upstream": "echo",
        "request_id": request_id,
        "event": "request",
        "service": "gateway",
        "level": "info",
        "logger": "swe.gateway.access",
    }
    assert list(line) == [
        "method", "path", "status", "upstream", "request_id", "event", "service", "level", "logger",
    ]  # fmt: skip
