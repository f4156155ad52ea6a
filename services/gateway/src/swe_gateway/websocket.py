"""WebSocket proxy for ``/ws/*``: authenticated at the handshake, then frames both ways.

Browsers cannot set headers on a WebSocket, so the token may also come as the
``access_token`` query parameter or as the subprotocol pair ``bearer, <token>`` (or
``bearer.<token>``). The upstream gets it as a normal ``Authorization`` header, never in the
URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import parse_qsl, urlencode

import aiohttp
import structlog
from starlette.types import Receive, Scope, Send
from yarl import URL

from swe_common.errors import PROBLEM_JSON, PROBLEM_TYPE_BASE, problem_body
from swe_common.security import InvalidToken
from swe_gateway.config import Route
from swe_gateway.edge_auth import CredentialsUnavailable
from swe_gateway.proxy import HOP_BY_HOP, Call, Proxy, _credentials

log = structlog.stdlib.get_logger(__name__)

BEARER_PROTOCOL = "bearer"
DROP_HANDSHAKE = frozenset(
    {
        b"host",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
        b"authorization",
        b"x-api-key",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-request-id",
        b"origin",
        b"cookie",
    }
)


def handshake_token(scope: Scope) -> tuple[str | None, list[str], bool]:
    """(token, subprotocols to offer upstream, whether the bearer subprotocol carried it)."""
    token, _ = _credentials(scope)
    offered = [p.strip() for p in scope.get("subprotocols", []) if p.strip()]
    remaining: list[str] = []
    via_protocol = False
    index = 0
    while index < len(offered):
        protocol = offered[index]
        if protocol.lower() == BEARER_PROTOCOL and index + 1 < len(offered):
            token, via_protocol = token or offered[index + 1], True
            index += 2
            continue
        if protocol.lower().startswith(BEARER_PROTOCOL + "."):
            token, via_protocol = token or protocol[len(BEARER_PROTOCOL) + 1 :], True
        else:
            remaining.append(protocol)
        index += 1
    if token is None:
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        token = query.get("access_token") or None
    return token, remaining, via_protocol


async def deny(scope: Scope, send: Send, status: int, detail: str, slug: str) -> None:
    """Refuse the handshake with an HTTP problem when the server supports it, else close."""
    if "websocket.http.response" in scope.get("extensions", {}):
        body = json.dumps(
            problem_body(
                status, detail=detail, type_=PROBLEM_TYPE_BASE + slug, instance=scope["path"]
            )
        ).encode()
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [(b"content-type", PROBLEM_JSON.encode())],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "websocket.close", "code": 1008 if status < 500 else 1011})


async def proxy_websocket(
    proxy: Proxy, call: Call, route: Route, receive: Receive, send: Send
) -> int:
    scope = call.scope
    if (await receive())["type"] != "websocket.connect":
        return 499
    token, protocols, via_protocol = handshake_token(scope)
    _, api_key = _credentials(scope)
    try:
        principal = await proxy.principal_for(call, token, api_key)
    except InvalidToken:
        await deny(scope, send, 401, "A valid access token is required.", "unauthorized")
        return 401
    except CredentialsUnavailable:
        await deny(scope, send, 503, "Credentials cannot be checked now.", "unavailable")
        return 503
    if proxy.settings.rate_limit_enabled:
        decision = await proxy.limiter.check(proxy.limits_for(call, principal))
        if not decision.allowed:
            await deny(scope, send, 429, "Too many requests.", "rate-limited")
            return 429
    pool = proxy.registry.pools[route.service]
    instance = pool.pick()
    if instance is None or proxy.session is None:
        await deny(scope, send, 503, f"No healthy {pool.name} instance.", "unavailable")
        return 503
    headers = _handshake_headers(call, call.authorization or f"Bearer {token}")
    try:
        upstream = await proxy.session.ws_connect(
            _upstream_url(instance.base, scope),
            headers=headers,
            protocols=protocols,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
            autoping=True,
        )
    except aiohttp.WSServerHandshakeError as exc:
        await deny(
            scope,
            send,
            exc.status if exc.status < 500 else 502,
            "The upstream refused the WebSocket.",
            "upstream-refused",
        )
        return exc.status
    except (aiohttp.ClientError, TimeoutError):
        instance.record(False, proxy.settings)
        await deny(scope, send, 503, f"The {pool.name} service is unreachable.", "unavailable")
        return 503
    chosen = upstream.protocol or (BEARER_PROTOCOL if via_protocol else None)
    await send({"type": "websocket.accept", "subprotocol": chosen})
    await _pump(upstream, receive, send)
    return 101


def _handshake_headers(call: Call, authorization: str) -> dict[str, str]:
    headers = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in call.scope["headers"]
        if name not in DROP_HANDSHAKE and name not in HOP_BY_HOP
    }
    headers["Authorization"] = authorization
    headers["X-Forwarded-For"] = call.forwarded_for
    headers["X-Forwarded-Proto"] = call.forwarded_proto
    headers["X-Request-ID"] = call.request_id
    return headers


def _upstream_url(base: URL, scope: Scope) -> URL:
    query = [
        (k, v)
        for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        if k != "access_token"
    ]
    url = str(base) + scope["raw_path"].decode("latin-1")
    return URL(url + ("?" + urlencode(query) if query else ""), encoded=True)


async def _pump(upstream: aiohttp.ClientWebSocketResponse, receive: Receive, send: Send) -> None:
    async def client_to_upstream() -> None:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                await upstream.close(code=message.get("code", 1000))
                return
            if message.get("text") is not None:
                await upstream.send_str(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send_bytes(message["bytes"])

    async def upstream_to_client() -> None:
        async for msg in upstream:
            if msg.type is aiohttp.WSMsgType.TEXT:
                await send({"type": "websocket.send", "text": msg.data})
            elif msg.type is aiohttp.WSMsgType.BINARY:
                await send({"type": "websocket.send", "bytes": msg.data})
        code = upstream.close_code or 1000
        with contextlib.suppress(Exception):  # the client may already be gone
            await send({"type": "websocket.close", "code": code if code != 1006 else 1011})

    tasks = [asyncio.create_task(client_to_upstream()), asyncio.create_task(upstream_to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await upstream.close()
