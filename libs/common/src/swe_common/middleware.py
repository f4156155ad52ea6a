"""Plain ASGI middleware (no BaseHTTPMiddleware: it costs throughput and breaks streaming).

``BodyLimitMiddleware`` refuses a request body over the service's ``MAX_BODY_BYTES`` (or a
path's own limit) with 413 before the app parses it: a declared length at once, a streamed
body as soon as it crosses the limit.

``TrailingSlashMiddleware`` routes ``/a/b/`` as ``/a/b``: services never redirect (a redirect
would name the instance's own address, ``http://127.0.0.1:8002/...``, to the client).

``RequestContextMiddleware`` reads or makes ``X-Request-ID``, binds it (and the correlation id
and W3C trace context) for logs and events, echoes it on the response, writes one access line
per request and answers any unexpected exception with a bare 500 problem.
``RejectNulMiddleware`` refuses a NUL character in the path, query, headers or cookies.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl

import structlog
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from swe_common import tracing
from swe_common.context import (
    child_traceparent,
    clean_id,
    correlation_id_var,
    new_request_id,
    request_id_var,
    traceparent_var,
)
from swe_common.errors import INTERNAL_ERROR_DETAIL, close_reason, send_problem
from swe_common.logging import AccessLogger

log = structlog.stdlib.get_logger("swe.access")
# The per-request line, rendered directly when logging is the production setting (JSON,
# batched): the same line structlog writes, at a third of its CPU.
access_log = AccessLogger("swe.access")

REQUEST_ID_HEADER = b"x-request-id"
CORRELATION_ID_HEADER = b"x-correlation-id"
TRACEPARENT_HEADER = b"traceparent"
QUIET_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})


def _headers(scope: Scope) -> Iterable[tuple[bytes, bytes]]:
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", ())
    return headers


def header_value(scope: Scope, name: bytes) -> str | None:
    for key, value in _headers(scope):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return

        request_id = clean_id(header_value(scope, REQUEST_ID_HEADER)) or new_request_id()
        correlation_id = clean_id(header_value(scope, CORRELATION_ID_HEADER)) or request_id
        # Tracing on: the server span FastAPI opened for this request; off: the caller's trace
        # continued under a new span id (or a new trace), for the events and log lines.
        traceparent = tracing.current_traceparent() or child_traceparent(
            header_value(scope, TRACEPARENT_HEADER)
        )
        tokens = (
            request_id_var.set(request_id),
            correlation_id_var.set(correlation_id),
            traceparent_var.set(traceparent),
        )
        structlog.contextvars.bind_contextvars(request_id=request_id, correlation_id=correlation_id)
        started = time.perf_counter()
        status = 0
        response_started = False
        echoed = (REQUEST_ID_HEADER, request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", []), echoed]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled_error", method=scope.get("method"), path=scope.get("path"))
            if scope["type"] == "http" and not response_started:
                await _send_internal_error(send_with_id, scope)
            status = status or 500
        finally:
            if scope["type"] == "http" and scope.get("path") not in QUIET_PATHS:
                _log_access(scope, status, started)
            structlog.contextvars.unbind_contextvars("request_id", "correlation_id")
            for var, token in zip(
                (request_id_var, correlation_id_var, traceparent_var), tokens, strict=True
            ):
                var.reset(token)


def _log_access(scope: Scope, status: int, started: float) -> None:
    # Path only: a query string may carry a token or a reset code.
    access_log.info(
        "request",
        method=scope.get("method"),
        path=scope.get("path"),
        status=status,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )


async def _send_internal_error(send: Send, scope: Scope) -> None:
    await send_problem(
        send,
        500,
        detail=INTERNAL_ERROR_DETAIL,
        instance=scope.get("path"),
    )


class RejectNulMiddleware:
    """A NUL character in the path, a query parameter, a header value or a cookie is refused
    before any route runs: 422 problem+json naming where it was (a WebSocket handshake is
    closed with 1008, policy violation, saying the same). PostgreSQL cannot store NUL in text;
    this makes sure no parameter a route forgot to type can carry one to the database. Request
    bodies are the schemas' part (``swe_common.types.RequestModel``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            where = nul_location(scope)
            if where is not None:
                await _refuse_nul(scope, receive, send, where)
                return
        await self.app(scope, receive, send)


def nul_location(scope: Scope) -> str | None:
    """``path``, ``query.<name>``, ``header.<name>`` or ``cookie.<name>`` holding a NUL, or
    None. Cheap when there is none: one substring test per part."""
    if "\x00" in scope.get("path", ""):
        return "path"
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for field, text in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in field or "\x00" in text:
                return "query." + field.replace("\x00", "\\u0000")
        return "query"
    for name, value in _headers(scope):
        if b"\x00" in value:
            return "header." + name.decode("latin-1")
        # A quoted cookie value may spell NUL as the octal escape \000, which Starlette decodes.
        if name == b"cookie" and b"\\" in value:
            for key, cookie in cookie_parser(value.decode("latin-1")).items():
                if "\x00" in cookie:
                    return "cookie." + key
    return None


async def _refuse_nul(scope: Scope, receive: Receive, send: Send, where: str) -> None:
    message = "must not contain a NUL (\\u0000) character"
    if scope["type"] == "websocket":
        # Accepted first so that the code and reason reach the client (closed before the
        # accept, the server would answer a bare 403).
        if (await receive())["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            reason = close_reason(f"{where}: {message}")
            await send({"type": "websocket.close", "code": 1008, "reason": reason})
        return
    await send_problem(
        send,
        422,
        title="Unprocessable Content",
        slug="validation-error",
        detail=f"The request is not valid: {where}: {message}",
        instance=scope.get("path", "").replace("\x00", "\\u0000"),
        errors=[{"field": where, "message": message, "type": "nul_character"}],
    )


class TrailingSlashMiddleware:
    """``/a/b/`` is served as ``/a/b`` (the app is built with ``redirect_slashes=False``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("http", "websocket") and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
            if scope.get("raw_path"):
                scope["raw_path"] = scope["raw_path"].rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


def compile_path_patterns(patterns: Iterable[str]) -> re.Pattern[str]:
    """``/a/*`` matches everything below ``/a``; an inner ``*`` matches one path segment."""
    parts = []
    for pattern in patterns:
        tail = ""
        if pattern.endswith("/*"):
            pattern, tail = pattern[:-2], "(?:/.*)?"
        body = "[^/]+".join(re.escape(piece) for piece in pattern.split("*"))
        parts.append(body + tail)
    return re.compile("|".join(f"(?:{p})" for p in parts) or "(?!)")


class BodyLimitMiddleware:
    """413 problem+json for a body over the limit, before the app parses it.

    A ``Content-Length`` over the limit is answered at once, unread. A streamed (chunked) body
    is counted as the app receives it; crossing the limit raises an HTTP 413 from ``receive``,
    which the app's error handlers answer as problem+json (FastAPI re-raises HTTP errors met
    while reading a body). ``per_path`` maps path patterns (``*`` = one segment) to their own
    limit, e.g. a webhook that takes GitHub's 25 MiB payloads.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, per_path: Mapping[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = [(compile_path_patterns([p]), n) for p, n in (per_path or {}).items()]

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.per_path:
            if pattern.fullmatch(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = header_value(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _send_too_large(send, scope, limit)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, _too_large_detail(limit))
            return message

        await self.app(scope, counted, send)


def _too_large_detail(limit: int) -> str:
    return f"The request body exceeds {limit} bytes."


async def _send_too_large(send: Send, scope: Scope, limit: int) -> None:
    await send_problem(
        send,
        413,
        detail=_too_large_detail(limit),
        instance=scope.get("path"),
        # The body was never read: the connection is spent.
        headers=[(b"connection", b"close")],
    )
