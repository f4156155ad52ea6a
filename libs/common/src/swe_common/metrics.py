"""Prometheus, once for every service: request metrics (the instrumentator's, and requests in
progress), database queries and the connection pool, Redis commands, cache lookups, and the
catalog's view of all of them (``docs/metrics.md``, see ``swe_common.metrics_docs``).

Cheap on the hot path: label children are bound once (per engine, per Redis command, per cache)
and a query or command costs a dict lookup, a clock read and an increment. Gauges that need a
query or a broker round trip (outbox backlog, queue depths) are refreshed by the components that
own them, in the background, never per request; the pool's gauges are read at scrape time.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Iterator
from typing import Any

import redis.asyncio as aioredis
from fastapi import FastAPI
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

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


class InProgressMiddleware:
    """Counts the HTTP requests inside the app (outermost, so a refusal counts too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._inc = HTTP_IN_PROGRESS.inc
        self._dec = HTTP_IN_PROGRESS.dec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self._inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self._dec()


def instrumentator(registry: CollectorRegistry | None = None) -> Instrumentator:
    return Instrumentator(
        excluded_handlers=["/metrics", "/health/live", "/health/ready"],
        should_group_status_codes=False,
        registry=registry,
    )


def instrument(app: FastAPI, service: str) -> None:
    instrumentator().instrument(app, metric_namespace="swe", metric_subsystem=service).expose(
        app, endpoint="/metrics", include_in_schema=False
    )
