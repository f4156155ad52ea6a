"""The gateway's span: one per proxied HTTP request, made by hand (the hot path has no framework
to instrument), and only when tracing is on (``swe_common.tracing``; off, the request pays one
flag check).

The span is the server span of the request (a child of the caller's ``traceparent``), current
while the gateway works on it, so the gateway's log lines carry its ids; the upstream receives
its context in place of the caller's ``traceparent``. It says what the gateway decided:
``swe.gateway.auth`` (public, bearer, api_key), ``swe.gateway.rate_limit`` (allowed, refused),
``swe.gateway.breaker`` (the upstream's circuit when it was consulted), ``swe.gateway.decision``
(``forwarded``, or the problem's slug: ``unauthorized``, ``rate-limited``, ``circuit-open``,
``unavailable``...), the upstream service (``swe.upstream``), the instance that answered
(``server.address``/``server.port``) and the attempts it took.
"""

from __future__ import annotations

from contextvars import Token

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from starlette.types import Scope

from swe_common import tracing
from swe_gateway.http_util import header


def start(
    scope: Scope, method: str, request_id: str, client_ip: str
) -> tuple[Span, Token[Context]]:
    """The request's span, made current; returns it and the token that :func:`end` detaches.
    Call only when ``tracing.enabled()``."""
    tracer = tracing.tracer()
    assert tracer is not None
    incoming = header(scope, b"traceparent")
    span = tracer.start_span(
        method,
        context=tracing.context_from(incoming.decode("latin-1") if incoming else None),
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
            "client.address": client_ip,
            "swe.request_id": request_id,
        },
    )
    return span, context.attach(trace.set_span_in_context(span))


def end(
    span: Span, token: Token[Context], method: str, status: int, route: str, upstream: str
) -> None:
    if span.is_recording():
        if route != "-":
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
        if upstream != "-":
            span.set_attribute("swe.upstream", upstream)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
    span.end()
    context.detach(token)


def traceparent(span: Span) -> bytes:
    """The header value the upstream gets: this span's context."""
    return tracing.format_traceparent(span.get_span_context()).encode("latin-1")
