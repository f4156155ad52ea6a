"""Typed dependencies of the projects routes: the caller, the service's settings, the
repository policy, the webhook secrets' box and the webhook budget, read from the app once here
instead of helpers on the request in each router.

All of them are ``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, a
thread hop per request for what is an attribute read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from swe_common.crypto import SecretBox
from swe_common.ratelimit import RateLimiter
from swe_common.security import CurrentCaller
from swe_projects.projects.service import RepositoryPolicy
from swe_projects.settings import Settings
from swe_projects.webhooks.service import Budget


async def get_settings(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_policy(settings: SettingsDep) -> RepositoryPolicy:
    return RepositoryPolicy(
        allowed_hosts=settings.repository_hosts, allow_file=settings.allow_file_repositories
    )


async def get_secret_box(connection: HTTPConnection) -> SecretBox:
    box: SecretBox = connection.app.state.secret_box
    return box


async def get_webhook_budget(connection: HTTPConnection, settings: SettingsDep) -> Budget:
    limiter: RateLimiter = connection.app.state.webhook_limiter
    return Budget(limiter, settings.webhook_rate_limit_per_minute)


# Changes need a writing role (API keys' scopes are checked by the router's guard).
CallerDep = CurrentCaller
PolicyDep = Annotated[RepositoryPolicy, Depends(get_policy)]
SecretBoxDep = Annotated[SecretBox, Depends(get_secret_box)]
WebhookBudgetDep = Annotated[Budget, Depends(get_webhook_budget)]
