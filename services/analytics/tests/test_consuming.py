"""Events published on the exchange by the other services reach the figures, once."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from swe_common.testing import eventually

from .conftest import Env
from .factories import project_history

pytestmark = pytest.mark.asyncio


async def _consuming(env: Env) -> None:
    consumer = env.app.state.events.consumers[0]
    await eventually(lambda: _true(consumer.consuming), timeout=15)


async def _true(value: bool) -> bool:
    return value


async def test_published_events_update_the_figures(env: Env) -> None:
    await _consuming(env)
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)

    await env.publish(history)

    async def figures() -> dict | None:
        response = await env.client.get(
            f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner)
        )
        body = response.json() if response.status_code == 200 else None
        return body if body and body["pull_requests"]["reviewed"] == 1 else None

    body = await eventually(figures, timeout=20)
    assert body["issues"]["resolved"] == 2
    assert body["runs"]["by_status"] == {"completed": 2, "failed": 1}


async def test_redelivered_events_are_stored_once(env: Env) -> None:
    await _consuming(env)
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)

    await env.publish(history)
    await env.publish(history)

    async def stored() -> int:
        async with env.db.transaction() as session:
            return int(
                await session.scalar(
                    sa.text(
                        "SELECT count(*) FROM analytics.event_inbox WHERE event_id = ANY(:ids)"
                    ),
                    {"ids": [e.id for e in history]},
                )
                or 0
            ) == len(history)

    await eventually(stored, timeout=20)
    async with env.db.transaction() as session:
        count = await session.scalar(
            sa.text("SELECT count(*) FROM analytics.events WHERE project_id = :p"),
            {"p": project_id},
        )
    body = (
        await env.client.get(f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner))
    ).json()
    assert count == len(history)
    assert body["issues"]["total"] == 3


async def test_sensitive_auth_events_are_not_subscribed(env: Env) -> None:
    keys = set(env.app.state.events.consumers[0].subscription.handlers)

    assert "auth.password_reset.requested" not in keys
    assert "auth.audit.recorded" not in keys
    assert {"projects.project.created", "issues.issue.resolved", "agents.run.completed"} <= keys
