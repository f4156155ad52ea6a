"""Prometheus: request metrics from the instrumentator, plus the DB connection pool's gauges."""

from __future__ import annotations

import weakref
from collections.abc import Iterator

from fastapi import FastAPI
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from prometheus_fastapi_instrumentator import Instrumentator
from sqlalchemy.ext.asyncio import AsyncEngine


class _PoolCollector(Collector):
    """Reads each live engine's pool at scrape time (no background polling)."""

    def __init__(self) -> None:
        self.engines: weakref.WeakValueDictionary[str, AsyncEngine] = weakref.WeakValueDictionary()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            name: GaugeMetricFamily(f"swe_db_pool_{name}", doc, labels=["service"])
            for name, doc in (
                ("size", "Configured pool size"),
                ("checked_out", "Connections in use"),
                ("checked_in", "Idle connections in the pool"),
                ("overflow", "Connections beyond the pool size"),
            )
        }
        for service, engine in list(self.engines.items()):
            pool = engine.pool
            for name, family in families.items():
                reader = getattr(pool, name, None)
                if callable(reader):
                    family.add_metric([service], float(reader()))
        yield from families.values()


_pool_collector = _PoolCollector()
REGISTRY.register(_pool_collector)


def register_engine(service: str, engine: AsyncEngine) -> None:
    _pool_collector.engines[service] = engine


def instrument(app: FastAPI, service: str) -> None:
    Instrumentator(
        excluded_handlers=["/metrics", "/health/live", "/health/ready"],
        should_group_status_codes=False,
    ).instrument(app, metric_namespace="swe", metric_subsystem=service).expose(
        app, endpoint="/metrics", include_in_schema=False
    )
