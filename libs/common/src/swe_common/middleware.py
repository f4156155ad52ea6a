"""Plain ASGI middleware (no BaseHTTPMiddleware: it costs throughput and breaks streaming).

``ServiceMiddleware`` is every service's request pipeline in one layer: requests in progress,
``/a/b/`` routed as ``/a/b`` (services never redirect: a redirect would name the instance's own
address, ``http://127.0.0.1:8002/...``, to the client), the request context (``X-Request-ID``
read or made, bound with the correlation id and W3C trace context for logs and events, echoed
on the response, one access line per request, a bare 500 problem for any unexpected
exception), the body limit, NUL refusal and the request metrics.

``BodyLimitMiddleware`` refuses a request body over the service's ``MAX_BODY_BYTES`` (or a
path's own limit) with 413 before the app parses it: a declared length at once, a streamed
body as soon as it crosses the limit. ``RejectNulMiddleware`` refuses a NUL character in the
path, query, headers or cookies. (The gateway uses these two on their own.)
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
from swe_common.metrics import HTTP_IN_PROGRESS, HttpMetrics, content_length, http_handler

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


class ServiceMiddleware:
    """Every service's request pipeline in one ASGI layer, in the order the separate layers
    ran (each an extra coroutine, a send wrapper and a scan of the headers per request):

    1. requests in progress (``swe_http_requests_in_progress``; a refusal counts too);
    2. ``/a/b/`` routed as ``/a/b`` (the app is built with ``redirect_slashes=False``);
    3. the request context (``X-Request-ID`` read or made and echoed, correlation id, trace
       context, one access line, a bare 500 problem for an unexpected exception);
    4. the body limit (``BodyLimitMiddleware``'s rule: 413 for a declared length over it, a
       streamed body refused as it crosses it);
    5. with ``inner``: NUL refusal (``RejectNulMiddleware``'s) and the request metrics
       (``swe_common.metrics.HttpMetrics``). Without it (CORS sits between them and the app
       answers preflights: ``RouteMiddleware`` does these behind it).

    The headers are read in one pass for the ids, the trace context, the declared length and
    whether a NUL check is needed at all.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int,
        per_path: Mapping[str, int] | None = None,
        metrics: HttpMetrics | None = None,
        inner: bool = True,
    ) -> None:
        self.app = app
        self.limits = BodyLimitMiddleware(app, max_bytes, per_path)
        self.metrics = metrics
        self.inner = inner
        self._inc = HTTP_IN_PROGRESS.inc
        self._dec = HTTP_IN_PROGRESS.dec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            self._inc()
            try:
                await self._serve(scope, receive, send, True)
            finally:
                self._dec()
        elif kind == "websocket":
            await self._serve(scope, receive, send, False)
        else:
            await self.app(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send, http: bool) -> None:
        path: str = scope.get("path", "")
        if len(path) > 1 and path[-1] == "/":
            scope = _without_trailing_slash(scope, path)
            path = scope["path"]

        request_id = correlation_id = traceparent_in = declared = None
        suspicious = False  # a NUL byte in a header, or a cookie that may spell one
        for key, value in scope.get("headers", ()):
            if key == REQUEST_ID_HEADER:
                request_id = request_id or value.decode("latin-1")
            elif key == CORRELATION_ID_HEADER:
                correlation_id = correlation_id or value.decode("latin-1")
            elif key == TRACEPARENT_HEADER:
                traceparent_in = traceparent_in or value.decode("latin-1")
            elif key == b"content-length":
                declared = declared or value
            elif key == b"cookie" and b"\\" in value:
                suspicious = True
            if b"\x00" in value:
                suspicious = True
        request_id = clean_id(request_id) or new_request_id()
        correlation_id = clean_id(correlation_id) or request_id
        traceparent = tracing.current_traceparent() or child_traceparent(traceparent_in)
        tokens = (
            request_id_var.set(request_id),
            correlation_id_var.set(correlation_id),
            traceparent_var.set(traceparent),
        )
        structlog.contextvars.bind_contextvars(request_id=request_id, correlation_id=correlation_id)
        started = time.perf_counter()
        status = 0
        response_bytes = 0
        echoed = (REQUEST_ID_HEADER, request_id.encode("latin-1"))
        measured = self.metrics is not None and http and self.inner

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
                if measured:
                    response_bytes = content_length(headers)
                message["headers"] = [*headers, echoed]
            await send(message)

        counted = False
        try:
            if http:
                limit = self.limits.limit_for(path)
                if declared is not None and declared.strip().isdigit() and int(declared) > limit:
                    await _send_too_large(send_with_id, scope, limit)
                    return
                receive = _counting(receive, limit)
            query: bytes = scope.get("query_string", b"")
            if self.inner and (suspicious or "\x00" in path or b"%00" in query or b"\x00" in query):
                where = nul_location(scope)
                if where is not None:
                    await _refuse_nul(scope, receive, send_with_id, where)
                    return
            counted = measured
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled_error", method=scope.get("method"), path=path)
            if http and not status:
                await _send_internal_error(send_with_id, scope)
            status = status or 500
        finally:
            if counted:
                self._record(scope, status, declared, response_bytes, started)
            if http and path not in QUIET_PATHS:
                _log_access(scope, status, started)
            structlog.contextvars.unbind_contextvars("request_id", "correlation_id")
            for var, token in zip(
                (request_id_var, correlation_id_var, traceparent_var), tokens, strict=True
            ):
                var.reset(token)

    def _record(
        self, scope: Scope, status: int, declared: bytes | None, response_bytes: int, started: float
    ) -> None:
        handler = http_handler(scope)
        if handler is None or self.metrics is None:
            return
        request_bytes = int(declared) if declared is not None and declared.isdigit() else 0
        self.metrics.record(
            scope["method"],
            # No response started: the app raised, and the answer is the 500 sent above.
            status or 500,
            handler,
            request_bytes,
            response_bytes,
            max(time.perf_counter() - started, 0.0),
        )


class RouteMiddleware:
    """Step 5 of ``ServiceMiddleware`` on its own, for an app with CORS between the two: NUL
    refusal and the request metrics."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        where = nul_location(scope)
        if where is not None:
            await _refuse_nul(scope, receive, send, where)
            return
        if kind != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        response_bytes = 0

        async def measured(message: Message) -> None:
            nonlocal status, response_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                response_bytes = content_length(message.get("headers", []))
            await send(message)

        try:
            await self.app(scope, receive, measured)
        finally:
            handler = http_handler(scope)
            if handler is not None:
                self.metrics.record(
                    scope["method"],
                    status or 500,
                    handler,
                    content_length(_headers(scope)),
                    response_bytes,
                    max(time.perf_counter() - started, 0.0),
                )


def _without_trailing_slash(scope: Scope, path: str) -> Scope:
    scope = {**scope, "path": path.rstrip("/") or "/"}
    if scope.get("raw_path"):
        scope["raw_path"] = scope["raw_path"].rstrip(b"/") or b"/"
    return scope


def _counting(receive: Receive, limit: int) -> Receive:
    """``receive`` raising a 413 once the body read so far crosses ``limit``."""
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, _too_large_detail(limit))
        return message

    return counted


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
        await self.app(scope, _counting(receive, limit), send)


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
