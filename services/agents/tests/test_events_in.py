"""Runs started by other services' events, and the projects read model they rely on."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from swe_common.testing import TokenFactory, eventually

from .conftest import wait_run
from .gitrepo import commit, git, planted_repo

pytestmark = pytest.mark.usefixtures("worker")


async def test_review_request_starts_an_on_demand_pr_reviewer_and_reports_back(
    client: Any,
    tokens: TokenFactory,
    projects: Any,
    publish: Any,
    captured: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    repo = planted_repo(tmp_path / "repo")
    git(repo, "checkout", "--quiet", "-b", "feature")
    head = commit(repo, {"app/new.py": "import os\n"}, "new file")
    owner = uuid.uuid4()
    project = await projects.create(owner, f"file://{repo}")
    pr_id, review_id = str(uuid.uuid4()), str(uuid.uuid4())
    await publish(
        "issues.pr.review_requested",
        {
            "review_id": review_id,
            "pull_request_id": pr_id,
            "project_id": str(project),
            "repository_url": f"file://{repo}",
            "number": 7,
            "base_ref": "main",
            "head_ref": "feature",
            "base_sha": None,
            "head_sha": head,
            "level": "quick",
            "requested_by": str(owner),
        },
    )

    async def completed() -> dict[str, Any] | None:
        return next(
            (
                e
                for e in captured
                if e["type"] == "agents.run.completed"
                and e["data"]["trigger"].get("review_id") == review_id
            ),
            None,
        )

    event = await eventually(completed, timeout=60, interval=0.2)
    result = event["data"]["result"]
    assert event["data"]["trigger"]["pull_request_id"] == pr_id
    assert result["approval"] == "comment" and result["level"] == "quick"
    assert [(c["path"], c["line"], c["rule"], c["new"]) for c in result["comments"]] == [
        ("app/new.py", 1, "F401", True)
    ]
    agents = (
        await client.get(
            "/api/v1/agents", params={"project_id": str(project)}, headers=tokens.headers(owner)
        )
    ).json()
    assert [(a["name"], a["type"]) for a in agents["items"]] == [("pr-reviewer", "pr_reviewer")]


async def test_issue_assignment_starts_the_assigned_agent(
    client: Any, tokens: TokenFactory, projects: Any, publish: Any, planted: Path, provider: Any
) -> None:
    from .gitrepo import RESOLVER_SCRIPT

    provider.reset(RESOLVER_SCRIPT)
    owner = uuid.uuid4()
    headers = tokens.headers(owner)
    project = await projects.create(owner, f"file://{planted}")
    body = {"project_id": str(project), "name": "fixer", "type": "issue_resolver"}
    agent = (await client.post("/api/v1/agents", json=body, headers=headers)).json()
    issue_id = str(uuid.uuid4())
    await publish(
        "issues.issue.assigned",
        {
            "id": issue_id,
            "project_id": str(project),
            "title": "Add subtraction",
            "description": "in app/clean.py",
            "status": "open",
            "priority": "medium",
            "labels": [],
            "assigned_agent_id": agent["id"],
            "created_by": str(owner),
            "created_at": "2026-01-01T00:00:00+00:00",
            "updated_at": "2026-01-01T00:00:00+00:00",
            "resolved_at": None,
        },
    )

    async def started() -> list[dict[str, Any]]:
        return (await client.get(f"/api/v1/agents/{agent['id']}/runs", headers=headers)).json()[
            "items"
        ]

    runs = await eventually(started, timeout=20)
    assert runs[0]["trigger"]["issue_id"] == issue_id and runs[0]["trigger"]["kind"] == "issue"
    done = await wait_run(client, headers, runs[0]["id"], "completed", "failed")
    assert done["status"] == "completed"
    # open_pull_request is off by default: no pull request is asked for.
    assert done["result"]["resolved"] is True and "pull_request" not in done["result"]


def assignment(issue_id: str, project: uuid.UUID, agent_id: str, owner: uuid.UUID) -> Any:
    return {
        "id": issue_id,
        "project_id": str(project),
        "title": "Add subtraction",
        "description": "in app/clean.py",
        "status": "open",
        "priority": "medium",
        "labels": [],
        "assigned_agent_id": agent_id,
        "created_by": str(owner),
        "created_at": "2026-01-01T00:00:00+00:00",
        "updated_at": "2026-01-01T00:00:00+00:00",
        "resolved_at": None,
    }


async def test_an_agent_set_to_open_pull_requests_asks_for_one_and_records_its_outcome(
    client: Any,
    tokens: TokenFactory,
    projects: Any,
    publish: Any,
    captured: list[dict[str, Any]],
    planted: Path,
    provider: Any,
) -> None:
    from .gitrepo import RESOLVER_SCRIPT

    provider.reset(RESOLVER_SCRIPT)
    owner = uuid.uuid4()
    headers = tokens.headers(owner)
    project = await projects.create(owner, f"file://{planted}")
    body = {
        "project_id": str(project),
        "name": "fixer",
        "type": "issue_resolver",
        "config": {"open_pull_request": True},
    }
    agent = (await client.post("/api/v1/agents", json=body, headers=headers)).json()
    issue_id = str(uuid.uuid4())
    await publish("issues.issue.assigned", assignment(issue_id, project, agent["id"], owner))

    async def completed() -> dict[str, Any] | None:
        return next(
            (
                e
                for e in captured
                if e["type"] == "agents.run.completed"
                and e["data"]["trigger"].get("issue_id") == issue_id
            ),
            None,
        )

    event = await eventually(completed, timeout=60, interval=0.2)
    run_id = event["data"]["run_id"]
    # What the issues service opens the pull request from (PullRequestRequest).
    request = event["data"]["result"]["pull_request"]
    assert request["status"] == "requested"
    assert request["branch"].startswith(f"agent/issue-{issue_id.replace('-', '')[:8]}-")
    assert request["base_ref"] == "main" and len(request["base_commit"]) == 40
    assert request["title"] == "Resolve: Add subtraction"
    assert "def sub(" in request["files"]["app/clean.py"]
    assert "fails before, passes after" in request["body"]

    await publish(
        "issues.resolution.delivered",
        {
            "run_id": run_id,
            "project_id": str(project),
            "issue_id": issue_id,
            "pull_request_id": str(uuid.uuid4()),
            "number": 17,
            "url": "https://github.com/acme/widgets/pull/17",
            "branch": request["branch"],
        },
    )

    async def opened() -> dict[str, Any] | None:
        run = (await client.get(f"/api/v1/agents/runs/{run_id}", headers=headers)).json()
        found: dict[str, Any] = run["result"]["pull_request"]
        return found if found["status"] == "opened" else None

    recorded = await eventually(opened, timeout=10)
    assert (recorded["number"], recorded["url"]) == (17, "https://github.com/acme/widgets/pull/17")
    assert recorded["files"] == request["files"]  # the patch stays with the run

    await publish(
        "issues.resolution.delivery_failed",
        {
            "run_id": run_id,
            "project_id": str(project),
            "issue_id": issue_id,
            "branch": request["branch"],
            "error": "GitHub answered 422 to POST /repos/acme/widgets/git/refs: "
            "Reference already exists",
            "github_status": 422,
        },
    )

    async def failed() -> dict[str, Any] | None:
        run = (await client.get(f"/api/v1/agents/runs/{run_id}", headers=headers)).json()
        found: dict[str, Any] = run["result"]["pull_request"]
        return found if found["status"] == "failed" else None

    recorded = await eventually(failed, timeout=10)
    assert recorded["github_status"] == 422 and "Reference already exists" in recorded["error"]
    assert recorded["number"] is None and recorded["files"] == request["files"]


async def test_member_added_by_event_gains_access(
    client: Any, tokens: TokenFactory, projects: Any, publish: Any, planted: Path
) -> None:
    owner, newcomer = uuid.uuid4(), uuid.uuid4()
    project = await projects.create(owner, f"file://{planted}")
    body = {"project_id": str(project), "name": "analyzer", "type": "code_analyzer"}
    agent = (await client.post("/api/v1/agents", json=body, headers=tokens.headers(owner))).json()
    url = f"/api/v1/agents/{agent['id']}"
    assert (await client.get(url, headers=tokens.headers(newcomer))).status_code == 404
    await publish(
        "projects.member.added",
        {"project_id": str(project), "user_id": str(newcomer), "role": "viewer"},
    )

    async def visible() -> bool:
        return (await client.get(url, headers=tokens.headers(newcomer))).status_code == 200

    await eventually(visible, timeout=15)


async def test_older_project_snapshot_is_ignored(
    projects: Any, publish: Any, planted: Path, engine: Any
) -> None:
    import sqlalchemy as sa

    owner = uuid.uuid4()
    project = await projects.create(
        owner, f"file://{planted}", updated_at="2026-06-01T00:00:00+00:00"
    )
    stale = {
        "id": str(project),
        "owner_id": str(owner),
        "repository_url": "https://github.com/a/old",
        "default_branch": "main",
        "enabled": True,
        "members": [],
        "settings": {},
        "updated_at": "2026-01-01T00:00:00+00:00",
    }
    fresh = {
        **stale,
        "repository_url": "https://github.com/a/new",
        "updated_at": "2026-07-01T00:00:00+00:00",
    }
    await publish("projects.project.updated", fresh)
    stale_id = await publish("projects.project.updated", stale)

    async def handled() -> bool:
        async with engine.connect() as conn:
            row = await conn.execute(
                sa.text("SELECT 1 FROM agents.event_inbox WHERE event_id=:id"), {"id": stale_id}
            )
            return row.first() is not None

    await eventually(handled, timeout=15)
    async with engine.connect() as conn:
        row = await conn.execute(
            sa.text("SELECT repository_url FROM agents.projects WHERE id=:id"), {"id": project}
        )
        assert row.scalar() == "https://github.com/a/new"


async def test_runs_started_by_events_wait_for_the_projects_concurrency_cap(
    client: Any,
    tokens: TokenFactory,
    projects: Any,
    publish: Any,
    planted: Path,
    provider: Any,
    engine: Any,
    settings: Any,
) -> None:
    import asyncio
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import AsyncSession

    from swe_agents.models import Run

    from .gitrepo import RESOLVER_SCRIPT

    provider.reset(RESOLVER_SCRIPT)
    owner = uuid.uuid4()
    headers = tokens.headers(owner)
    project = await projects.create(owner, f"file://{planted}")
    body = {"project_id": str(project), "name": "capped", "type": "code_analyzer"}
    analyzer = (await client.post("/api/v1/agents", json=body, headers=headers)).json()
    first = (
        await client.post(f"/api/v1/agents/{analyzer['id']}/start", json={}, headers=headers)
    ).json()
    template_id = (await wait_run(client, headers, first["id"], "completed", "failed"))["id"]
    # Fill the project's cap with runs another (live) worker is executing.
    busy = []
    async with AsyncSession(engine) as session, session.begin():
        template = await session.get(Run, uuid.UUID(template_id))
        columns = {c.key: getattr(template, c.key) for c in Run.__table__.columns}
        for _ in range(settings.max_active_runs_per_project):
            run_id = uuid.uuid4()
            busy.append(run_id)
            lease = datetime.now(UTC) + timedelta(hours=1)
            session.add(
                Run(
                    **{
                        **columns,
                        "id": run_id,
                        "status": "running",
                        "worker_id": "elsewhere",
                        "lease_expires_at": lease,
                        "finished_at": None,
                    }
                )
            )
    body = {"project_id": str(project), "name": "fixer", "type": "issue_resolver"}
    fixer = (await client.post("/api/v1/agents", json=body, headers=headers)).json()
    issue = {
        "id": str(uuid.uuid4()),
        "project_id": str(project),
        "title": "Add subtraction",
        "description": "in app/clean.py",
        "status": "open",
        "priority": "medium",
        "labels": [],
        "assigned_agent_id": fixer["id"],
        "created_by": str(owner),
        "created_at": "2026-01-01T00:00:00+00:00",
        "updated_at": "2026-01-01T00:00:00+00:00",
        "resolved_at": None,
    }
    await publish("issues.issue.assigned", issue)

    async def queued() -> list[dict[str, Any]]:
        url = f"/api/v1/agents/{fixer['id']}/runs"
        return (await client.get(url, headers=headers)).json()["items"]

    waiting = (await eventually(queued, timeout=20))[0]
    # Observed for a few worker cycles (each requeue waits 1 s): it must not start.
    for _ in range(15):
        run = (await client.get(f"/api/v1/agents/runs/{waiting['id']}", headers=headers)).json()
        assert run["status"] == "pending"
        await asyncio.sleep(0.2)
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(sa.update(Run).where(Run.id.in_(busy)).values(status="completed"))
    done = await wait_run(client, headers, waiting["id"], "completed", "failed")
    assert done["status"] == "completed"
