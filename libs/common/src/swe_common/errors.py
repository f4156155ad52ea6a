"""RFC 9457 problem details: one set of error classes and handlers for every service.

Domain code raises an ``AppError`` subclass (it carries its own status); the handlers turn it,
Starlette's HTTP errors and request-validation errors into ``application/problem+json`` with
the request id. Unexpected exceptions are answered by ``ServiceMiddleware`` (a generic
500 whose body reveals nothing; the trace goes to the log). Code below the framework (ASGI
middleware, the gateway, the web console's server) answers with ``send_problem``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import psycopg
import structlog
from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

from swe_common.context import request_id_var

log = structlog.stdlib.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_JSON_BYTES = PROBLEM_JSON.encode()
# The whole detail of an unexpected error's 500: the trace goes to the log, never the answer.
INTERNAL_ERROR_DETAIL = "An unexpected error occurred; it has been logged with this request id."
PROBLEM_TYPE_BASE = "https://swe-platform.dev/problems/"
# On a 5xx that concerns one request rather than the instance (a dependency such as GitHub
# failed for it, or its query ran past the statement timeout): the gateway then neither
# ejects the instance nor opens the service's breaker, so no caller can take a service away
# from the others by finding an input that fails.
FAILURE_SCOPE_HEADER = "X-Failure-Scope"
REQUEST_SCOPED = {FAILURE_SCOPE_HEADER: "request"}


def problem_body(
    status: int,
    *,
    title: str | None = None,
    detail: str | None = None,
    type_: str | None = None,
    instance: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    phrase = _phrase(status)
    body: dict[str, Any] = {
        "type": type_ or "about:blank",
        "title": title or phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(
    status: int, headers: dict[str, str] | None = None, **fields: Any
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, **fields), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


async def send_problem(
    send: Send,
    status: int,
    *,
    detail: str | None = None,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    headers: Iterable[tuple[bytes, bytes]] = (),
    websocket: bool = False,
    **extra: Any,
) -> None:
    """A problem+json answer written straight to an ASGI ``send``: the one writer for code
    that answers below FastAPI. ``slug`` names the problem type under ``PROBLEM_TYPE_BASE``;
    ``headers`` are added after the content type and length; ``websocket`` refuses a
    handshake with this answer (the ``websocket.http.response`` extension)."""
    type_ = PROBLEM_TYPE_BASE + slug if slug else None
    body = problem_body(status, title=title, detail=detail, type_=type_, instance=instance, **extra)
    payload = json.dumps(body).encode()
    kind = "websocket.http.response" if websocket else "http.response"
    start_headers = [
        (b"content-type", PROBLEM_JSON_BYTES),
        (b"content-length", b"%d" % len(payload)),
        *headers,
    ]
    await send({"type": f"{kind}.start", "status": status, "headers": start_headers})
    await send({"type": f"{kind}.body", "body": payload})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class AppError(Exception):
    """A failure the caller can act on; subclasses fix the status and problem type."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad Request"

    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return PROBLEM_TYPE_BASE + self.slug


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str = "Missing or invalid credentials", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not Found"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class Unprocessable(AppError):
    status, slug, title = 422, "validation-error", "Unprocessable Content"


class TooManyRequests(AppError):
    status, slug, title = 429, "rate-limited", "Too Many Requests"


class ServiceUnavailable(AppError):
    status, slug, title = 503, "unavailable", "Service Unavailable"


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = exc.headers
    if exc.status >= 500:
        # Domain code raises a 5xx only about something outside this instance (GitHub, a
        # peer service, the token keys): it says nothing about this instance's health.
        headers = {**(headers or {}), **REQUEST_SCOPED}
    return problem_response(
        exc.status,
        headers=headers,
        title=exc.title,
        detail=exc.detail,
        type_=exc.type_uri,
        instance=request.url.path,
        **exc.extra,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    extra: dict[str, Any] = {} if isinstance(exc.detail, str) else {"errors": exc.detail}
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No resource at {request.url.path}"
    if exc.status_code == 405:
        detail = f"Method {request.method} is not allowed on {request.url.path}"
    return problem_response(
        exc.status_code,
        headers=getattr(exc, "headers", None),
        detail=detail,
        instance=request.url.path,
        **extra,
    )


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def _field_errors(
    exc: RequestValidationError | WebSocketRequestValidationError,
) -> list[dict[str, Any]]:
    return [
        {
            "field": _field_path(err.get("loc", ())),
            "message": err.get("msg", ""),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]


def _summary(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    summary = _summary(errors)
    return problem_response(
        422,
        title="Unprocessable Content",
        type_=PROBLEM_TYPE_BASE + "validation-error",
        detail=f"The request is not valid: {summary}",
        instance=request.url.path,
        errors=errors,
    )


async def _websocket_validation_error(websocket: WebSocket, exc: Exception) -> None:
    # Accepted first so that the code and reason reach the client: closed before the accept,
    # the server would answer a bare 403. A reason is at most 123 bytes on the wire.
    assert isinstance(exc, WebSocketRequestValidationError)
    await websocket.accept()
    await websocket.close(code=1008, reason=close_reason(_summary(_field_errors(exc))))


def close_reason(text: str) -> str:
    """``text`` cut to what a WebSocket close frame carries (123 bytes of UTF-8)."""
    return text.encode()[:123].decode(errors="ignore")


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # A dropped or refused database connection is an outage to retry, not a server bug.
    log.warning("database_unavailable", error=type(exc).__name__, path=request.url.path)
    headers = {"Retry-After": "5"}
    if isinstance(getattr(exc, "orig", None), psycopg.errors.QueryCanceled):
        headers.update(REQUEST_SCOPED)  # this request's query ran too long, not an outage
    return problem_response(
        503,
        headers=headers,
        type_=PROBLEM_TYPE_BASE + "unavailable",
        detail="The database is unavailable; retry shortly.",
        instance=request.url.path,
    )


async def _database_busy(request: Request, exc: Exception) -> JSONResponse:
    # No pooled connection came free in time: the database is up, this instance is overloaded.
    # Said as such (an operator looking for a database outage would look in the wrong place),
    # and retryable sooner than an outage.
    log.warning("database_pool_exhausted", path=request.url.path)
    return problem_response(
        503,
        headers={"Retry-After": "1"},
        type_=PROBLEM_TYPE_BASE + "busy",
        detail="The service is busy (no database connection came free in time); retry shortly.",
        instance=request.url.path,
    )


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        409,
        type_=PROBLEM_TYPE_BASE + "conflict",
        detail="The change conflicts with existing data.",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(sa_exc.OperationalError, _database_unavailable)
    app.add_exception_handler(sa_exc.InterfaceError, _database_unavailable)
    app.add_exception_handler(sa_exc.TimeoutError, _database_busy)
    app.add_exception_handler(sa_exc.IntegrityError, _integrity_error)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(WebSocketRequestValidationError, _websocket_validation_error)
