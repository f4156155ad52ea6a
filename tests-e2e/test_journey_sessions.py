"""Journey: a session ends everywhere at once.

After login, refresh and logout the session's FIRST access token is refused by the gateway and
by every service called directly; refresh-token reuse kills every access token of the family;
an open WebSocket of the session (or of a user an admin locks) is closed within seconds; and
no access token ever reaches a log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from e2e_support import (
    PASSWORD,
    Stack,
    User,
    create_admin,
    describe,
    expect,
    log_in,
    ws_protocols,
)

from swe_common.testing import eventually

SERVICES_DIRECTLY = {
    "auth": "/api/v1/auth/me",
    "projects": "/api/v1/projects",
    "issues": "/api/v1/issues",
    "agents": "/api/v1/agents",
    "analytics": "/api/v1/analytics/dashboard",
}
CLOSE_DEADLINE = 20.0  # seconds; the sockets re-check every 2 s


async def _refreshed(stack: Stack, refresh_token: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as anonymous:
        return expect(
            await anonymous.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token}),
            200,
        )


async def _refused_at_gateway(stack: Stack, token: str, path: str = "/api/v1/projects") -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30, headers=headers) as http:

        async def refused() -> bool:
            return (await http.get(path)).status_code == 401

        # The gateway re-checks a cached token's revocation at most about a second apart.
        await eventually(refused, timeout=10, interval=0.2)


def _service_url(stack: Stack, name: str) -> str:
    if stack.env is None:
        pytest.skip("services are reachable directly only on a stack these tests started")
    return f"http://127.0.0.1:{stack.env[f'{name.upper()}_PORT']}"


async def test_logout_ends_the_first_access_token_at_the_gateway_and_at_every_service(
    make_user: Any, stack: Stack
) -> None:
    user: User = await make_user("ivy")
    newest = await _refreshed(stack, user.refresh_token)
    logout_headers = {"Authorization": f"Bearer {newest['access_token']}"}
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        expect(await http.post("/api/v1/auth/logout", headers=logout_headers), 204)

    first = user.access_token
    await _refused_at_gateway(stack, first)
    changed = await user.http.patch("/api/v1/auth/me", json={"full_name": "Not Me"})
    assert changed.status_code == 401, describe(changed)
    headers = {"Authorization": f"Bearer {first}"}
    async with httpx.AsyncClient(timeout=30, headers=headers) as direct:
        for name, path in SERVICES_DIRECTLY.items():
            response = await direct.get(_service_url(stack, name) + path)
            assert response.status_code == 401, f"{name}: {describe(response)}"


async def test_refresh_token_reuse_ends_every_access_token_of_the_session(
    make_user: Any, stack: Stack
) -> None:
    user: User = await make_user("jack")
    second = await _refreshed(stack, user.refresh_token)

    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as anonymous:

        async def stolen_copy_replayed() -> bool:
            # Within the race grace (2 s) a replay is refused without ending the session; after
            # it, the replay is a theft and the whole family ends.
            replay = await anonymous.post(
                "/api/v1/auth/refresh", json={"refresh_token": user.refresh_token}
            )
            assert replay.status_code == 401, describe(replay)
            me = await anonymous.get("/api/v1/auth/me", headers=_bearer(second["access_token"]))
            return me.status_code == 401

        await eventually(stolen_copy_replayed, timeout=15, interval=0.5)
    for token in (user.access_token, second["access_token"]):
        await _refused_at_gateway(stack, token)
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as anonymous:
        refreshed = await anonymous.post(
            "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
        )
    assert refreshed.status_code == 401, describe(refreshed)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _agent_stream(stack: Stack, user: User, session: aiohttp.ClientSession) -> Any:
    project = expect(
        await user.http.post(
            "/api/v1/projects",
            json={
                "name": f"ws-{uuid.uuid4().hex[:6]}",
                "repository_url": "https://github.com/e2e/ws",
            },
        ),
        201,
    )

    async def created() -> dict[str, Any] | None:
        response = await user.http.post(
            "/api/v1/agents",
            json={"project_id": project["id"], "name": "watcher", "type": "code_analyzer"},
        )
        # 409: the agents service learnt of the brand-new project from its event and from its
        # fallback lookup at the same moment (a known race of its read model); asking again
        # finds the project known.
        return None if response.status_code == 409 else expect(response, 201)

    agent = await eventually(created, timeout=15, interval=0.5)
    ws = await session.ws_connect(
        f"{stack.ws_url}/ws/agents/{agent['id']}", protocols=ws_protocols(user.access_token)
    )
    assert ws.protocol == "swe.v1"
    async with asyncio.timeout(15):
        while (await ws.receive_json())["type"] != "ready":
            pass
    return ws


async def _close_of(ws: Any) -> tuple[int | None, str]:
    async with asyncio.timeout(CLOSE_DEADLINE):
        while True:
            message = await ws.receive()
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return ws.close_code, str(message.extra or "")


async def test_an_open_stream_is_closed_within_seconds_of_logout(
    make_user: Any, stack: Stack
) -> None:
    user: User = await make_user("kim")
    async with aiohttp.ClientSession() as session:
        ws = await _agent_stream(stack, user, session)
        expect(await user.http.post("/api/v1/auth/logout"), 204)
        code, reason = await _close_of(ws)
    assert code == 4401 and reason == "credentials revoked", (code, reason)


def _create_admin(stack: Stack) -> tuple[str, str]:
    if stack.env is None:
        pytest.skip("an admin can be created only on a stack these tests started")
    return create_admin(stack), PASSWORD


async def test_an_open_stream_is_closed_within_seconds_of_an_admin_lock(
    make_user: Any, stack: Stack, anonymous: httpx.AsyncClient
) -> None:
    user: User = await make_user("lee")
    admin_name, _ = await asyncio.to_thread(_create_admin, stack)
    admin = await log_in(anonymous, admin_name)
    async with aiohttp.ClientSession() as session:
        ws = await _agent_stream(stack, user, session)
        expect(
            await anonymous.post(
                f"/api/v1/auth/admin/users/{user.id}/lock",
                headers={"Authorization": f"Bearer {admin['access_token']}"},
            ),
            200,
        )
        code, reason = await _close_of(ws)
    assert code == 4401 and reason == "credentials revoked", (code, reason)


async def test_no_access_token_reaches_any_log_file(make_user: Any, stack: Stack) -> None:
    if stack.run_dir is None:
        pytest.skip("the log files are readable only on a stack these tests started")
    user: User = await make_user("mo")
    async with aiohttp.ClientSession() as session:
        ws = await _agent_stream(stack, user, session)
        await ws.close()
        # An old client putting its token in the URL is refused, and its URL not logged.
        with contextlib.suppress(aiohttp.WSServerHandshakeError):
            await session.ws_connect(f"{stack.ws_url}/ws/agents/x?access_token={user.access_token}")
    expect(await user.http.get("/api/v1/auth/me"), 200)
    logs = sorted(Path(stack.run_dir, "logs").glob("*.log"))
    assert {p.stem for p in logs} >= {"gateway", "agents", "auth"}, logs

    def leaked() -> list[str]:
        return [p.name for p in logs if user.access_token in p.read_text(errors="replace")]

    gateway_log = Path(stack.run_dir, "logs", "gateway.log")

    # The gateway's access line for the refused handshake is written once it has answered.
    async def logged() -> bool:
        return "/ws/agents/x" in gateway_log.read_text()

    await eventually(logged, timeout=10, interval=0.2)
    assert not leaked(), f"an access token was written to {leaked()}"
