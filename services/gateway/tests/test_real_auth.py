"""End to end with the real auth service: register and log in through the gateway, then use
the access token auth issued (verified by the gateway against auth's real JWKS)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import httpx
import pytest
from gateway_support import GatewayProcess, free_port

from swe_common.migrations import upgrade_head
from swe_common.testing import create_test_database, drop_test_database, unique_name

AUTH_DIR = Path(__file__).resolve().parents[2] / "auth"


async def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"auth exited:\n{log.read_text()[-3000:]}")
            try:
                if (await http.get(f"{url}/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"auth not ready:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
async def real_auth(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    database_url = create_test_database("swe_test_gwauth")
    exchange = unique_name("swe.events.test")
    process = None
    try:
        await asyncio.to_thread(upgrade_head, AUTH_DIR, database_url)
        port = free_port()
        log = tmp_path_factory.mktemp("auth") / "auth.log"
        env = {
            **os.environ,
            "AUTH_DATABASE_URL": database_url,
            "AUTH_ENVIRONMENT": "test",
            "AUTH_EVENTS_EXCHANGE": exchange,
            "AUTH_REDIS_KEY_PREFIX": f"gwtest-{uuid.uuid4().hex[:8]}:",
            "AUTH_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "uvicorn", "--factory", "swe_auth.main:create_app",
                   "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
        with log.open("wb") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=out, cwd=AUTH_DIR)
        url = f"http://127.0.0.1:{port}"
        await _wait_ready(url, process, log)
        yield url
    finally:
        if process is not None:
            process.terminate()
            process.wait(20)
        connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
        async with connection:
            await (await connection.channel()).exchange_delete(exchange)
        drop_test_database(database_url)


@pytest.fixture(scope="module")
async def gateway_to_real_auth(start_gateway, real_auth: str) -> GatewayProcess:
    # 127.0.0.1 is trusted as a proxy so that this test's logins come from their own address:
    # the rate-limit tests spend the login budget of 127.0.0.1 in the same session.
    return await start_gateway(
        upstreams={"auth": [real_auth]},
        trusted_proxies=["127.0.0.1/32"],
        jwks_url=f"{real_auth}/api/v1/auth/.well-known/jwks.json",
    )


async def test_token_issued_by_the_real_auth_service_passes_the_gateway(gateway_to_real_auth):
    tag = uuid.uuid4().hex[:10]
    user = {"email": f"gw{tag}@example.com", "username": f"gw{tag}",
            "full_name": "Gateway Test", "password": "correct horse battery staple 42"}  # fmt: skip
    client_address = {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}
    async with httpx.AsyncClient(
        base_url=gateway_to_real_auth.url, timeout=30, headers=client_address
    ) as http:
        registered = await http.post("/api/v1/auth/register", json=user)
        assert registered.status_code == 201, registered.text
        login = await http.post(
            "/api/v1/auth/login",
            json={"username": user["username"], "password": user["password"]},
        )
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        me = await http.get("/api/v1/auth/me", headers=headers)
        echoed = await http.get("/api/v1/echo/with-real-token", headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == user["username"]
    assert echoed.status_code == 200
    assert echoed.json()["headers"]["authorization"] == headers["Authorization"]


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """name -> the whole Set-Cookie header as it reached the client."""
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


async def test_auth_cookies_pass_the_gateway_intact_both_ways(gateway_to_real_auth):
    tag = uuid.uuid4().hex[:10]
    user = {"email": f"gwc{tag}@example.com", "username": f"gwc{tag}",
            "full_name": "Cookie Test", "password": "correct horse battery staple 42"}  # fmt: skip
    client_address = {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}
    async with httpx.AsyncClient(
        base_url=gateway_to_real_auth.url, timeout=30, headers=client_address
    ) as http:
        assert (await http.post("/api/v1/auth/register", json=user)).status_code == 201
        login = await http.post(
            "/api/v1/auth/login",
            json={"username": user["username"], "password": user["password"], "cookie": True},
        )
        assert login.status_code == 200, login.text
        sent = _set_cookies(login)
        refresh_value = sent["swe_refresh"].split(";")[0].split("=", 1)[1]
        csrf_value = sent["swe_csrf"].split(";")[0].split("=", 1)[1]
        ttl = login.json()["refresh_expires_in"]
        # The browser sends the cookies back through the gateway to the public refresh path.
        refreshed = await http.post(
            "/api/v1/auth/refresh",
            headers={
                "Cookie": f"swe_refresh={refresh_value}; swe_csrf={csrf_value}",
                "X-CSRF-Token": csrf_value,
            },
        )
    assert sent["swe_refresh"] == (
        f"swe_refresh={refresh_value}; HttpOnly; Secure; SameSite=Strict; "
        f"Path=/api/v1/auth; Max-Age={ttl}"
    )
    assert sent["swe_csrf"] == (
        f"swe_csrf={csrf_value}; Secure; SameSite=Strict; Path=/; Max-Age={ttl}"
    )
    assert login.json()["refresh_token"] is None
    assert refreshed.status_code == 200, refreshed.text
    assert set(_set_cookies(refreshed)) == {"swe_refresh", "swe_csrf"}
    assert refresh_value not in _set_cookies(refreshed)["swe_refresh"]


async def test_an_api_key_auth_refuses_as_malformed_is_a_401_not_a_503(gateway_to_real_auth):
    # Auth answers 422 for a key longer than any it issues: a bad credential, not an outage.
    client_address = {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}
    async with httpx.AsyncClient(
        base_url=gateway_to_real_auth.url, timeout=30, headers=client_address
    ) as http:
        response = await http.get("/api/v1/echo/with-key", headers={"X-API-Key": "k" * 300})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_api_key_made_with_a_budget_is_counted_by_it_at_the_gateway(
    gateway_to_real_auth,
):
    tag = uuid.uuid4().hex[:10]
    user = {"email": f"gwk{tag}@example.com", "username": f"gwk{tag}",
            "full_name": "Key Budget", "password": "correct horse battery staple 42"}  # fmt: skip
    client_address = {"X-Forwarded-For": f"198.51.100.{uuid.uuid4().int % 250 + 1}"}
    async with httpx.AsyncClient(
        base_url=gateway_to_real_auth.url, timeout=30, headers=client_address
    ) as http:
        assert (await http.post("/api/v1/auth/register", json=user)).status_code == 201
        login = await http.post(
            "/api/v1/auth/login",
            json={"username": user["username"], "password": user["password"]},
        )
        owner = {"Authorization": f"Bearer {login.json()['access_token']}"}
        greedy = await http.post(
            "/api/v1/auth/api-keys",
            json={"name": "greedy", "rate_limits": {"minute": 10_000}},
            headers=owner,
        )
        created = await http.post(
            "/api/v1/auth/api-keys",
            json={"name": "ci", "scopes": ["projects:read"], "rate_limits": {"minute": 3}},
            headers=owner,
        )
        assert created.status_code == 201, created.text
        key = {"X-API-Key": created.json()["key"]}
        by_key = [await http.get("/api/v1/echo/with-budget", headers=key) for _ in range(4)]
        by_owner = await http.get("/api/v1/echo/with-budget", headers=owner)
    assert greedy.status_code == 422  # above the owner's budget
    assert [r.status_code for r in by_key] == [200, 200, 200, 429]
    assert '"key-minute";q=3;w=60' in by_key[0].headers["ratelimit-policy"]
    assert by_key[3].headers["ratelimit"].startswith('"key-minute";r=0;')
    assert by_owner.status_code == 200  # the key's budget is its own
