"""OpenTelemetry tracing, configured by the standard ``OTEL_*`` variables and nothing else.

Off unless an OTLP endpoint is set (``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_ENDPOINT``); ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``
turn it off as well. Off, nothing is installed: no SDK provider, no instrumentation, and every
span of ours is skipped after one check of :func:`enabled` (the W3C ``traceparent`` still
travels in headers and events, and log lines still carry the trace id it names).

On (:func:`setup_tracing`, once per process, from each service's app factory, the gateway's and
the agents worker's ``main``):

- spans go to the OTLP/HTTP exporter through a batch processor (``OTEL_EXPORTER_OTLP_*`` and
  ``OTEL_BSP_*`` are read by the SDK itself), tagged with ``service.name`` = the process
  (``swe-issues``, ``swe-agents-worker``; ``OTEL_SERVICE_NAME`` and
  ``OTEL_RESOURCE_ATTRIBUTES`` win, as the specification says);
- sampling is the standard ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG``
  (``parentbased_always_on`` by default; ``parentbased_traceidratio`` with a ratio to sample a
  share of new traces while always following the caller's decision); on top, a database,
  Redis or HTTP call made outside any request, event or run (the relay's polling, the reaper,
  health probes) starts no trace of its own;
- FastAPI's own telemetry makes each service's HTTP server span (:func:`fastapi_telemetry`);
  SQLAlchemy (:func:`instrument_engine`), redis-py and aiohttp's client are instrumented;
  the gateway, the outbox relay, the event consumers and the agents worker make their spans
  by hand with the helpers below (CloudEvents carry the context in ``traceparent``);
- credentials in a URL's query (``access_token=``, ``token=``, ``api_key=``) are cut out of
  span attributes, as they are out of log lines.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from fastapi.telemetry import TelemetryConfig
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

from swe_common.context import correlation_id_var, traceparent_var
from swe_common.logging import redact_query_secrets

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from swe_common.events.envelope import CloudEvent
    from swe_common.settings import ServiceSettings

log = structlog.stdlib.get_logger(__name__)

INSTRUMENTATION = "swe_common"
_PROPAGATOR = TraceContextTextMapPropagator()
# Span attributes that may hold a URL with a query (HTTP server and client spans).
_URL_ATTRIBUTES = ("url.full", "url.query", "http.url", "http.target")


class TracingConfigError(ValueError):
    """An ``OTEL_*`` variable has a value tracing cannot use; the message names it."""


@dataclass(slots=True)
class _State:
    provider: TracerProvider
    tracer: trace.Tracer


_state: _State | None = None
_configured = False  # setup_tracing ran in this process (whatever it decided)


def enabled() -> bool:
    """Whether spans are made in this process. Cheap: check it before any span work."""
    return _state is not None


def tracer() -> trace.Tracer | None:
    return _state.tracer if _state is not None else None


# -- configuration ---------------------------------------------------------------------------


def endpoint_from(env: Mapping[str, str]) -> str | None:
    """The OTLP traces endpoint the environment names, or None when tracing is off."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower() or "otlp"
    if exporter == "none":
        return None
    endpoint = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    )
    if not endpoint:
        return None
    if exporter != "otlp":
        raise TracingConfigError(
            f"OTEL_TRACES_EXPORTER={exporter!r}: only 'otlp' (or 'none') is supported"
        )
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = env.get(name, "").strip()
        if protocol and protocol != "http/protobuf":
            raise TracingConfigError(
                f"{name}={protocol!r}: the platform exports OTLP over http/protobuf "
                "(the collector's port 4318)"
            )
        if protocol:
            break
    return endpoint


def sampler_from(env: Mapping[str, str]) -> Sampler:
    """The standard ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG``, strictly read."""
    name = env.get("OTEL_TRACES_SAMPLER", "").strip().lower() or "parentbased_always_on"
    raw_arg = env.get("OTEL_TRACES_SAMPLER_ARG", "").strip()
    ratio = 1.0
    if name.endswith("traceidratio"):
        try:
            ratio = float(raw_arg) if raw_arg else 1.0
        except ValueError:
            ratio = -1.0
        if not 0.0 <= ratio <= 1.0:
            raise TracingConfigError(
                f"OTEL_TRACES_SAMPLER_ARG={raw_arg!r}: a ratio between 0 and 1 is expected"
            )
    samplers: dict[str, Sampler] = {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": TraceIdRatioBased(ratio),
        "parentbased_always_on": ParentBased(ALWAYS_ON),
        "parentbased_always_off": ParentBased(ALWAYS_OFF),
        "parentbased_traceidratio": ParentBased(TraceIdRatioBased(ratio)),
    }
    if name not in samplers:
        raise TracingConfigError(
            f"OTEL_TRACES_SAMPLER={name!r}: expected one of {', '.join(sorted(samplers))}"
        )
    return samplers[name]


class NoOrphanClients(Sampler):
    """A client span (database, Redis, HTTP) without a parent starts no trace: it is the
    background work of a process (polling, leases, health probes), not something a user did.
    Everything else is left to the configured sampler."""

    def __init__(self, inner: Sampler) -> None:
        self.inner = inner

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            parent = trace.get_current_span(parent_context).get_span_context()
            if not parent.is_valid:
                return SamplingResult(Decision.DROP)
        return self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"NoOrphanClients{{{self.inner.get_description()}}}"


class _RedactUrls(SpanProcessor):
    """Credentials in a URL's query never reach the exporter (the same rule as log lines)."""

    def on_start(self, span: SdkSpan, parent_context: Context | None = None) -> None:
        attributes = span.attributes or {}
        for key in _URL_ATTRIBUTES:
            value = attributes.get(key)
            if isinstance(value, str) and "=" in value:
                redacted = redact_query_secrets(value)
                if redacted != value:
                    span.set_attribute(key, redacted)

    def on_end(self, span: ReadableSpan) -> None:
        return None


def _resource(process: str, settings: ServiceSettings | None) -> Resource:
    attributes: dict[str, Any] = {"service.name": f"swe-{process}", "service.namespace": "swe"}
    if settings is not None:
        attributes["deployment.environment.name"] = str(settings.environment)
    # Resource.create merges OTEL_RESOURCE_ATTRIBUTES under ours; OTEL_SERVICE_NAME wins over
    # both, as the specification has it.
    resource = Resource.create(attributes)
    service_name = os.environ.get("OTEL_SERVICE_NAME", "").strip()
    if service_name:
        resource = resource.merge(Resource({"service.name": service_name}))
    return resource


def _activate(provider: TracerProvider) -> None:
    global _state
    _state = _State(provider, provider.get_tracer(INSTRUMENTATION))


def setup_tracing(settings: ServiceSettings, process: str | None = None) -> bool:
    """Configure tracing for this process from the environment; True when it is on.

    Called by every app factory and worker ``main`` (after ``configure_logging``); only the
    first call in a process decides. ``process`` names the process when it is not the
    service (``agents-worker``). An invalid ``OTEL_*`` value stops the start naming it.
    """
    global _configured
    if _configured:
        return enabled()
    _configured = True
    try:
        endpoint = endpoint_from(os.environ)
        sampler = sampler_from(os.environ)
    except TracingConfigError as exc:
        raise SystemExit(f"swe {process or settings.service_name}: {exc}") from None
    if endpoint is None:
        return False
    # Imported only when on: a process without an endpoint loads none of it.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    provider = TracerProvider(
        resource=_resource(process or settings.service_name, settings),
        sampler=NoOrphanClients(sampler),
    )
    provider.add_span_processor(_RedactUrls())
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _activate(provider)
    RedisInstrumentor().instrument(tracer_provider=provider)
    AioHttpClientInstrumentor().instrument(tracer_provider=provider)
    log.info("tracing_enabled", endpoint=endpoint, sampler=sampler.get_description())
    return True


@contextlib.contextmanager
def tracing_to(
    exporter: SpanExporter, *, process: str = "test", sampler: Sampler | None = None
) -> Iterator[TracerProvider]:
    """Tests: spans of this process go to ``exporter`` (each as it ends) while the block runs.
    The global provider and the library instrumentation are left alone."""
    global _state
    previous = _state
    provider = TracerProvider(
        resource=_resource(process, None), sampler=NoOrphanClients(sampler or ALWAYS_ON)
    )
    provider.add_span_processor(_RedactUrls())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _activate(provider)
    try:
        yield provider
    finally:
        _state = previous
        provider.shutdown()


def instrument_engine(engine: AsyncEngine) -> None:
    """Spans for the engine's statements (nothing when tracing is off)."""
    state = _state
    if state is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeterProvider

    tracer = state.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    # Pool usage is a metric of swe_common.metrics; the instrumentation's own goes nowhere.
    usage = NoOpMeterProvider().get_meter("swe").create_up_down_counter("unused")
    EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]
    _traced_engines.add(engine.sync_engine)


# The engines whose statements make spans: swe_common.db.read_rows lets SQLAlchemy run theirs.
_traced_engines: weakref.WeakSet[Any] = weakref.WeakSet()


def traces_statements(sync_engine: Any) -> bool:
    return sync_engine in _traced_engines


# FastAPI(telemetry=NO_TELEMETRY): an app whose requests FastAPI must not trace or measure.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def fastapi_telemetry(quiet_paths: frozenset[str]) -> TelemetryConfig:
    """``FastAPI(telemetry=...)``: FastAPI's own server spans when tracing is on (not for
    ``quiet_paths``: health probes and scrapes), nothing at all when it is off."""
    state = _state
    if state is None:
        return NO_TELEMETRY

    def quiet(scope: MutableMapping[str, Any]) -> bool:
        return scope.get("path") in quiet_paths

    return {
        "tracer_provider": state.provider,
        "tracing": True,
        # Metrics are Prometheus' (swe_common.metrics), logs structlog's.
        "metrics": False,
        "logs": False,
        "operation_spans": False,
        "exclude": quiet,
    }


# -- context ---------------------------------------------------------------------------------


def format_traceparent(span_context: trace.SpanContext) -> str:
    ids = f"{span_context.trace_id:032x}-{span_context.span_id:016x}"
    return f"00-{ids}-{span_context.trace_flags:02x}"


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span when tracing is on, else None."""
    if _state is None:
        return None
    span_context = trace.get_current_span().get_span_context()
    return format_traceparent(span_context) if span_context.is_valid else None


def context_from(traceparent: str | None) -> Context | None:
    """An OpenTelemetry context whose parent is ``traceparent`` (None when absent/invalid)."""
    if not traceparent:
        return None
    extracted = _PROPAGATOR.extract({"traceparent": traceparent})
    if not trace.get_current_span(extracted).get_span_context().is_valid:
        return None
    return extracted


def _messaging_attributes(event: CloudEvent, destination: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.system": "rabbitmq",
        "messaging.destination.name": destination,
        "messaging.rabbitmq.destination.routing_key": event.type,
        "messaging.message.id": event.id,
        "cloudevents.event_id": event.id,
        "cloudevents.event_type": event.type,
        "cloudevents.event_source": event.source,
    }
    if event.subject:
        attributes["cloudevents.event_subject"] = event.subject
    return attributes


def start_publish_span(event: CloudEvent, exchange: str) -> Span | None:
    """A producer span for publishing ``event``, a child of the context the event carries
    (the request or handler that wrote it). None when tracing is off."""
    state = _state
    if state is None:
        return None
    attributes = _messaging_attributes(event, exchange)
    attributes["messaging.operation.type"] = "send"
    attributes["messaging.operation.name"] = "publish"
    return state.tracer.start_span(
        f"publish {event.type}",
        context=context_from(event.traceparent),
        kind=SpanKind.PRODUCER,
        attributes=attributes,
    )


def end_span(span: Span, error: BaseException | None = None) -> None:
    if error is not None:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
    span.end()


@contextlib.contextmanager
def handling_event(
    event: CloudEvent, queue: str, *, name: str | None = None, **log_fields: Any
) -> Iterator[Span | None]:
    """The context an event is handled in: a consumer span, child of the context the event
    carries (when tracing is on); the event's correlation id and trace context for the events
    the handler writes and for log lines. Exceptions are recorded on the span and re-raised."""
    state = _state
    span: Span | None = None
    if state is not None:
        attributes = _messaging_attributes(event, queue)
        attributes["messaging.operation.type"] = "process"
        attributes["messaging.consumer.group.name"] = queue
        span = state.tracer.start_span(
            name or f"process {event.type}",
            context=context_from(event.traceparent),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        )
    correlation = correlation_id_var.set(event.correlationid)
    parent = traceparent_var.set(
        format_traceparent(span.get_span_context())
        if span is not None and span.get_span_context().is_valid
        else event.traceparent
    )
    try:
        with (
            structlog.contextvars.bound_contextvars(
                event_id=event.id,
                event_type=event.type,
                correlation_id=event.correlationid,
                queue=queue,
                **log_fields,
            ),
            current(span),
        ):
            yield span
    except BaseException as exc:
        if span is not None:
            end_span(span, exc)
            span = None
        raise
    finally:
        correlation_id_var.reset(correlation)
        traceparent_var.reset(parent)
        if span is not None:
            span.end()


@contextlib.contextmanager
def batch_span(events: Sequence[CloudEvent], queue: str) -> Iterator[None]:
    """Events a batch handler takes together: one consumer span linked to each event's
    context (a span has one parent, a batch many producers)."""
    state = _state
    if state is None:
        yield
        return
    links = []
    for event in events:
        parent = context_from(event.traceparent)
        if parent is not None:
            links.append(Link(trace.get_current_span(parent).get_span_context()))
    attributes: dict[str, Any] = {
        "messaging.system": "rabbitmq",
        "messaging.destination.name": queue,
        "messaging.operation.type": "process",
        "messaging.batch.message_count": len(events),
    }
    with state.tracer.start_as_current_span(
        f"process batch {queue}", kind=SpanKind.CONSUMER, attributes=attributes, links=links
    ):
        yield


def start_span(name: str, **attributes: Any) -> Span | None:
    """An internal span, child of the current one, not made current; the caller ends it.
    None when tracing is off."""
    state = _state
    if state is None:
        return None
    return state.tracer.start_span(
        name, attributes={k: v for k, v in attributes.items() if v is not None}
    )


def current(span: Span | None) -> contextlib.AbstractContextManager[Any]:
    """Make ``span`` current in the block (tasks created there inherit it); ends nothing."""
    if span is None:
        return contextlib.nullcontext()
    return trace.use_span(span, end_on_exit=False, record_exception=False)


def set_outcome(span: Span, status: str, reason: str | None, error: str | None) -> None:
    """A run's (or job's) outcome on its span: failed runs are errors."""
    span.set_attribute("swe.run.status", status)
    if reason:
        span.set_attribute("swe.run.exit_reason", reason)
    if status == "failed":
        span.set_status(Status(StatusCode.ERROR, error or reason or "failed"))


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[Span | None]:
    """An internal span around a block (a run's step), current while it runs; None when off."""
    state = _state
    if state is None:
        yield None
        return
    with state.tracer.start_as_current_span(
        name, attributes={k: v for k, v in attributes.items() if v is not None}
    ) as current:
        yield current
