"""The gateway's Prometheus metrics (the default registry), served at ``/metrics`` on their own
listener (``METRICS_HOST``:``METRICS_PORT``, loopback by default), never on the public port:
the counters name routes, upstreams and failure rates an outsider has no business reading."""

from __future__ import annotations

import weakref

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REQUESTS = Counter(
    "swe_gateway_requests_total",
    "Requests answered by the gateway",
    ["route", "status", "upstream"],
)
UPSTREAM_LATENCY = Histogram(
    "swe_gateway_upstream_latency_seconds",
    "Time until the upstream's response headers arrived",
    ["upstream"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BREAKER_STATE = Gauge(
    "swe_gateway_breaker_state",
    "Circuit breaker state per upstream service (0 closed, 1 half-open, 2 open)",
    ["upstream"],
)
RATE_LIMITED = Counter(
    "swe_gateway_rate_limited_total", "Requests refused by a rate limit", ["limit"]
)
RETRIES = Counter("swe_gateway_retries_total", "Retried upstream attempts", ["upstream"])
REDIS_FALLBACKS = Counter(
    "swe_gateway_rate_limit_fallback_total",
    "Rate-limit decisions taken without Redis (in-process limiter or fail-closed)",
    ["policy"],
)
AUTH_REJECTIONS = Counter(
    "swe_gateway_auth_rejections_total", "Requests refused at the edge for credentials", ["reason"]
)


class RequestCounter:
    """Counts in a plain dict, added to ``REQUESTS`` whenever ``/metrics`` is read (``flush``):
    a Prometheus child's ``inc`` (checks and a lock) cost more than the rest of the count on
    the hot path, and nobody sees the counter between two reads."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, int, str], Counter] = {}
        self._pending: dict[tuple[str, int, str], int] = {}
        _PENDING.add(self)

    def inc(self, route: str, status: int, upstream: str) -> None:
        key = (route, status, upstream)
        pending = self._pending
        pending[key] = pending.get(key, 0) + 1

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        for key, count in pending.items():
            child = self._children.get(key)
            if child is None:
                route, status, upstream = key
                child = self._children[key] = REQUESTS.labels(route, str(status), upstream)
            child.inc(count)


_PENDING: weakref.WeakSet[RequestCounter] = weakref.WeakSet()


def flush_pending() -> None:
    """Bring every deferred count into the registry (before it is read)."""
    for counter in list(_PENDING):
        counter.flush()


class LatencyObserver:
    def __init__(self) -> None:
        self._children: dict[str, Histogram] = {}

    def observe(self, upstream: str, seconds: float) -> None:
        child = self._children.get(upstream)
        if child is None:
            child = UPSTREAM_LATENCY.labels(upstream)
            self._children[upstream] = child
        child.observe(seconds)


async def serve_metrics(host: str, port: int, workers: int) -> web.AppRunner:
    """Start the metrics listener. Several worker processes share the port (SO_REUSEPORT) and
    each answers with its own counters, as on the public port; a single process binds it alone,
    so a port already taken stops the start with a clear error instead of being shared."""

    async def exposition(_: web.Request) -> web.Response:
        flush_pending()
        return web.Response(
            body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    app = web.Application()
    app.router.add_get("/metrics", exposition)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, reuse_port=workers > 1).start()
    return runner
