"""The gateway's span: one server span per proxied request, in the caller's trace, naming the
upstream and what the gateway decided; the upstream's parent is that span."""

from __future__ import annotations

import httpx
from conftest import GatewayFactory

from swe_common.testing import TokenFactory
from swe_common.testing_otlp import ReceivedSpan, otlp_receiver

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


async def test_each_proxied_request_is_a_server_span_with_the_upstream_and_the_decisions(
    start_gateway: GatewayFactory, tokens: TokenFactory
):
    async with otlp_receiver() as receiver:
        gateway = await start_gateway(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "100"}
        )
        traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as http:
            forwarded = await http.get(
                "/api/v1/echo/things", headers={**tokens.headers(), "traceparent": traceparent}
            )
            refused = await http.get("/api/v1/echo/things", headers={"traceparent": traceparent})
            opened = await http.get("/api/v1/open/things")
            await http.get("/health/live")

        def from_the_caller(spans: list[ReceivedSpan]) -> bool:
            servers = [s for s in spans if s.kind == "SERVER"]
            return spans[0].trace_id == CALLER_TRACE and len(servers) == 2

        caller_trace = await receiver.wait_for_trace(from_the_caller, timeout=30)
        public = await receiver.wait_for_trace(
            lambda spans: any(s.attributes.get("url.path") == "/api/v1/open/things" for s in spans)
        )
    assert forwarded.status_code == 200 and refused.status_code == 401
    assert opened.status_code == 200
    servers = [s for s in caller_trace if s.kind == "SERVER"]
    by_status = {s.attributes["http.response.status_code"]: s for s in servers}
    ok, denied = by_status[200], by_status[401]
    for span in (ok, denied):
        assert span.service == "swe-gateway" and span.kind == "SERVER"
        assert span.parent_span_id == CALLER_SPAN  # the caller's trace continues
        assert span.name == "GET /api/v1/echo" and span.attributes["http.route"] == "/api/v1/echo"
        assert span.attributes["swe.upstream"] == "echo"
    assert ok.attributes["swe.gateway.auth"] == "bearer"
    assert ok.attributes["swe.gateway.rate_limit"] == "allowed"
    assert ok.attributes["swe.gateway.breaker"] == "closed"
    assert ok.attributes["swe.gateway.decision"] == "forwarded"
    assert ok.attributes["swe.gateway.attempts"] == 1
    assert ok.attributes["server.address"] == "127.0.0.1"
    assert denied.attributes["swe.gateway.decision"] == "unauthorized"
    assert "swe.gateway.rate_limit" not in denied.attributes  # refused before the limiter
    # What the gateway itself called for the request (the JWKS) is a child of its span.
    for client in (s for s in caller_trace if s.kind == "CLIENT"):
        assert client.parent_span_id in (ok.span_id, denied.span_id), client
    # The upstream got the gateway span's context, not the caller's.
    assert forwarded.json()["headers"]["traceparent"] == f"00-{CALLER_TRACE}-{ok.span_id}-01"
    # A request without a traceparent starts a trace; a public path needs no credentials.
    [open_span] = [s for s in public if s.kind == "SERVER"]
    assert open_span.parent_span_id is None
    assert open_span.attributes["swe.gateway.auth"] == "public"
    # Health probes are not traced.
    assert not [s for s in receiver.spans if s.attributes.get("url.path") == "/health/live"]


async def test_with_tracing_off_the_callers_traceparent_passes_through_unchanged(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    response = await client.get(
        "/api/v1/echo/things", headers={**tokens.headers(), "traceparent": traceparent}
    )
    assert response.json()["headers"]["traceparent"] == traceparent
