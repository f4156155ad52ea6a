"""structlog configuration: JSON in production, readable console in development.

Every line carries the service name and, inside a request, an event handler or a run, its
request and correlation ids (bound through contextvars) and the ``trace_id`` and ``span_id`` of
the work it belongs to: the current span's when tracing is on (``swe_common.tracing``), else the
W3C ``traceparent`` the request or event carried. A redaction step removes secrets by key name, so a
password, token or Authorization header never reaches a log line.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import functools
import json
import logging
import re
import sys
import threading
import weakref
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from opentelemetry import trace

from swe_common.context import traceparent_var
from swe_common.settings import LogFormat, ServiceSettings

REDACTED = "[redacted]"
_SECRET_MARKERS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "api_key",
    "apikey",
    "x-api-key",
    "cookie",
    "credential",
    "private_key",
    "totp",
    "otp_code",
)


# A credential in a URL's query, as servers log it (uvicorn's WebSocket handshake lines carry
# the path with its query): the value is cut out whatever logger wrote the line.
_QUERY_SECRET = re.compile(r"(?i)([?&;](?:access_token|token|api_key|apikey)=)[^&\s\"'#]*")


def redact_query_secrets(text: str) -> str:
    return _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text) if "=" in text else text


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    # Remembered: every log line asks for each of its keys, and the keys are few (13 substring
    # searches per key were ~15 µs of a gateway access line's ~75).
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


def redact(value: Any, depth: int = 0) -> Any:
    """Return ``value`` with every secret-named entry replaced, however deeply nested."""
    if depth > 6:
        return value
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and is_secret_key(k) else redact(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, depth + 1) for v in value]
    return value


def _redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # Values replaced in place while iterating: the dict's size never changes.
    for key, value in event_dict.items():
        if key != "event" and is_secret_key(key):
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            event_dict[key] = redact_query_secrets(value)
        elif isinstance(value, Mapping | list | tuple):
            event_dict[key] = redact(value)
    return event_dict


def add_trace_ids(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """``trace_id`` and ``span_id`` of the current span, or of the propagated traceparent."""
    if "trace_id" in event_dict:
        return event_dict
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event_dict["trace_id"] = format(span_context.trace_id, "032x")
        event_dict["span_id"] = format(span_context.span_id, "016x")
        return event_dict
    traceparent = traceparent_var.get()
    if traceparent and len(traceparent) == 55:  # 00-<32 hex>-<16 hex>-<2 hex>, checked on entry
        event_dict["trace_id"] = traceparent[3:35]
        event_dict["span_id"] = traceparent[36:52]
    return event_dict


# The loggers of the per-request access lines: the only ones written in batches.
ACCESS_LOGGERS = frozenset({"swe.access", "swe.gateway.access"})


class BatchingStreamHandler(logging.StreamHandler[TextIO]):
    """A ``StreamHandler`` that writes the access lines (INFO from :data:`ACCESS_LOGGERS`) in
    batches, at most ``interval`` seconds apart (a daemon thread flushes what waits; the
    process's exit too). Every other line is written at once, after the lines that came before
    it, so the order holds: a service's lifecycle lines (uvicorn re-raises SIGTERM after
    "Application shutdown complete", an exit that runs no atexit hook) and whatever matters in
    a crash are out. Each write to a pipe wakes its reader: on a busy service, a write per
    access line was a measurable share of a request's CPU."""

    def __init__(self, stream: TextIO, interval: float) -> None:
        super().__init__(stream)
        self.interval = interval
        self._pending: list[str] = []
        self._wake = threading.Event()
        self._closed = False
        _BATCHING.add(self)
        threading.Thread(
            target=_flush_periodically, args=(weakref.ref(self), interval), daemon=True
        ).start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        with self.lock:  # type: ignore[union-attr]  # StreamHandler always has its lock
            self._pending.append(line)
        if record.name not in ACCESS_LOGGERS or record.levelno >= logging.WARNING:
            self.flush()

    def add_line(self, line: str) -> None:
        """An access line rendered by :class:`AccessLogger`: batched like an emitted one."""
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(line + self.terminator)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._pending:
                text = "".join(self._pending)
                self._pending.clear()
                # A closed stream at exit: nothing left to tell anyone.
                with contextlib.suppress(Exception):
                    self.stream.write(text)
                    self.stream.flush()

    def close(self) -> None:
        self.flush()
        self._closed = True
        self._wake.set()
        _BATCHING.discard(self)
        super().close()


_BATCHING: weakref.WeakSet[BatchingStreamHandler] = weakref.WeakSet()


def _flush_periodically(handler_ref: weakref.ref[BatchingStreamHandler], interval: float) -> None:
    while True:
        handler = handler_ref()
        if handler is None or handler._closed:
            return
        handler.flush()
        wake = handler._wake
        del handler  # no strong reference while asleep: a replaced handler can be collected
        wake.wait(interval)


@atexit.register
def _flush_all() -> None:
    for handler in list(_BATCHING):
        handler.flush()


def flush_logs() -> None:
    """Write what the root logger's handlers hold (tests reading stderr; before an exit)."""
    for handler in logging.getLogger().handlers:
        handler.flush()


class _DirectJson:
    """What :class:`AccessLogger` needs to write a line itself: set by :func:`configure_logging`
    for JSON lines to a :class:`BatchingStreamHandler`, the production setting."""

    __slots__ = ("handler", "service")

    def __init__(self, handler: BatchingStreamHandler, service: str) -> None:
        self.handler = handler
        self.service = service


_direct: _DirectJson | None = None
# Replaced by every configure_logging: a structlog logger bound under an earlier configuration
# keeps that one's processors (its service name among them) and must be bound again.
_configuration = object()
_UTC = datetime.UTC
_now = datetime.datetime.now
_merge_contextvars = structlog.contextvars.merge_contextvars
_INFO = logging.INFO


class AccessLogger:
    """The per-request access line's logger: ``info(event, **fields)`` writes the line a
    structlog logger of this name writes, byte for byte (same keys in the same order, the same
    context, trace ids and redaction, the same JSON), but renders it here and hands it to the
    batching handler: structlog's wrapper, the standard library's ``LogRecord`` (made twice: the
    formatter copies it), its handler lookup and the processor chain's generic steps were most
    of a gateway request's CPU in production. Any other configuration (console lines, another
    handler, a level, a filter or a handler added to the logger's chain) takes structlog's path.
    """

    __slots__ = ("_fallback", "_fallback_for", "_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger = logging.getLogger(name)
        self._fallback: structlog.stdlib.BoundLogger | None = None
        self._fallback_for: object = None

    def _direct_to(self) -> _DirectJson | None:
        direct = _direct
        if direct is None:
            return None
        logger: logging.Logger | None = self._logger
        if not self._logger.isEnabledFor(_INFO) or self._logger.filters:
            return None
        # The line must reach exactly the handler configure_logging installed, as a record would.
        while logger is not None and logger.parent is not None:
            if logger.handlers or not logger.propagate or logger.disabled:
                return None
            logger = logger.parent
        handler = direct.handler
        root_handlers = logging.root.handlers
        if len(root_handlers) != 1 or root_handlers[0] is not handler:
            return None
        if handler.filters or handler.level > _INFO or handler._closed:
            return None
        return direct

    def info(self, event: str, **fields: Any) -> None:
        direct = self._direct_to()
        if direct is None:
            self._structlog().info(event, **fields)
            return
        given = len(fields)
        # The processors configure_logging installs, in its order, on the same dict.
        fields["event"] = event
        _merge_contextvars(None, "info", fields)
        fields.setdefault("service", direct.service)
        add_trace_ids(None, "info", fields)
        fields["level"] = "info"
        fields["logger"] = self._name
        fields["timestamp"] = _now(tz=_UTC).isoformat().replace("+00:00", "Z")
        _redact_processor(None, "info", fields)
        try:
            line = _encode(fields)
        except Exception:
            # A line JSON cannot hold (a circular value): structlog's path reports it as usual.
            self._structlog().info(event, **dict(list(fields.items())[:given]))
            return
        direct.handler.add_line(line)

    def _structlog(self) -> structlog.stdlib.BoundLogger:
        # Bound once per configuration: a bound logger holds the processors it was bound with.
        if self._fallback is None or self._fallback_for is not _configuration:
            self._fallback = structlog.stdlib.get_logger(self._name).bind()
            self._fallback_for = _configuration
        return self._fallback


def _json_default(value: Any) -> Any:
    # structlog's JSONRenderer fallback: the value's __structlog__(), else its repr.
    try:
        return value.__structlog__()
    except AttributeError:
        return repr(value)


# json.dumps(value, default=...), what structlog's JSONRenderer calls, made once: dumps with any
# argument builds a new encoder per call.
_encode = json.JSONEncoder(default=_json_default).encode


def configure_logging(settings: ServiceSettings) -> None:
    """Route structlog and the standard library (uvicorn, sqlalchemy) through one renderer."""
    service = settings.service_name

    def add_service(
        _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_service,
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_processor,
    ]
    renderer: Any
    if settings.log_format is LogFormat.json:
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        # Plain tracebacks: the rich formatter prints every frame's locals, which is slow
        # enough to stall a busy service and can print secrets held in variables.
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler: logging.Handler = (
        BatchingStreamHandler(sys.stderr, settings.log_flush_seconds)
        if settings.log_flush_seconds > 0
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(formatter)
    global _direct, _configuration
    _configuration = object()
    _direct = (
        _DirectJson(handler, service)
        if isinstance(handler, BatchingStreamHandler) and settings.log_format is LogFormat.json
        else None
    )
    root = logging.getLogger()
    for previous in root.handlers:
        if isinstance(previous, BatchingStreamHandler):
            previous.close()  # its lines out, its thread ended
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # uvicorn's own config (``uvicorn --factory`` without --log-config) gives its loggers
    # their own handlers: route them through ours, so redaction applies to their lines too
    # (the WebSocket handshake line carries the URL's query).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our middleware writes the access line; uvicorn's own would duplicate it without ids.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("aiormq", "aio_pika", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
