"""Helpers the auth tests share: flows through the API and looks into the database."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

API = "/api/v1/auth"
SERVICE_DIR = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple 42"


def client_from(app: Any, ip: str) -> httpx.AsyncClient:
    """A client whose requests come from ``ip`` (for per-address limits)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def new_identity() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"email": f"user{tag}@example.com", "username": f"user{tag}", "full_name": "Test User"}


async def register(
    client: httpx.AsyncClient, password: str = PASSWORD, **fields: str
) -> dict[str, Any]:
    body = {**new_identity(), **fields, "password": password}
    response = await client.post(f"{API}/register", json=body)
    assert response.status_code == 201, response.text
    return {**response.json(), "password": password}


async def login(client: httpx.AsyncClient, user: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = await client.post(
        f"{API}/login", json={"username": user["username"], "password": user["password"], **extra}
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(tokens: dict[str, Any] | str) -> dict[str, str]:
    token = tokens if isinstance(tokens, str) else tokens["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def outbox_events(
    runtime: Any, event_type: str, subject: str | None = None
) -> list[dict[str, Any]]:
    """Events ``event_type`` written to auth's outbox (published or not)."""
    async with runtime.db.sessionmaker() as session:
        rows = await session.execute(
            sa.text("SELECT payload FROM auth.event_outbox WHERE event_type = :type ORDER BY id"),
            {"type": event_type},
        )
        events = [row[0] for row in rows]
    return [e for e in events if subject is None or e.get("subject") == subject]


async def audit_actions(runtime: Any, user_id: str) -> list[tuple[str, str]]:
    async with runtime.db.sessionmaker() as session:
        rows = await session.execute(
            sa.text(
                "SELECT action, outcome FROM auth.audit_events "
                "WHERE user_id = :id ORDER BY at, action"
            ),
            {"id": user_id},
        )
        return [(a, o) for a, o in rows]


@contextmanager
def overridden(settings: Any, **values: Any) -> Iterator[None]:
    """Change frozen settings of the running app for one test (limits, TTLs)."""
    before = {name: getattr(settings, name) for name in values}
    for name, value in values.items():
        object.__setattr__(settings, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            object.__setattr__(settings, name, value)


@asynccontextmanager
async def redis_unreachable(runtime: Any) -> AsyncIterator[None]:
    """Point auth's Redis users at a closed port for the duration."""
    import redis.asyncio as aioredis

    dead = aioredis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.2, socket_timeout=0.2
    )
    users = (runtime, runtime.revocations, runtime.limiter, runtime.throttle)
    saved = [holder.redis for holder in users]
    for holder in users:
        holder.redis = dead
    try:
        yield
    finally:
        for holder, redis in zip(users, saved, strict=True):
            holder.redis = redis
        await dead.aclose()


@contextmanager
def one_window(runtime: Any) -> Iterator[None]:
    """Hold the rate limiter's clock still, so a test's attempts never straddle two windows."""
    frozen = time.time()
    saved = runtime.limiter.now
    runtime.limiter.now = lambda: frozen
    try:
        yield
    finally:
        runtime.limiter.now = saved


async def fail_from_addresses(app: Any, username: str, addresses: list[str]) -> None:
    """One wrong password for ``username`` from each address: a distributed guess."""
    for ip in addresses:
        async with client_from(app, ip) as attacker:
            response = await attacker.post(
                f"{API}/login", json={"username": username, "password": "a wrong guess 000"}
            )
            assert response.status_code == 401, response.text


async def requested_reset_token(
    client: httpx.AsyncClient, runtime: Any, user: dict[str, Any]
) -> str:
    """Ask for a password reset; the token, as the mailer would get it from the event."""
    response = await client.post(f"{API}/password-reset/request", json={"email": user["email"]})
    assert response.status_code == 202
    events = await outbox_events(runtime, "auth.password_reset.requested", subject=user["id"])
    return events[-1]["data"]["reset_token"]
