"""The analytics service's ASGI app: ``uvicorn --factory swe_analytics.main:create_app``."""

from fastapi import FastAPI

from swe_analytics.custom_events.routes import router as custom_events_router
from swe_analytics.dashboards.routes import router as dashboards_router
from swe_analytics.exports.routes import router as exports_router
from swe_analytics.handlers import subscription
from swe_analytics.models import event_tables
from swe_analytics.settings import Settings
from swe_analytics.timeseries.routes import router as timeseries_router
from swe_common.app import ServiceSpec, create_service_app


def create_app(settings: Settings | None = None, *, queue: str | None = None) -> FastAPI:
    settings = settings or Settings.load()
    return create_service_app(
        ServiceSpec(
            settings=settings,
            title="SWE platform: analytics",
            description="Event store and projections: dashboards, time series, exports.",
            routers=[dashboards_router, timeseries_router, exports_router, custom_events_router],
            event_tables=event_tables,
            subscriptions=[subscription(queue or settings.events_queue, settings.events_batch_max)],
            use_redis=True,
        )
    )
