"""Events shaped as docs/event-contracts.md describes them, for feeding the analytics service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from swe_common.events import CloudEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def at(hours: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, days=days)


def event(
    type_: str, data: dict[str, Any], time: datetime, subject: str | None = None
) -> CloudEvent:
    return CloudEvent(
        source=f"/swe/{type_.split('.')[0]}",
        type=type_,
        time=time,
        subject=subject,
        data=data,
        partitionkey=subject,
    )


def project(
    project_id: uuid.UUID,
    owner: uuid.UUID,
    *,
    members: list[uuid.UUID] = (),  # type: ignore[assignment]
    updated: datetime = T0,
    verb: str = "created",
) -> CloudEvent:
    data = {
        "id": str(project_id),
        "name": f"project-{str(project_id)[:8]}",
        "description": "",
        "repository_url": "https://github.com/example/repo",
        "default_branch": "main",
        "enabled": True,
        "owner_id": str(owner),
        "settings": {"auto_review": True, "review_level": "standard"},
        "members": [{"user_id": str(m), "role": "viewer"} for m in members],
        "created_at": T0.isoformat(),
        "updated_at": updated.isoformat(),
    }
    return event(f"projects.project.{verb}", data, updated, str(project_id))


def member(project_id: uuid.UUID, user: uuid.UUID, verb: str, time: datetime) -> CloudEvent:
    data = {"project_id": str(project_id), "user_id": str(user), "role": "viewer"}
    return event(f"projects.member.{verb}", data, time, str(project_id))


def issue(
    issue_id: uuid.UUID,
    project_id: uuid.UUID,
    verb: str,
    *,
    created: datetime,
    updated: datetime,
    status: str = "open",
    resolved: datetime | None = None,
    agent: uuid.UUID | None = None,
) -> CloudEvent:
    data: dict[str, Any] = {
        "id": str(issue_id),
        "project_id": str(project_id),
        "title": "Something is broken",
        "description": "",
        "status": status,
        "priority": "medium",
        "labels": [],
        "assigned_agent_id": str(agent) if agent else None,
        "created_by": str(uuid.uuid4()),
        "created_at": created.isoformat(),
        "updated_at": updated.isoformat(),
        "resolved_at": resolved.isoformat() if resolved else None,
    }
    return event(f"issues.issue.{verb}", data, updated, str(issue_id))


def run(
    run_id: uuid.UUID,
    project_id: uuid.UUID,
    agent_id: uuid.UUID,
    verb: str,
    *,
    queued: datetime,
    started: datetime,
    finished: datetime | None = None,
    quality: float | None = None,
    agent_type: str = "pr_reviewer",
    findings: dict[str, int] | None = None,
) -> CloudEvent:
    status = {"started": "running"}.get(verb, verb)
    data: dict[str, Any] = {
        "run_id": str(run_id),
        "agent_id": str(agent_id),
        "agent_type": agent_type,
        "project_id": str(project_id),
        "status": status,
        "exit_reason": None,
        "trigger": {"kind": "api"},
        "queued_at": queued.isoformat(),
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat() if finished else None,
        "duration_ms": int((finished - started).total_seconds() * 1000) if finished else None,
    }
    if verb == "completed":
        data["result"] = {
            "summary": "ok",
            "quality_score": quality,
            "findings_by_severity": findings or {},
        }
    if verb == "failed":
        data["error"] = "boom"
    return event(f"agents.run.{verb}", data, finished or started, str(run_id))


def review_requested(review_id: uuid.UUID, project_id: uuid.UUID, time: datetime) -> CloudEvent:
    data = {
        "review_id": str(review_id),
        "pull_request_id": str(uuid.uuid4()),
        "project_id": str(project_id),
        "repository_url": "https://github.com/example/repo",
        "number": 7,
        "base_ref": "main",
        "head_ref": "feature",
        "base_sha": "a" * 40,
        "head_sha": "b" * 40,
        "level": "standard",
        "requested_by": str(uuid.uuid4()),
    }
    return event("issues.pr.review_requested", data, time, str(review_id))


def reviewed(
    review_id: uuid.UUID, project_id: uuid.UUID, time: datetime, score: float
) -> CloudEvent:
    data = {
        "review_id": str(review_id),
        "pull_request_id": str(uuid.uuid4()),
        "project_id": str(project_id),
        "approval": "approve",
        "quality_score": score,
        "comment_count": 2,
    }
    return event("issues.pr.reviewed", data, time, str(review_id))


def agent_created(agent_id: uuid.UUID, project_id: uuid.UUID) -> CloudEvent:
    data = {
        "agent_id": str(agent_id),
        "project_id": str(project_id),
        "type": "pr_reviewer",
        "name": "reviewer",
    }
    return event("agents.agent.created", data, T0, str(agent_id))


def project_history(project_id: uuid.UUID, owner: uuid.UUID) -> list[CloudEvent]:
    """A small known history: 3 issues (2 resolved after 2 h and 4 h), 3 runs (2 completed with
    quality 0.6 then 0.9, reporting 2 high + 3 low and 1 critical + 1 high findings; 1 failed)
    and 1 review turned around in 30 minutes."""
    agent = uuid.uuid4()
    i1, i2, i3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    r1, r2, r3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    review = uuid.uuid4()
    return [
        project(project_id, owner),
        agent_created(agent, project_id),
        issue(i1, project_id, "created", created=at(1), updated=at(1)),
        issue(i1, project_id, "assigned", created=at(1), updated=at(1.5), agent=agent),
        issue(
            i1,
            project_id,
            "resolved",
            created=at(1),
            updated=at(3),
            status="resolved",
            resolved=at(3),
            agent=agent,
        ),
        issue(i2, project_id, "created", created=at(2), updated=at(2)),
        issue(
            i2,
            project_id,
            "resolved",
            created=at(2),
            updated=at(6),
            status="resolved",
            resolved=at(6),
        ),
        issue(i3, project_id, "created", created=at(days=1), updated=at(days=1)),
        run(r1, project_id, agent, "started", queued=at(1), started=at(1.25)),
        run(
            r1,
            project_id,
            agent,
            "completed",
            queued=at(1),
            started=at(1.25),
            finished=at(1.5),
            quality=0.6,
            findings={"high": 2, "low": 3, "info": 0},
        ),
        run(r2, project_id, agent, "started", queued=at(2), started=at(2)),
        run(r2, project_id, agent, "failed", queued=at(2), started=at(2), finished=at(2.25)),
        run(r3, project_id, agent, "started", queued=at(days=1), started=at(days=1)),
        run(
            r3,
            project_id,
            agent,
            "completed",
            queued=at(days=1),
            started=at(days=1),
            finished=at(0.5, days=1),
            quality=0.9,
            findings={"critical": 1, "high": 1},
        ),
        review_requested(review, project_id, at(4)),
        reviewed(review, project_id, at(4.5), 0.8),
    ]
