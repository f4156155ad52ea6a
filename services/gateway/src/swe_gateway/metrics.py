"""The gateway's Prometheus metrics (the default registry), served at ``/metrics`` on their own
listener (``METRICS_HOST``:``METRICS_PORT``, loopback by default), never on the public port:
the counters name routes, upstreams and failure rates an outsider has no business reading."""

from __future__ import annotations

import weakref
from bisect import bisect_left

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from swe_common.metrics import HTTP_IN_PROGRESS

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


class InProgress:
    """Requests (and WebSockets) inside the gateway, a plain int: ``swe_http_requests_in_progress``
    is set from it when ``/metrics`` is read (``flush_pending``). The gauge's ``inc`` and
    ``dec`` take a lock each, twice per request for a value nobody reads in between."""

    __slots__ = ("__weakref__", "count")

    def __init__(self) -> None:
        self.count = 0
        _IN_PROGRESS.add(self)


class LatencyObserver:
    """``UPSTREAM_LATENCY`` observed in plain lists (a bucket count per upstream and a sum),
    added to the histogram whenever ``/metrics`` is read (``flush``), or once
    ``FLUSH_EVERY`` observations have piled up: the histogram's ``observe`` (a lock per
    bucket and per sum) cost several times the bucket search."""

    FLUSH_EVERY = 10_000

    def __init__(self) -> None:
        self._children: dict[str, Histogram] = {}
        self._bounds = UPSTREAM_LATENCY._upper_bounds  # the last one is +Inf
        # upstream -> [sum, bucket counts...] (not cumulative, as the histogram keeps them)
        self._pending: dict[str, list[float]] = {}
        self._observed = 0
        _PENDING.add(self)

    def observe(self, upstream: str, seconds: float) -> None:
        counts = self._pending.get(upstream)
        if counts is None:
            counts = self._pending[upstream] = [0.0] * (len(self._bounds) + 1)
        counts[0] += seconds
        counts[1 + bisect_left(self._bounds, seconds)] += 1
        self._observed += 1
        if self._observed >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        pending, self._pending, self._observed = self._pending, {}, 0
        for upstream, counts in pending.items():
            child = self._children.get(upstream)
            if child is None:
                child = self._children[upstream] = UPSTREAM_LATENCY.labels(upstream)
            child._sum.inc(counts[0])
            for bucket, count in zip(child._buckets, counts[1:], strict=True):
                if count:
                    bucket.inc(count)


_PENDING: weakref.WeakSet[RequestCounter | LatencyObserver] = weakref.WeakSet()
_IN_PROGRESS: weakref.WeakSet[InProgress] = weakref.WeakSet()


def flush_pending() -> None:
    """Bring every deferred count into the registry (before it is read)."""
    for counter in list(_PENDING):
        counter.flush()
    if _IN_PROGRESS:
        HTTP_IN_PROGRESS.set(sum(gateway.count for gateway in list(_IN_PROGRESS)))


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
