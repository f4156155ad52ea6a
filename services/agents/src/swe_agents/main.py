"""The agents service's ASGI app: ``uvicorn --factory swe_agents.main:create_app``."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI

from swe_agents.agents.routes import router, ws_router
from swe_agents.handlers import subscription
from swe_agents.heartbeat import worker_check
from swe_agents.models import event_tables
from swe_agents.queue import ensure_work_queue
from swe_agents.settings import Settings
from swe_common.app import ServiceSpec, create_service_app
from swe_common.projects_client import ProjectsClient


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.load()

    async def open_projects_client(app: FastAPI) -> None:
        app.state.projects_client = ProjectsClient(
            settings.projects_url, settings.projects_timeout_seconds
        )

    async def close_projects_client(app: FastAPI) -> None:
        await app.state.projects_client.close()

    async def declare_queue(app: FastAPI) -> None:
        # The relay may publish a run before any worker ever started: the queue must exist.
        app.state.queue_task = asyncio.create_task(
            ensure_work_queue(app.state.events.broker, settings)
        )

    async def stop_queue_task(app: FastAPI) -> None:
        task = getattr(app.state, "queue_task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    app = create_service_app(
        ServiceSpec(
            settings=settings,
            title="SWE platform: agents",
            description="Agent definitions, runs, run logs and live streams.",
            routers=[router, ws_router],
            event_tables=event_tables,
            # The handlers announce deliveries through the app's Redis client (made at start).
            subscriptions=[subscription(settings, lambda: app.state.redis)],
            use_redis=True,
            on_startup=[open_projects_client, declare_queue],
            on_shutdown=[stop_queue_task, close_projects_client],
            # The run queue's depth and its DLQ's on /metrics and /health/detailed.
            watched_queues=[settings.work_queue],
            detail_checks=[worker_check],
        )
    )
    return app
