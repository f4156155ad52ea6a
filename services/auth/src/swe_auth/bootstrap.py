"""Start-up work and the first administrator.

The first admin comes from ``swe-auth create-admin`` or, for unattended deployments, from
``AUTH_BOOTSTRAP_ADMIN_EMAIL`` / ``_USERNAME`` / ``_PASSWORD`` (used only while no admin
exists). There is never a default password.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from swe_auth.accounts import repository as users
from swe_auth.accounts.service import NewUser, register
from swe_auth.clock import epoch
from swe_auth.context import ClientInfo
from swe_auth.keys.service import ensure_signing_key
from swe_auth.models import User
from swe_auth.runtime import AuthRuntime
from swe_auth.sessions.repository import purge_expired_sessions, purge_revoked
from swe_common.errors import AppError

log = structlog.stdlib.get_logger(__name__)
CLI = ClientInfo(ip="", user_agent="swe-auth bootstrap")


async def create_admin(session: AsyncSession, rt: AuthRuntime, new: NewUser) -> User:
    """Register ``new`` with the admin role (password policy applies as for anyone)."""
    return await register(session, rt, new, CLI, roles=["admin", "user"])


async def start(rt: AuthRuntime) -> None:
    async with rt.db.transaction() as session:
        if await ensure_signing_key(session, rt.box, rt.clock):
            log.info("signing_key_created")
    await rt.keyring.load()
    await rt.hasher.warm_up()
    await _bootstrap_admin_from_env(rt)
    async with rt.db.transaction() as session:
        synced = await rt.revocations.resync(session, rt.settings.revocation_ttl_seconds)
        await purge_revoked(session, epoch(rt.clock()))
        # Housekeeping at each start: nothing can use a session older than the absolute limit.
        limit = timedelta(seconds=rt.settings.refresh_absolute_ttl_seconds)
        await purge_expired_sessions(session, rt.clock() - limit)
    log.info("revocations_resynced", complete=synced)


async def _bootstrap_admin_from_env(rt: AuthRuntime) -> None:
    settings = rt.settings
    password = settings.bootstrap_admin_password.get_secret_value()
    if not (settings.bootstrap_admin_email and settings.bootstrap_admin_username and password):
        return
    async with rt.db.transaction() as session:
        if await users.admin_exists(session):
            return
        new = NewUser(settings.bootstrap_admin_email, settings.bootstrap_admin_username, password)
        try:
            user = await create_admin(session, rt, new)
        except AppError as exc:
            raise SystemExit(f"AUTH_BOOTSTRAP_ADMIN_* rejected: {exc.detail}") from None
    log.info("bootstrap_admin_created", user_id=str(user.id))
