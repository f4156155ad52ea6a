"""Prometheus, once for every service: request metrics (the families
prometheus-fastapi-instrumentator defined, and requests in progress), database queries and the
connection pool, Redis commands, cache lookups, and the catalog's view of all of them
(``docs/metrics.md``, see ``swe_common.metrics_docs``).

Cheap on the hot path: label children are bound once (per engine, per Redis command, per cache,
per request label set) and a query, command or request costs a dict lookup, a clock read and an
increment. Gauges that need a query or a broker round trip (outbox backlog, queue depths) are
refreshed by the components that own them, in the background, never per request; the pool's
gauges are read at scrape time.
"""

from __future__ import annotations

import os
import re
import time
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

import redis.asyncio as aioredis
from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Summary,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator.routing import get_route_name
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection
from starlette.routing import Mount
from starlette.types import Scope

# -- database -----------------------------------------------------------------------------------

DB_OPERATIONS = ("select", "insert", "update", "delete", "other")
QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

DB_QUERY_SECONDS = Histogram(
    "swe_db_query_duration_seconds",
    "Time a database statement took on the connection (its count: the statements that "
    "succeeded; failures are in swe_db_query_errors_total), by operation: select, insert, "
    "update, delete, other (BEGIN, COMMIT, LISTEN, ...)",
    ["service", "operation"],
    buckets=QUERY_BUCKETS,
)
DB_QUERY_ERRORS = Counter(
    "swe_db_query_errors_total",
    "Database statements that raised (constraint violations, timeouts, lost connections)",
    ["service", "operation"],
)


def operation_of(statement: str) -> str:
    """The statement's verb as a bounded label (a slice, not a parse: hot path)."""
    words = statement[:16].split(None, 1)
    verb = words[0].lower() if words else ""
    return verb if verb in DB_OPERATIONS else "other"


_STARTED = "swe_query_started"


def _instrument_queries(service: str, engine: AsyncEngine) -> None:
    """Time every statement of ``engine`` (listeners on its sync engine, children bound once)."""
    observe = {op: DB_QUERY_SECONDS.labels(service, op).observe for op in DB_OPERATIONS}
    failed = {op: DB_QUERY_ERRORS.labels(service, op).inc for op in DB_OPERATIONS}
    clock = time.perf_counter

    def before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info[_STARTED] = clock()

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        started = conn.info.pop(_STARTED, None)
        if started is not None:
            observe[operation_of(statement)](clock() - started)

    def error(context: Any) -> None:
        connection = context.connection
        if connection is not None:
            connection.info.pop(_STARTED, None)
        failed[operation_of(context.statement or "")]()

    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", before)
    event.listen(sync, "after_cursor_execute", after)
    event.listen(sync, "handle_error", error)


def pool_waiting(pool: Any) -> int | None:
    """Tasks waiting for a connection right now: the asyncio queue's getters behind the pool.
    SQLAlchemy has no public count; a test (test_metrics) fails if this stops moving."""
    queue = getattr(getattr(pool, "_pool", None), "_queue", None)
    getters = getattr(queue, "_getters", None)
    if getters is None:
        return None
    return sum(1 for waiter in getters if not waiter.done())


class _PoolCollector(Collector):
    """Reads each live engine's pool at scrape time (no background polling)."""

    SPECS = (
        ("size", "Configured pool size"),
        ("checked_out", "Connections in use"),
        ("checked_in", "Idle connections in the pool"),
        ("overflow", "Connections beyond the pool size"),
        ("waiting", "Tasks waiting for a connection (the pool is exhausted while above 0)"),
    )
    # The pool's method for each gauge (SQLAlchemy spells them checkedout, checkedin).
    READERS = {
        "size": "size",
        "checked_out": "checkedout",
        "checked_in": "checkedin",
        "overflow": "overflow",
    }

    def __init__(self) -> None:
        self.engines: weakref.WeakValueDictionary[str, AsyncEngine] = weakref.WeakValueDictionary()

    def describe(self) -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(f"swe_db_pool_{name}", doc, labels=["service"])
            for name, doc in self.SPECS
        ]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = dict(zip((name for name, _ in self.SPECS), self.describe(), strict=True))
        for service, engine in list(self.engines.items()):
            pool = engine.pool
            for name, family in families.items():
                if name == "waiting":
                    waiting = pool_waiting(pool)
                    if waiting is not None:
                        family.add_metric([service], float(waiting))
                    continue
                reader = getattr(pool, self.READERS[name], None)
                if callable(reader):
                    family.add_metric([service], float(reader()))
        yield from families.values()


POOL_COLLECTOR = _PoolCollector()
REGISTRY.register(POOL_COLLECTOR)
_instrumented: weakref.WeakSet[AsyncEngine] = weakref.WeakSet()


def register_engine(service: str, engine: AsyncEngine) -> None:
    """The engine's pool on /metrics and its statements timed (once per engine)."""
    POOL_COLLECTOR.engines[service] = engine
    if engine not in _instrumented:
        _instrumented.add(engine)
        _instrument_queries(service, engine)


# -- Redis --------------------------------------------------------------------------------------

REDIS_COMMANDS = Counter(
    "swe_redis_commands_total",
    "Redis commands sent, by command (a pipeline counts once, as PIPELINE)",
    ["command"],
)
REDIS_ERRORS = Counter(
    "swe_redis_errors_total",
    "Redis commands that failed (timeout, lost connection, error reply), by command",
    ["command"],
)
_redis_children: dict[str, tuple[Any, Any]] = {}


def _redis_counters(command: str) -> tuple[Any, Any]:
    children = _redis_children.get(command)
    if children is None:
        name = command.upper() if len(_redis_children) < 200 else "OTHER"
        children = (REDIS_COMMANDS.labels(name).inc, REDIS_ERRORS.labels(name).inc)
        _redis_children[command] = children
    return children


class CountedPipeline(Pipeline):
    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        sent, failed = _redis_counters("PIPELINE")
        sent()
        try:
            return await super().execute(raise_on_error)
        except RedisError:
            failed()
            raise


class CountedRedis(aioredis.Redis):
    """``redis.asyncio.Redis`` counting its commands and their failures
    (``CountedRedis.from_url(...)``). Pub/sub connections are not counted."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        sent, failed = _redis_counters(str(args[0]) if args else "?")
        sent()
        try:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except RedisError:
            failed()
            raise

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return CountedPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )


# -- caches -------------------------------------------------------------------------------------

CACHE_LOOKUPS = Counter(
    "swe_cache_lookups_total",
    "Lookups in a process cache, by cache (jwks: token signing keys; project_read_model: a "
    "service's copy of the projects) and result (hit, or miss: fetched from its source)",
    ["cache", "result"],
)


class CacheCounter:
    """Hit and miss counters of one cache, bound once."""

    def __init__(self, cache: str) -> None:
        self.hit = CACHE_LOOKUPS.labels(cache, "hit").inc
        self.miss = CACHE_LOOKUPS.labels(cache, "miss").inc


# -- HTTP ---------------------------------------------------------------------------------------

HTTP_IN_PROGRESS = Gauge(
    "swe_http_requests_in_progress",
    "HTTP requests being answered right now (a service's WebSockets not counted; the "
    "gateway's open WebSocket connections are); near the instance's concurrency for long, "
    "it is saturated",
)


# The families prometheus-fastapi-instrumentator made for every service (its ``default()``:
# the same names, labels, buckets and help, so dashboards, rules and history carry on), updated
# here at a dict lookup per request: the instrumentator matched every request's path against
# the routes a second time and built a Request and a Response around it (~5 % of a read by id).
HTTP_EXCLUDED_HANDLERS = re.compile("/metrics|/health/live|/health/ready")
LATENCY_HIGHR_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 7.5, 10,
    30, 60,
)  # fmt: skip
LATENCY_LOWR_BUCKETS = (0.1, 0.5, 1)


class HttpMetrics:
    """A service's request metrics (``swe_<service>_http_*``), one instance per service and
    registry (``http_metrics``). ``record`` binds a label child once per (method, status,
    handler): the label values are bounded by the routes, as they were."""

    def __init__(self, service: str, registry: CollectorRegistry = REGISTRY) -> None:
        common: dict[str, Any] = {
            "namespace": "swe",
            "subsystem": service,
            "registry": registry,
        }
        self.total = Counter(
            "http_requests_total",
            "Total number of requests by method, status and handler.",
            ("method", "status", "handler"),
            **common,
        )
        self.in_size = Summary(
            "http_request_size_bytes",
            "Content length of incoming requests by handler. Only value of header is "
            "respected. Otherwise ignored. No percentile calculated. ",
            ("handler",),
            **common,
        )
        self.out_size = Summary(
            "http_response_size_bytes",
            "Content length of outgoing responses by handler. Only value of header is "
            "respected. Otherwise ignored. No percentile calculated. ",
            ("handler",),
            **common,
        )
        self.latency_highr = Histogram(
            "http_request_duration_highr_seconds",
            "Latency with many buckets but no API specific labels. Made for more accurate "
            "percentile calculations. ",
            buckets=LATENCY_HIGHR_BUCKETS,
            **common,
        )
        self.latency_lowr = Histogram(
            "http_request_duration_seconds",
            "Latency with only few buckets by handler. Made to be only used if aggregation by "
            "handler is important. ",
            ("method", "handler"),
            buckets=LATENCY_LOWR_BUCKETS,
            **common,
        )
        self._highr = self.latency_highr.observe
        self._children: dict[tuple[str, int, str], tuple[Any, Any, Any, Any]] = {}

    def record(
        self, method: str, status: int, handler: str, request_bytes: int, response_bytes: int,
        seconds: float,
    ) -> None:  # fmt: skip
        key = (method, status, handler)
        children = self._children.get(key)
        if children is None:
            children = (
                self.total.labels(method, str(status), handler).inc,
                self.in_size.labels(handler).observe,
                self.out_size.labels(handler).observe,
                self.latency_lowr.labels(method, handler).observe,
            )
            self._children[key] = children
        count, in_size, out_size, lowr = children
        count()
        in_size(request_bytes)
        out_size(response_bytes)
        self._highr(seconds)
        lowr(seconds)


_http_metrics: dict[tuple[int, str], HttpMetrics] = {}


def http_metrics(service: str, registry: CollectorRegistry = REGISTRY) -> HttpMetrics:
    """The service's request metrics in ``registry``, made at its first app (every app of a
    process with that name records into them: a registry refuses a family twice)."""
    key = (id(registry), service)
    found = _http_metrics.get(key)
    if found is None:
        found = _http_metrics[key] = HttpMetrics(service, registry)
    return found


_excluded: dict[str, bool] = {}


def http_handler(scope: Scope) -> str | None:
    """The request's handler label as the instrumentator named it (the matched route's path
    template; ``none`` when no route matched), or None when its requests are not counted
    (/metrics, the liveness and readiness probes). Read from the route FastAPI's router
    matched (``scope["route"]``), not matched again."""
    route = scope.get("route")
    path = getattr(route, "path", None) if route is not None else None
    if isinstance(route, Mount) or (path is None and (route is not None or "endpoint" in scope)):
        # A mounted app's template is the mount's and its child's, and a plain Starlette route
        # (/openapi.json) is not named in the scope: matched again (rare, never the API's).
        path = get_route_name(HTTPConnection(scope), should_include_root_path=False)
    if path is None:  # untemplated: grouped as "none", excluded by its own path
        raw: str = scope.get("path", "")
        return None if HTTP_EXCLUDED_HANDLERS.search(raw) else "none"
    excluded = _excluded.get(path)
    if excluded is None:
        excluded = _excluded[path] = HTTP_EXCLUDED_HANDLERS.search(path) is not None
    return None if excluded else path


def content_length(headers: Iterable[tuple[bytes, bytes]]) -> int:
    """The ``Content-Length`` header's value, 0 without one (or with a malformed one)."""
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def metrics_router() -> APIRouter:
    """``GET /metrics``: the process's registry in Prometheus' text format (every process's,
    merged, under ``PROMETHEUS_MULTIPROC_DIR``)."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        registry = REGISTRY
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return router
