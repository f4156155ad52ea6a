"""The auth service's ASGI app: ``uvicorn --factory swe_auth.main:create_app``."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import FastAPI

from swe_auth import bootstrap
from swe_auth.accounts.admin_routes import router as admin_router
from swe_auth.accounts.routes import router as accounts_router
from swe_auth.api_keys.routes import router as api_keys_router
from swe_auth.audit.routes import router as audit_router
from swe_auth.clock import Clock, system_clock
from swe_auth.github.routes import router as github_router
from swe_auth.handlers import subscriptions
from swe_auth.keys.routes import router as keys_router
from swe_auth.mail.sender import Sender, sender_for
from swe_auth.models import event_tables
from swe_auth.notifications.routes import router as notifications_router
from swe_auth.runtime import AuthRuntime
from swe_auth.sessions.routes import router as sessions_router
from swe_auth.settings import Settings
from swe_common.app import ServiceSpec, create_service_app
from swe_common.health_detailed import DetailCheck
from swe_common.security import TokenVerifier

TAGS = [
    {"name": "sessions", "description": "Sign in, refresh, sign out, sessions"},
    {"name": "accounts", "description": "Registration, profile, passwords, TOTP"},
    {"name": "api-keys", "description": "API keys and their exchange for access tokens"},
    {"name": "github", "description": "Sign in with GitHub"},
    {"name": "admin", "description": "User administration and the audit trail"},
    {"name": "keys", "description": "The JWKS"},
]


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, sender: Sender | None = None
) -> FastAPI:
    settings = settings or Settings.load()
    time_source = clock or system_clock
    mail_sender = sender or sender_for(settings)

    def smtp_check(_: FastAPI) -> DetailCheck:
        async def check() -> dict[str, Any]:
            probe = getattr(mail_sender, "check", None)
            return await probe() if probe is not None else {"backend": "custom"}

        return DetailCheck("smtp", check, timeout_seconds=4.0)

    async def start_auth(app: FastAPI) -> None:
        runtime = AuthRuntime.build(settings, time_source, app.state.db, app.state.redis)
        app.state.auth = runtime
        # Auth verifies its own tokens from its own keys (no JWKS round trip to itself), and
        # falls back to the database for revocations when Redis is down.
        app.state.token_verifier = TokenVerifier(
            runtime.keyring,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            is_revoked=runtime.revocations.is_revoked,
        )
        await bootstrap.start(runtime)
        app.state.revocation_sync = asyncio.create_task(
            runtime.revocations.keep_synced(
                settings.revocation_resync_seconds, settings.revocation_ttl_seconds
            ),
            name="auth-revocation-sync",
        )

    async def stop_auth(app: FastAPI) -> None:
        task: asyncio.Task[None] | None = getattr(app.state, "revocation_sync", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return create_service_app(
        ServiceSpec(
            settings=settings,
            title="SWE platform: auth",
            description="Identity for the platform: accounts, tokens, API keys, roles, audit, JWKS",
            routers=[
                sessions_router,
                accounts_router,
                api_keys_router,
                github_router,
                notifications_router,
                admin_router,
                audit_router,
                keys_router,
            ],
            event_tables=event_tables,
            # Mail goes out from this process's consumer of the outbox's events (see README).
            subscriptions=subscriptions(settings, mail_sender),
            use_redis=True,
            # The JWKS-based verifier is replaced by the one set in start_auth.
            verify_tokens=False,
            on_startup=[start_auth],
            on_shutdown=[stop_auth],
            detail_checks=[smtp_check],
            openapi_tags=TAGS,
        )
    )
