"""Events agents consumes: the projects read model, runs started by issues events, and what
became of an issue_resolver run's draft pull request (recorded in the run's result)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import structlog
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from swe_agents import live
from swe_agents.agents import repository, service
from swe_agents.agents.schemas import CONFIG_MODELS
from swe_agents.events import AgentCreated, outbox
from swe_agents.models import Agent, Project
from swe_agents.settings import Settings
from swe_common import projects_read_model as read_model
from swe_common.events import CloudEvent, Handler, Subscription
from swe_common.projects_read_model import (
    MemberAdded,
    MemberRemoved,
    ProjectDeleted,
    ProjectSnapshot,
)
from swe_common.security import Principal

log = structlog.stdlib.get_logger(__name__)
# Event handlers act for the platform, not for a user: they see every project.
SYSTEM = Principal(subject="system", roles=frozenset({"admin"}))
# The service's Redis client, read when a handler runs (it exists once the app has started).
RedisSource = Callable[[], Redis | None]
REVIEW_SETTINGS = ("min_severity", "max_comments", "include", "exclude", "suppressed_fingerprints")


async def project_snapshot(session: AsyncSession, event: CloudEvent) -> None:
    await service.apply_project_snapshot(session, ProjectSnapshot.model_validate(event.data))


async def project_deleted(session: AsyncSession, event: CloudEvent) -> None:
    deleted = ProjectDeleted.model_validate(event.data)
    await read_model.mark_deleted(session, Project, deleted.id, deleted.owner_id)


async def member_added(session: AsyncSession, event: CloudEvent) -> None:
    await read_model.add_member(session, Project, MemberAdded.model_validate(event.data))


async def member_removed(session: AsyncSession, event: CloudEvent) -> None:
    await read_model.remove_member(session, Project, MemberRemoved.model_validate(event.data))


def issue_handler(settings: Settings) -> Handler:
    async def issue_assigned(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        if not data.get("assigned_agent_id"):
            return
        agent = await repository.get_agent(session, uuid.UUID(str(data["assigned_agent_id"])))
        project = await repository.get_project(session, uuid.UUID(str(data["project_id"])))
        if (
            agent is None
            or project is None
            or agent.project_id != project.id
            or agent.status != "active"
        ):
            log.info(
                "assignment_ignored",
                issue_id=data.get("id"),
                agent_id=data.get("assigned_agent_id"),
            )
            return
        issue = {
            "id": str(data["id"]),
            "title": data.get("title") or "(untitled)",
            "description": data.get("description") or "",
        }
        trigger: service.Trigger = {
            "kind": "issue",
            "issue_id": issue["id"],
            "issue": issue,
            "ref": project.default_branch,
        }
        await service.enqueue_run(session, settings, agent, project, trigger)

    return issue_assigned


def review_handler(settings: Settings) -> Handler:
    async def review_requested(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        project = await repository.get_project(session, uuid.UUID(str(data["project_id"])))
        if project is None:
            log.info("review_ignored_unknown_project", project_id=data.get("project_id"))
            return
        agent = await _reviewer_of(session, project)
        pr = {k: data.get(k) for k in ("base_ref", "head_ref", "base_sha", "head_sha", "number")}
        pull_request_id = str(data["pull_request_id"])
        pr["id"] = pull_request_id
        trigger: service.Trigger = {
            "kind": "pull_request",
            "pull_request_id": pull_request_id,
            "pull_request_key": pull_request_id,
            "review_id": data.get("review_id"),
            "pull_request": {k: v for k, v in pr.items() if v},
            "level": data.get("level") or agent.config.get("level", "standard"),
            "ref": data.get("head_ref"),
        }
        await service.enqueue_run(session, settings, agent, project, trigger)

    return review_requested


async def _reviewer_of(session: AsyncSession, project: Project) -> Agent:
    """The project's first active pr_reviewer, created with defaults when it has none."""
    statement = repository.agents_query(
        SYSTEM, project_id=project.id, type_="pr_reviewer", status="active"
    )
    existing: Agent | None = (
        await session.scalars(statement.order_by(Agent.created_at).limit(1))
    ).first()
    if existing is not None:
        return existing
    agent = Agent(
        id=uuid.uuid4(),
        project_id=project.id,
        name="pr-reviewer",
        type="pr_reviewer",
        description="Created on demand for review requests",
        config=_reviewer_defaults(project),
    )
    session.add(agent)
    await session.flush()
    await outbox.publish(session, AgentCreated, service.agent_payload(agent), subject=str(agent.id))
    return agent


def _reviewer_defaults(project: Project) -> dict[str, Any]:
    """Defaults, with the project's own noise settings when they are valid (as JSON, the form
    ``Agent.config`` stores: see ``service.validate_config``)."""
    model = CONFIG_MODELS["pr_reviewer"]
    wanted = {k: v for k, v in (project.settings or {}).items() if k in REVIEW_SETTINGS}
    try:
        return model.model_validate(wanted).model_dump(mode="json", exclude_none=True)
    except ValidationError:
        log.warning("project_review_settings_invalid", project_id=str(project.id))
        return model().model_dump(mode="json", exclude_none=True)


def delivery_handlers(settings: Settings, redis: RedisSource) -> dict[str, Handler]:
    """What became of an issue_resolver run's draft pull request, recorded in the run and told
    to its watchers (a notification of the ``delivery`` kind, announced after the commit)."""

    async def delivered(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        outcome: service.DeliveryOutcome = {
            "status": "opened",
            "number": data.get("number"),
            "url": data.get("url"),
            "pull_request_id": data.get("pull_request_id"),
            "error": None,
            "github_status": None,
        }
        await record(session, data, outcome)

    async def delivery_failed(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data
        outcome: service.DeliveryOutcome = {
            "status": "failed",
            "number": None,
            "url": None,
            "error": str(data.get("error") or "the pull request was not opened")[:1000],
            "github_status": data.get("github_status"),
        }
        await record(session, data, outcome)

    async def record(
        session: AsyncSession, data: dict[str, Any], outcome: service.DeliveryOutcome
    ) -> None:
        try:
            run_id = uuid.UUID(str(data.get("run_id")))
        except ValueError:
            log.warning("delivery_for_unreadable_run", run_id=data.get("run_id"))
            return
        payload = await service.record_delivery(session, run_id, outcome)
        if payload is None:
            log.info("delivery_not_recorded", run_id=str(run_id), status=outcome["status"])
            return
        live.announce_notification(session, redis(), settings.redis_prefix, payload)

    return {
        "issues.resolution.delivered": delivered,
        "issues.resolution.delivery_failed": delivery_failed,
    }


def subscription(settings: Settings, redis: RedisSource = lambda: None) -> Subscription:
    """``redis``: the service's Redis client once it runs (the notifications go through it)."""
    return Subscription(
        queue=settings.events_queue,
        handlers={
            "projects.project.created": project_snapshot,
            "projects.project.updated": project_snapshot,
            "projects.project.deleted": project_deleted,
            "projects.member.added": member_added,
            "projects.member.removed": member_removed,
            "issues.issue.assigned": issue_handler(settings),
            "issues.pr.review_requested": review_handler(settings),
            **delivery_handlers(settings, redis),
        },
    )
