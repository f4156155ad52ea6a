"""An OTLP/HTTP trace receiver for the tests: what a collector is to the services, reduced to
keeping the spans it is sent, so a test can read the traces a real stack exported.

    async with otlp_receiver() as receiver:       # listens on 127.0.0.1:<a port the OS picks>
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
        ...
        trace = await receiver.wait_for_trace(lambda spans: ..., timeout=30)

It speaks the wire format the SDK's exporter sends (protobuf ``ExportTraceServiceRequest`` on
``POST /v1/traces``, gzip or not) and answers as a collector does.
"""

from __future__ import annotations

import gzip
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as SpanProto
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from swe_common.testing import eventually, served


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: str  # SERVER, CLIENT, PRODUCER, CONSUMER, INTERNAL
    trace_id: str
    span_id: str
    parent_span_id: str | None
    attributes: dict[str, Any]
    error: bool
    links: tuple[str, ...] = ()  # span ids this span links to


@dataclass
class OtlpReceiver:
    """The spans received so far; :func:`otlp_receiver` serves it."""

    endpoint: str = ""  # the value of OTEL_EXPORTER_OTLP_ENDPOINT that sends here
    spans: list[ReceivedSpan] = field(default_factory=list)
    requests: int = 0

    async def _export(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding", "").lower() == "gzip":
            body = gzip.decompress(body)
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        self.requests += 1
        for resource_spans in message.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            service = str(resource.get("service.name", "?"))
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.spans.append(
                        ReceivedSpan(
                            service=service,
                            name=span.name,
                            kind=SpanProto.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_span_id=span.parent_span_id.hex() or None,
                            attributes=_attributes(span.attributes),
                            error=span.status.code == Status.STATUS_CODE_ERROR,
                            links=tuple(link.span_id.hex() for link in span.links),
                        )
                    )
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(),
            content_type="application/x-protobuf",
        )

    def traces(self) -> dict[str, list[ReceivedSpan]]:
        grouped: dict[str, list[ReceivedSpan]] = defaultdict(list)
        for span in self.spans:
            grouped[span.trace_id].append(span)
        return grouped

    async def wait_for_trace(
        self,
        complete: Callable[[list[ReceivedSpan]], bool],
        *,
        timeout: float = 30.0,
    ) -> list[ReceivedSpan]:
        """The first trace whose spans satisfy ``complete`` (polled until the deadline)."""

        async def found() -> list[ReceivedSpan] | None:
            for spans in self.traces().values():
                if complete(spans):
                    return spans
            return None

        return await eventually(found, timeout=timeout, interval=0.2)


@asynccontextmanager
async def otlp_receiver() -> AsyncIterator[OtlpReceiver]:
    """An OTLP/HTTP receiver served on 127.0.0.1 while the block runs."""
    receiver = OtlpReceiver()
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/traces", receiver._export)
    async with served(app) as url:
        receiver.endpoint = url
        yield receiver


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


def ancestry(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    """``span`` and its parents up to the root of its trace (the root last)."""
    by_id = {s.span_id: s for s in spans}
    chain = [span]
    while chain[-1].parent_span_id is not None and chain[-1].parent_span_id in by_id:
        chain.append(by_id[chain[-1].parent_span_id])
    return chain
