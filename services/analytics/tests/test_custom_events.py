"""POST /events: clients' own events, validated, rate-limited per caller, stored like the rest."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from .conftest import Env, analytics_env
from .factories import project

pytestmark = pytest.mark.asyncio
EVENTS = "/api/v1/analytics/events"


async def test_a_custom_event_is_stored(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest([project(project_id, owner)])

    response = await env.client.post(
        EVENTS,
        json={
            "type": "custom.button.clicked",
            "project_id": str(project_id),
            "data": {"button": "deploy"},
        },
        headers=env.as_user(owner),
    )

    assert response.status_code == 202, response.text
    async with env.db.transaction() as session:
        row = (
            await session.execute(
                sa.text(
                    "SELECT type, project_id, principal, data FROM analytics.events "
                    "WHERE event_id = :id"
                ),
                {"id": response.json()["id"]},
            )
        ).one()
    assert row.type == "custom.button.clicked"
    assert row.project_id == project_id
    assert row.principal == str(owner)
    assert row.data == {"button": "deploy"}


@pytest.mark.parametrize(
    "event_type",
    ["issues.issue.created", "custom.button", "custom.Button.clicked", "custom..x", "x" * 200],
)
async def test_only_custom_entity_verb_types_are_accepted(env: Env, event_type: str) -> None:
    response = await env.client.post(
        EVENTS, json={"type": event_type}, headers=env.as_user(uuid.uuid4())
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_oversized_event_is_refused(env: Env) -> None:
    big = {"blob": "x" * (env.settings.custom_event_max_bytes + 1)}

    response = await env.client.post(
        EVENTS,
        json={"type": "custom.file.uploaded", "data": big},
        headers=env.as_user(uuid.uuid4()),
    )

    assert response.status_code == 413


async def test_an_event_for_someone_elses_project_answers_404(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest([project(project_id, owner)])

    response = await env.client.post(
        EVENTS,
        json={"type": "custom.button.clicked", "project_id": str(project_id)},
        headers=env.as_user(uuid.uuid4()),
    )

    assert response.status_code == 404


async def test_a_project_id_inside_the_data_does_not_attach_the_event(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest([project(project_id, owner)])

    response = await env.client.post(
        EVENTS,
        json={"type": "custom.button.clicked", "data": {"project_id": str(project_id)}},
        headers=env.as_user(uuid.uuid4()),
    )

    async with env.db.transaction() as session:
        attached = await session.scalar(
            sa.text("SELECT project_id FROM analytics.events WHERE event_id = :id"),
            {"id": response.json()["id"]},
        )
    assert attached is None


async def test_nul_characters_are_refused_not_crashed_on(env: Env) -> None:
    response = await env.client.post(
        EVENTS,
        json={"type": "custom.x.y", "data": {"a": "nul\u0000here"}},
        headers=env.as_user(uuid.uuid4()),
    )

    assert response.status_code == 422


async def test_nan_values_are_refused_not_crashed_on(env: Env) -> None:
    response = await env.client.post(
        EVENTS,
        content=b'{"type": "custom.x.y", "data": {"a": NaN}}',
        headers={**env.as_user(uuid.uuid4()), "content-type": "application/json"},
    )

    assert response.status_code == 422


async def test_readonly_callers_cannot_record_events(env: Env) -> None:
    response = await env.client.post(
        EVENTS,
        json={"type": "custom.x.y"},
        headers=env.tokens.headers(uuid.uuid4(), roles=("readonly",)),
    )

    assert response.status_code == 403


async def test_too_many_events_answer_429_with_retry_after(tokens) -> None:
    async with analytics_env(
        tokens, custom_events_per_window=3, custom_events_window_seconds=3600
    ) as env:
        caller, other = env.as_user(uuid.uuid4()), env.as_user(uuid.uuid4())
        statuses = [
            (await env.client.post(EVENTS, json={"type": "custom.x.y"}, headers=caller)).status_code
            for _ in range(4)
        ]
        limited = await env.client.post(EVENTS, json={"type": "custom.x.y"}, headers=caller)
        someone_else = await env.client.post(EVENTS, json={"type": "custom.x.y"}, headers=other)
        await env.app.state.redis.delete(
            *[k async for k in env.app.state.redis.scan_iter(f"{env.settings.redis_key_prefix}:*")]
        )

    assert statuses == [202, 202, 202, 429]
    assert limited.status_code == 429
    assert limited.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(limited.headers["retry-after"]) <= 3601
    assert someone_else.status_code == 202
