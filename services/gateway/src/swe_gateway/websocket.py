"""WebSocket proxy for ``/ws/*``: authenticated at the handshake, then frames both ways.

Browsers cannot set headers on a WebSocket, and a URL ends up in access logs, so a browser
sends its token as a subprotocol: it offers ``["swe.v1", "bearer.<token>"]`` and the gateway
answers ``swe.v1`` (the older pair ``"bearer", "<token>"`` works too). Other clients may send
``Authorization: Bearer`` or ``X-API-Key``. A token in the query (``?access_token=``) is
refused. The upstream gets the token as a normal ``Authorization`` header, never in the URL.

An open socket ends (close code 4401) within ``websocket_revocation_check_seconds`` of its
token, session or user being revoked: logout, a revoked session, a locked or disabled user.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import structlog
from starlette.types import Receive, Scope, Send
from yarl import URL

from swe_common.errors import send_problem
from swe_common.security import (
    REVOKED_CLOSE_CODE,
    REVOKED_REASON,
    WS_BEARER,
    WS_PROTOCOL,
    InvalidToken,
    until_revoked,
    url_carries_token,
    websocket_subprotocol_token,
)
from swe_gateway.config import Route
from swe_gateway.edge_auth import CredentialsUnavailable
from swe_gateway.http_util import HOP_BY_HOP
from swe_gateway.proxy import Call, Proxy, _credentials

log = structlog.stdlib.get_logger(__name__)

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
CLOSING = frozenset(
    {
        aiohttp.WSMsgType.CLOSE,
        aiohttp.WSMsgType.CLOSING,
        aiohttp.WSMsgType.CLOSED,
        aiohttp.WSMsgType.ERROR,
    }
)
TOKEN_IN_URL = (
    "Access tokens in the URL are refused (URLs are logged); offer the subprotocols "
    f"['{WS_PROTOCOL}', '{WS_BEARER}.<token>'] or send an Authorization header."
)


def handshake_token(scope: Scope) -> tuple[str | None, list[str], bool]:
    """(token, subprotocols to offer upstream, whether a bearer subprotocol carried it)."""
    token, _ = _credentials(scope)
    offered_token, remaining = websocket_subprotocol_token(scope.get("subprotocols", []))
    return token or offered_token, remaining, offered_token is not None


def answered_protocol(upstream: str | None, offered: list[str], via_protocol: bool) -> str | None:
    """The subprotocol to answer: one the client offered, never the token."""
    if upstream:
        return upstream
    if WS_PROTOCOL in offered:
        return WS_PROTOCOL
    return WS_BEARER if via_protocol else None


async def deny(scope: Scope, send: Send, status: int, detail: str, slug: str) -> None:
    """Refuse the handshake with an HTTP problem when the server supports it, else close."""
    if "websocket.http.response" in scope.get("extensions", {}):
        await send_problem(
            send, status, detail=detail, slug=slug, instance=scope["path"], websocket=True
        )
        return
    await send({"type": "websocket.close", "code": 1008 if status < 500 else 1011})


async def proxy_websocket(
    proxy: Proxy, call: Call, route: Route, receive: Receive, send: Send
) -> int:
    scope = call.scope
    if (await receive())["type"] != "websocket.connect":
        return 499
    if url_carries_token(scope.get("query_string", b"")):
        await deny(scope, send, 401, TOKEN_IN_URL, "token-in-url")
        return 401
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
    if instance is None:
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
        pool.record(instance, False)
        await deny(scope, send, 503, f"The {pool.name} service is unreachable.", "unavailable")
        return 503
    chosen = answered_protocol(upstream.protocol, protocols, via_protocol)
    await send({"type": "websocket.accept", "subprotocol": chosen})
    every = proxy.settings.websocket_revocation_check_seconds
    await _pump(upstream, receive, send, until_revoked(principal, proxy.auth.check_revoked, every))
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
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
    url = str(base) + scope["raw_path"].decode("latin-1")
    return URL(url + ("?" + urlencode(query) if query else ""), encoded=True)


async def _pump(
    upstream: aiohttp.ClientWebSocketResponse,
    receive: Receive,
    send: Send,
    revoked: Coroutine[Any, Any, None],
) -> None:
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
        reason = ""
        while True:
            msg = await upstream.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                await send({"type": "websocket.send", "text": msg.data})
            elif msg.type is aiohttp.WSMsgType.BINARY:
                await send({"type": "websocket.send", "bytes": msg.data})
            elif msg.type in CLOSING:
                # The upstream's reason travels on (e.g. "credentials revoked").
                reason = msg.extra if isinstance(msg.extra, str) else ""
                break
        code = upstream.close_code or 1000
        with contextlib.suppress(Exception):  # the client may already be gone
            close = {"type": "websocket.close", "code": code if code != 1006 else 1011}
            await send({**close, "reason": reason})

    watch = asyncio.create_task(revoked)
    tasks = [
        asyncio.create_task(client_to_upstream()),
        asyncio.create_task(upstream_to_client()),
        watch,
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if watch in done:
            log.info("websocket_closed_revoked")
            with contextlib.suppress(Exception):  # the client may already be gone
                close = {"type": "websocket.close", "code": REVOKED_CLOSE_CODE}
                await send({**close, "reason": REVOKED_REASON})
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await upstream.close()
