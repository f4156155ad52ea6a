"""Tracing's setup: off by default, on with an OTLP endpoint (spans reach a real receiver over
OTLP/HTTP), sampling by the standard variables, and trace ids on every log line.

A service process decides once whether it traces, so the on/off cases run a service in a
process of their own, configured only by its environment, as a deployment would.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from typing import Any

import pytest
import structlog
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    TraceFlags,
    set_span_in_context,
)

from swe_common import tracing
from swe_common.context import traceparent_var
from swe_common.logging import configure_logging, flush_logs
from swe_common.settings import ServiceSettings
from swe_common.testing_otlp import otlp_receiver

# A service with one route that queries the database and logs, run in its own process; prints
# what the process decided.
SERVICE = """
import asyncio, json, sys
from fastapi import APIRouter
from opentelemetry import trace
from sqlalchemy import text
from swe_common import tracing
from swe_common.app import ServiceSpec, create_service_app
from swe_common.deps import SessionDep
from swe_common.logging import get_logger
from swe_common.security import api_key_scope
from swe_common.settings import ServiceSettings
from swe_common.testing import running_app

router = APIRouter(prefix="/api/v1/traced", dependencies=[api_key_scope("example")])

@router.get("/db")
async def db(session: SessionDep) -> dict[str, int]:
    value = (await session.execute(text("SELECT 1"))).scalar_one()
    get_logger("traced").info("traced_route", value=value)
    return {"value": value}

async def main() -> None:
    settings = ServiceSettings(
        service_name="tracetest", database_url=sys.argv[1], log_format="json"
    )
    spec = ServiceSpec(settings=settings, title="t", routers=[router], verify_tokens=False)
    app = create_service_app(spec)
    async with running_app(app) as client:
        response = await client.get("/api/v1/traced/db", headers={"traceparent": sys.argv[2]})
        health = await client.get("/health/live")
    provider = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        provider.force_flush()
    print(json.dumps({
        "status": response.status_code,
        "health": health.status_code,
        "enabled": tracing.enabled(),
        "provider": type(provider).__name__,
        "exporter_loaded": "opentelemetry.exporter.otlp.proto.http.trace_exporter" in sys.modules,
        "redis_instrumented": "opentelemetry.instrumentation.redis" in sys.modules,
    }))

asyncio.run(main())
"""

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"
CALLER = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


async def run_service(
    database_url: str, **otel: str
) -> tuple[dict[str, object], list[dict[str, Any]]]:
    """Run SERVICE with only ``otel`` as OTEL_* settings; (its report, its JSON log lines)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | otel
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SERVICE,
        database_url,
        CALLER,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()[-3000:]
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    return json.loads(out.decode().strip().splitlines()[-1]), lines


async def test_tracing_is_off_without_an_endpoint_and_installs_nothing(database_url):
    report, lines = await run_service(database_url)
    assert report["status"] == 200
    assert report["enabled"] is False
    assert report["provider"] == "ProxyTracerProvider"  # no SDK provider set
    assert report["exporter_loaded"] is False and report["redis_instrumented"] is False
    # Log lines still carry the trace the caller sent (its id; a span id of this request).
    [line] = [entry for entry in lines if entry.get("event") == "traced_route"]
    assert line["trace_id"] == CALLER_TRACE and line["span_id"] != CALLER_SPAN


async def test_with_an_endpoint_the_service_exports_its_spans_over_otlp(database_url):
    async with otlp_receiver() as receiver:
        report, lines = await run_service(
            database_url, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint
        )
        assert report["status"] == 200 and report["health"] == 200
        assert report["enabled"] is True and report["provider"] == "TracerProvider"
        server = await receiver.wait_for_trace(
            lambda spans: any(s.kind == "SERVER" for s in spans), timeout=20
        )
    [request] = [s for s in server if s.kind == "SERVER"]
    assert request.name == "GET /api/v1/traced/db"
    assert request.service == "swe-tracetest"
    # A child of the caller's span, in the caller's trace.
    assert request.trace_id == CALLER_TRACE and request.parent_span_id == CALLER_SPAN
    assert request.attributes["http.response.status_code"] == 200
    queries = [s for s in server if s.kind == "CLIENT" and s.parent_span_id == request.span_id]
    statements = [
        str(s.attributes.get("db.statement", s.attributes.get("db.query.text"))) for s in queries
    ]
    assert "SELECT 1" in statements, queries
    # Health probes make no trace.
    assert not [s for s in receiver.spans if "/health" in s.name]
    # The route's log line names the request's span.
    [line] = [entry for entry in lines if entry.get("event") == "traced_route"]
    assert (line["trace_id"], line["span_id"]) == (request.trace_id, request.span_id)


@pytest.mark.parametrize(
    ("env", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
    ],
)
def test_an_otlp_endpoint_turns_tracing_on_and_the_standard_switches_turn_it_off(env, on):
    assert (tracing.endpoint_from(env) is not None) is on


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
    ],
)
def test_an_exporter_setting_tracing_cannot_honour_is_refused_naming_it(env, variable):
    with pytest.raises(tracing.TracingConfigError, match=variable):
        tracing.endpoint_from({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", **env})


def _sampled(sampler, parent_sampled: bool | None, kind=SpanKind.SERVER) -> bool:
    context = None
    if parent_sampled is not None:
        flags = TraceFlags(TraceFlags.SAMPLED if parent_sampled else TraceFlags.DEFAULT)
        parent = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=flags)
        context = set_span_in_context(NonRecordingSpan(parent))
    result = sampler.should_sample(context, 0xFFFF_FFFF_FFFF_FFFF_FFFF, "x", kind)
    return result.decision is Decision.RECORD_AND_SAMPLE


def test_sampling_is_parent_based_with_the_standard_ratio():
    default = tracing.sampler_from({})
    assert _sampled(default, None) and _sampled(default, True) and not _sampled(default, False)
    none_new = tracing.sampler_from(
        {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}
    )
    # No new trace is sampled, but a caller's sampled trace is followed.
    assert not _sampled(none_new, None) and _sampled(none_new, True)
    with pytest.raises(tracing.TracingConfigError, match="OTEL_TRACES_SAMPLER_ARG"):
        tracing.sampler_from(
            {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}
        )
    with pytest.raises(tracing.TracingConfigError, match="OTEL_TRACES_SAMPLER"):
        tracing.sampler_from({"OTEL_TRACES_SAMPLER": "sometimes"})


def test_a_client_call_outside_any_trace_starts_none():
    sampler = tracing.NoOrphanClients(tracing.sampler_from({}))
    assert not _sampled(sampler, None, SpanKind.CLIENT)  # the relay's polling query
    assert _sampled(sampler, True, SpanKind.CLIENT)  # a query inside a request
    assert _sampled(sampler, None, SpanKind.SERVER)  # a request starts its trace


def _json_lines(capsys) -> list[dict[str, Any]]:
    flush_logs()
    return [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]


def test_log_lines_carry_the_current_spans_ids(capsys):
    configure_logging(ServiceSettings(service_name="logtrace", log_format="json"))
    with tracing.tracing_to(InMemorySpanExporter()), tracing.span("step") as span:
        assert span is not None
        structlog.stdlib.get_logger("t").info("inside_span")
        logging.getLogger("stdlib").warning("from the standard library")
    ids = (
        format(span.get_span_context().trace_id, "032x"),
        format(span.get_span_context().span_id, "016x"),
    )
    lines = _json_lines(capsys)
    assert [(x["trace_id"], x["span_id"]) for x in lines] == [ids, ids]


def test_with_tracing_off_log_lines_carry_the_propagated_traceparent(capsys):
    configure_logging(ServiceSettings(service_name="logtrace", log_format="json"))
    token = traceparent_var.set(CALLER)
    try:
        structlog.stdlib.get_logger("t").info("in_request")
    finally:
        traceparent_var.reset(token)
    structlog.stdlib.get_logger("t").info("outside")
    inside, outside = _json_lines(capsys)
    assert (inside["trace_id"], inside["span_id"]) == (CALLER_TRACE, CALLER_SPAN)
    assert "trace_id" not in outside


def test_credentials_in_a_url_query_never_reach_the_exporter():
    exporter = InMemorySpanExporter()
    with (
        tracing.tracing_to(exporter),
        tracing.span(
            "GET /ws",
            **{"url.query": "since=2&access_token=eyJsecret", "url.full": "http://h/x?token=t0k"},
        ),
    ):
        pass
    [span] = exporter.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert "eyJsecret" not in str(attributes["url.query"])
    assert "since=2" in str(attributes["url.query"])
    assert "t0k" not in str(attributes["url.full"])
