"""Figures computed from known event sequences, whatever their order or repetition."""

from __future__ import annotations

import asyncio
import random
import uuid

import pytest

from .conftest import Env
from .factories import (
    agent_created,
    at,
    event,
    issue,
    project,
    project_history,
    review_requested,
    reviewed,
    run,
)

pytestmark = pytest.mark.asyncio


async def test_project_figures_follow_a_known_history(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(project_id, owner))

    response = await env.client.get(
        f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner)
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issues"] == {
        "total": 3,
        "open": 1,
        "resolved": 2,
        "mean_time_to_resolve_seconds": 3 * 3600.0,  # (2 h + 4 h) / 2
    }
    assert body["runs"]["total"] == 3
    assert body["runs"]["by_status"] == {"completed": 2, "failed": 1}
    assert body["runs"]["success_rate"] == pytest.approx(2 / 3)
    assert body["runs"]["mean_duration_seconds"] == pytest.approx((900 + 900 + 1800) / 3)
    assert body["runs"]["mean_queue_wait_seconds"] == pytest.approx(900 / 3)
    assert body["pull_requests"]["reviewed"] == 1
    assert body["pull_requests"]["mean_review_turnaround_seconds"] == 1800.0
    assert body["quality"]["latest"] == 0.9
    assert body["quality"]["mean"] == pytest.approx(0.75)


async def test_duplicated_events_count_once(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)
    await env.ingest(history)
    before = (
        await env.client.get(f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner))
    ).json()

    stored_again = await env.ingest(history + history[:5])

    after = (
        await env.client.get(f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner))
    ).json()
    assert stored_again == 0
    assert after == before


async def test_shuffled_events_give_the_same_figures_as_ordered_ones(env: Env) -> None:
    owner = uuid.uuid4()
    ordered, shuffled = uuid.uuid4(), uuid.uuid4()
    await env.ingest(project_history(ordered, owner))
    events = project_history(shuffled, owner)
    random.Random(7).shuffle(events)
    for one in events:  # one transaction each, as the consumer does
        await env.ingest([one])

    figures = []
    for project_id in (ordered, shuffled):
        response = await env.client.get(
            f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner)
        )
        body = response.json()
        del body["project_id"]
        figures.append(body)
    assert figures[0] == figures[1]
    assert figures[0]["issues"]["resolved"] == 2


async def test_a_late_stale_snapshot_does_not_reopen_a_resolved_issue(env: Env) -> None:
    owner, project_id, issue_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    resolved = issue(
        issue_id,
        project_id,
        "resolved",
        created=at(1),
        updated=at(3),
        status="resolved",
        resolved=at(3),
    )
    stale = issue(issue_id, project_id, "updated", created=at(1), updated=at(2))
    await env.ingest([project(project_id, owner), resolved])
    await env.ingest([stale])

    body = (
        await env.client.get(f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner))
    ).json()
    assert body["issues"]["open"] == 0
    assert body["issues"]["resolved"] == 1


async def test_a_run_started_event_arriving_after_completion_keeps_it_completed(env: Env) -> None:
    owner, project_id, agent, run_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    done = run(
        run_id,
        project_id,
        agent,
        "completed",
        queued=at(1),
        started=at(1),
        finished=at(2),
        quality=0.5,
    )
    late = run(run_id, project_id, agent, "started", queued=at(1), started=at(1))
    await env.ingest([project(project_id, owner), agent_created(agent, project_id), done])
    await env.ingest([late])

    body = (
        await env.client.get(f"/api/v1/analytics/agents/{agent}", headers=env.as_user(owner))
    ).json()
    assert body["runs"]["by_status"] == {"completed": 1}
    assert body["quality"]["latest"] == 0.5


async def test_agent_figures_cover_its_runs_and_assigned_issues(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)
    agent = history[1].data["agent_id"]
    await env.ingest(history)

    response = await env.client.get(f"/api/v1/analytics/agents/{agent}", headers=env.as_user(owner))

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["project_id"] == str(project_id)
    assert body["runs"]["by_status"] == {"completed": 2, "failed": 1}
    assert body["assigned_issues"] == {"open": 0, "resolved": 1}
    assert body["quality"]["latest"] == 0.9


async def test_dashboard_adds_up_the_callers_projects_only(env: Env) -> None:
    owner, other = uuid.uuid4(), uuid.uuid4()
    mine_a, mine_b, theirs = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await env.ingest(
        project_history(mine_a, owner)
        + project_history(mine_b, owner)
        + project_history(theirs, other)
    )

    body = (await env.client.get("/api/v1/analytics/dashboard", headers=env.as_user(owner))).json()

    assert body["projects"] == 2
    assert body["issues"]["total"] == 6
    assert body["runs"]["by_status"] == {"completed": 4, "failed": 2}


async def test_malformed_payloads_are_stored_without_breaking_figures(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    broken = [
        event("issues.issue.created", {"id": "not-a-uuid", "project_id": 5}, at(1)),
        event(
            "issues.issue.updated",
            {
                "id": str(uuid.uuid4()),
                "created_at": "yesterday",
                "project_id": str(project_id),
                "status": ["x"],
            },
            at(1),
        ),
        event(
            "agents.run.completed",
            {
                "run_id": str(uuid.uuid4()),
                "project_id": str(project_id),
                "duration_ms": 10**30,
                "result": "great",
                "trigger": None,
                "started_at": 12,
            },
            at(2),
        ),
        event(
            "projects.project.updated",
            {"id": str(project_id), "owner_id": str(owner), "members": ["nobody", {"user_id": 3}]},
            at(0.5),
        ),
    ]

    stored = await env.ingest([project(project_id, owner), *broken])

    body = (
        await env.client.get(f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner))
    ).json()
    assert stored == 5
    assert body["issues"]["total"] == 0
    assert body["runs"]["by_status"] == {"completed": 1}


async def test_concurrent_ingest_of_one_entity_loses_no_count(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    await env.ingest([project(project_id, owner)])
    review_ids = [uuid.uuid4() for _ in range(10)]
    events = [
        e
        for r in review_ids
        for e in (review_requested(r, project_id, at(1)), reviewed(r, project_id, at(2), 0.5))
    ]

    await asyncio.gather(*(env.ingest([e]) for e in events))

    body = (
        await env.client.get(f"/api/v1/analytics/projects/{project_id}", headers=env.as_user(owner))
    ).json()
    assert body["pull_requests"]["reviews_requested"] == 10
    assert body["pull_requests"]["reviewed"] == 10
    assert body["pull_requests"]["mean_review_turnaround_seconds"] == 3600.0
