"""Plain ASGI middleware (no BaseHTTPMiddleware: it costs throughput and breaks streaming).

``RequestContextMiddleware`` reads or makes ``X-Request-ID``, binds it (and the correlation id
and W3C trace context) for logs and events, echoes it on the response, writes one access line
per request and answers any unexpected exception with a bare 500 problem.
"""

from __future__ import annotations

import json
import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from swe_common.context import (
    child_traceparent,
    clean_id,
    correlation_id_var,
    new_request_id,
    request_id_var,
    traceparent_var,
)
from swe_common.errors import PROBLEM_JSON, problem_body

log = structlog.stdlib.get_logger("swe.access")

REQUEST_ID_HEADER = b"x-request-id"
CORRELATION_ID_HEADER = b"x-correlation-id"
TRACEPARENT_HEADER = b"traceparent"
_QUIET_PATHS = frozenset({"/health/live", "/health/ready", "/metrics"})


def header_value(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
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
        traceparent = child_traceparent(header_value(scope, TRACEPARENT_HEADER))
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
            if scope["type"] == "http" and scope.get("path") not in _QUIET_PATHS:
                _log_access(scope, status, started)
            structlog.contextvars.unbind_contextvars("request_id", "correlation_id")
            for var, token in zip(
                (request_id_var, correlation_id_var, traceparent_var), tokens, strict=True
            ):
                var.reset(token)


def _log_access(scope: Scope, status: int, started: float) -> None:
    # Path only: a query string may carry a token or a reset code.
    log.info(
        "request",
        method=scope.get("method"),
        path=scope.get("path"),
        status=status,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )


async def _send_internal_error(send: Send, scope: Scope) -> None:
    body: dict[str, Any] = problem_body(
        500,
        detail="An unexpected error occurred; it has been logged with this request id.",
        instance=scope.get("path"),
    )
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
