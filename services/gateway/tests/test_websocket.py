"""WebSocket pass-through for /ws/*, authenticated at the handshake."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import aiohttp
import pytest
from gateway_support import GatewayProcess

from swe_common.security import REVOKED_SESSION_KEY, TOKENS_NOT_BEFORE_KEY
from swe_common.testing import TokenFactory


@pytest.fixture
async def ws_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _ws_url(gateway: GatewayProcess, path: str) -> str:
    return gateway.url.replace("http://", "ws://") + path


async def test_relays_frames_both_ways_with_a_header_token(gateway, tokens, ws_session):
    token = tokens.token()
    async with ws_session.ws_connect(
        _ws_url(gateway, "/ws/runs/1"), headers={"Authorization": f"Bearer {token}"}
    ) as ws:
        hello = await ws.receive_json(timeout=5)
        await ws.send_str("hi")
        echoed = await ws.receive_str(timeout=5)
        await ws.send_bytes(b"\x00\x01")
        binary = await ws.receive_bytes(timeout=5)
    assert hello["authorization"] == f"Bearer {token}"
    assert echoed == "echo:hi"
    assert binary == b"\x00\x01"


async def test_refuses_a_token_in_the_url_with_a_problem_naming_the_subprotocol(
    gateway, tokens, ws_session
):
    token = tokens.token()
    url = _ws_url(gateway, f"/ws/runs/1?access_token={token}&follow=1")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await ws_session.ws_connect(url)
    assert refused.value.status == 401
    async with ws_session.get(url.replace("ws://", "http://"), headers=_upgrade()) as response:
        problem = await response.json(content_type=None)
    assert response.status == 401
    assert "bearer.<token>" in problem["detail"]


def _upgrade() -> dict[str, str]:
    return {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }


async def test_a_browser_offering_swe_v1_and_its_token_gets_swe_v1_back(
    gateway, tokens, ws_session
):
    token = tokens.token()
    async with ws_session.ws_connect(
        _ws_url(gateway, "/ws/plain/1?since=3"), protocols=("swe.v1", f"bearer.{token}")
    ) as ws:
        hello = await ws.receive_json(timeout=5)
        protocol = ws.protocol
    assert protocol == "swe.v1"
    assert hello["authorization"] == f"Bearer {token}"
    assert hello["query"] == "since=3"


async def test_an_open_websocket_closes_when_its_session_is_revoked(
    gateway, tokens, ws_session, redis
):
    sid = f"gwtest-{uuid.uuid4().hex}"
    token = tokens.token(sid=sid)
    async with ws_session.ws_connect(
        _ws_url(gateway, "/ws/runs/1"), protocols=("swe.v1", f"bearer.{token}")
    ) as ws:
        await ws.receive_json(timeout=5)
        await redis.set(REVOKED_SESSION_KEY.format(sid=sid), "1", ex=60)
        closing = await ws.receive(timeout=15)
    assert closing.type is aiohttp.WSMsgType.CLOSE
    assert (closing.data, closing.extra) == (4401, "credentials revoked")


async def test_an_open_websocket_closes_when_its_user_is_locked_out(
    gateway, tokens, ws_session, redis
):
    subject = f"gwtest-{uuid.uuid4().hex}"
    async with ws_session.ws_connect(
        _ws_url(gateway, "/ws/runs/1"), headers=tokens.headers(subject)
    ) as ws:
        await ws.receive_json(timeout=5)
        # What auth writes when an admin locks or disables the user.
        cutoff = str(int(time.time()) + 1)
        await redis.set(TOKENS_NOT_BEFORE_KEY.format(sub=subject), cutoff, ex=60)
        closing = await ws.receive(timeout=15)
    assert closing.type is aiohttp.WSMsgType.CLOSE
    assert closing.data == 4401


async def test_accepts_the_token_as_a_bearer_subprotocol(gateway, tokens, ws_session):
    token = tokens.token()
    async with ws_session.ws_connect(
        _ws_url(gateway, "/ws/runs/1"), protocols=("bearer", token, "chat")
    ) as ws:
        hello = await ws.receive_json(timeout=5)
        protocol = ws.protocol
    assert hello["authorization"] == f"Bearer {token}"
    assert protocol == "chat"


async def test_refuses_the_handshake_without_a_valid_token(gateway, ws_session):
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await ws_session.ws_connect(_ws_url(gateway, "/ws/runs/1"))
    assert refused.value.status == 401


async def test_refuses_the_handshake_with_an_expired_token(
    gateway, tokens: TokenFactory, ws_session
):
    headers = tokens.headers(ttl_seconds=-120)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await ws_session.ws_connect(_ws_url(gateway, "/ws/runs/1"), headers=headers)
    assert refused.value.status == 401
