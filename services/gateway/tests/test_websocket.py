"""WebSocket pass-through for /ws/*, authenticated at the handshake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from gateway_support import GatewayProcess

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


async def test_accepts_the_token_as_a_query_parameter_without_forwarding_it(
    gateway, tokens, ws_session
):
    token = tokens.token()
    url = _ws_url(gateway, f"/ws/runs/1?access_token={token}&follow=1")
    async with ws_session.ws_connect(url) as ws:
        hello = await ws.receive_json(timeout=5)
    assert hello["authorization"] == f"Bearer {token}"
    assert hello["query"] == "follow=1"


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
