"""The projects service's ASGI app: ``uvicorn --factory swe_projects.main:create_app``."""

from fastapi import FastAPI

from swe_common.app import ServiceSpec, create_service_app
from swe_projects.crypto import webhook_secret_box
from swe_projects.models import event_tables
from swe_projects.projects.routes import lookup_router as project_lookup_router
from swe_projects.projects.routes import router as projects_router
from swe_projects.settings import Settings
from swe_projects.webhooks import budget, retention
from swe_projects.webhooks.routes import WEBHOOK_PATH
from swe_projects.webhooks.routes import router as webhooks_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.load()
    app = create_service_app(
        ServiceSpec(
            settings=settings,
            title="SWE platform: projects",
            description="Projects (repositories), ownership, membership and GitHub webhooks.",
            # The webhook route comes first: it is more specific than /{project_id}.
            routers=[webhooks_router, projects_router, project_lookup_router],
            event_tables=event_tables,
            use_redis=True,
            # GitHub's deliveries may exceed the service's MAX_BODY_BYTES (1 MiB by default).
            body_limits={WEBHOOK_PATH: settings.webhook_max_body_bytes},
            on_startup=[retention.start, budget.start],
            on_shutdown=[retention.stop],
            openapi_tags=[
                {"name": "projects", "description": "Projects and their members"},
                {"name": "webhooks", "description": "GitHub deliveries, signed per project"},
            ],
        )
    )
    app.state.secret_box = webhook_secret_box(settings.webhook_secret_key.get_secret_value())
    return app
