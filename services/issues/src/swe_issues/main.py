"""The issues service's ASGI app: ``uvicorn --factory swe_issues.main:create_app``."""

from fastapi import FastAPI

from swe_common.app import ServiceSpec, create_service_app
from swe_common.crypto import SecretBox
from swe_common.projects_client import ProjectsClient
from swe_issues.comments.routes import issue_router as issue_comments_router
from swe_issues.comments.routes import pr_router as pr_comments_router
from swe_issues.github import tokens
from swe_issues.github.client import GitHubClient
from swe_issues.github.delivery import Delivery
from swe_issues.github.routes import router as github_token_router
from swe_issues.handlers import subscriptions
from swe_issues.issues.routes import router as issues_router
from swe_issues.models import event_tables
from swe_issues.pull_requests.routes import router as prs_router
from swe_issues.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.load()
    token = settings.github_token.get_secret_value() if settings.github_token else None
    # Made here (their HTTP session opens on first use): the event handlers need them too.
    box = SecretBox(settings.github_token_key.get_secret_value(), tokens.PURPOSE)
    github = GitHubClient(settings.github_api_url, token, settings.github_timeout_seconds)
    delivery = Delivery(github, box, token, allow_file=settings.allow_file_repositories)

    async def open_clients(app: FastAPI) -> None:
        app.state.projects_client = ProjectsClient(
            settings.projects_url, settings.projects_timeout_seconds
        )
        app.state.github_token_box = box
        app.state.github = github
        app.state.delivery = delivery

    async def close_clients(app: FastAPI) -> None:
        await app.state.projects_client.close()
        await app.state.github.close()

    return create_service_app(
        ServiceSpec(
            settings=settings,
            title="SWE platform: issues",
            description="Issues and pull requests of the platform's projects, with reviews.",
            routers=[
                github_token_router,
                issues_router,
                prs_router,
                issue_comments_router,
                pr_comments_router,
            ],
            event_tables=event_tables,
            subscriptions=subscriptions(settings.consumer_queue_prefix, delivery),
            use_redis=True,
            on_startup=[open_clients],
            on_shutdown=[close_clients],
            openapi_tags=[
                {"name": "issues", "description": "Issues of a project"},
                {"name": "pull requests", "description": "Tracked pull requests and reviews"},
                {"name": "comments", "description": "Comments on issues and pull requests"},
            ],
        )
    )
