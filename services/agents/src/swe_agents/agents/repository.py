"""Queries of agents, runs, run logs and the projects read model."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer, with_expression

from swe_agents.models import Agent, Project, Run, RunDiff, RunLog, RunNotification, RunSource
from swe_common import projects_read_model as read_model
from swe_common.pagination import Listing, Page, PageParams
from swe_common.security import Principal

ACTIVE = ("pending", "running")


def visible_project_ids(principal: Principal) -> sa.Select[Any]:
    """Ids of the projects the caller may see (owner or member); admins see all."""
    return read_model.visible_project_ids(
        Project, None if principal.is_admin else principal.subject
    )


async def get_project(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    project = await read_model.get(session, Project, project_id)
    return None if project is None or project.deleted_at is not None else project


async def get_agent(session: AsyncSession, agent_id: uuid.UUID) -> Agent | None:
    return await session.get(Agent, agent_id)


async def read_agent(
    session: AsyncSession, agent_id: uuid.UUID
) -> tuple[dict[str, Any], read_model.ProjectAccess | None] | None:
    """The agent's row (a dict) and its project's access columns, in one round trip, no ORM
    (a read)."""
    return await read_model.read_with_project(session, Agent, Project, agent_id)


def agents_query(
    principal: Principal,
    *,
    project_id: uuid.UUID | None,
    type_: str | None,
    status: str | None,
) -> sa.Select[Any]:
    """``Agent`` objects the principal may see (a page of them: ``agents_page``)."""
    statement = sa.select(Agent).where(Agent.project_id.in_(visible_project_ids(principal)))
    if project_id is not None:
        statement = statement.where(Agent.project_id == project_id)
    if type_ is not None:
        statement = statement.where(Agent.type == type_)
    if status is not None:
        statement = statement.where(Agent.status == status)
    return statement


AGENT_SORT = {"name": Agent.name, "created_at": Agent.created_at, "type": Agent.type}


def _listed_agents(shape: Any) -> sa.Select[Any]:
    """``agents_query``'s filters on the table's columns (a page is read without the ORM), the
    values left to bind: ``shape`` is ``(visibility, filter names...)``."""
    visible, *used = shape
    statement = sa.select(Agent.__table__).where(
        Agent.project_id.in_(read_model.visible_ids_of(Project, visible))
    )
    if "project_id" in used:
        statement = statement.where(Agent.project_id == sa.bindparam("project_id"))
    if "type" in used:
        statement = statement.where(Agent.type == sa.bindparam("type"))
    if "status" in used:
        statement = statement.where(Agent.status == sa.bindparam("status"))
    return statement


# A page of agents, its statements built once per filter shape (see ``Listing``).
AGENTS = Listing(_listed_agents, allowed_sort=AGENT_SORT, default_sort=[Agent.created_at, Agent.id])


async def agents_page(
    session: AsyncSession,
    principal: Principal,
    params: PageParams,
    *,
    project_id: uuid.UUID | None,
    type_: str | None,
    status: str | None,
) -> Page[Any]:
    """The agents ``agents_query`` selects, a page of their rows (no ORM), as dicts."""
    visible, values = read_model.visibility(None if principal.is_admin else principal.subject)
    for name, value in (("project_id", project_id), ("type", type_), ("status", status)):
        if value is not None:
            values[name] = value
    shape = (visible, *(name for name in ("project_id", "type", "status") if name in values))
    return await AGENTS.page(session, shape, values, params)


async def name_taken(
    session: AsyncSession, project_id: uuid.UUID, name: str, exclude: uuid.UUID | None
) -> bool:
    statement = sa.select(Agent.id).where(Agent.project_id == project_id, Agent.name == name)
    if exclude is not None:
        statement = statement.where(Agent.id != exclude)
    return (await session.scalar(statement)) is not None


async def active_runs_of_project(session: AsyncSession, project_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            sa.select(sa.func.count()).where(Run.project_id == project_id, Run.status.in_(ACTIVE))
        )
        or 0
    )


async def running_runs_of_project(session: AsyncSession, project_id: uuid.UUID) -> int:
    """Runs of the project a live worker is executing (an expired lease is a lost worker)."""
    return int(
        await session.scalar(
            sa.select(sa.func.count()).where(
                Run.project_id == project_id,
                Run.status == "running",
                Run.lease_expires_at >= sa.func.now(),
            )
        )
        or 0
    )


async def active_runs_of_agent(session: AsyncSession, agent_id: uuid.UUID) -> list[Run]:
    statement = (
        sa.select(Run).where(Run.agent_id == agent_id, Run.status.in_(ACTIVE)).with_for_update()
    )
    return list((await session.scalars(statement)).all())


async def lock_project(session: AsyncSession, project_id: uuid.UUID) -> None:
    """Serialise run admission per project (the concurrency cap) for this transaction."""
    await session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(str(project_id))))
    )


async def get_run(session: AsyncSession, run_id: uuid.UUID, *, lock: bool = False) -> Run | None:
    statement = sa.select(Run).where(Run.id == run_id)
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


def project_runs_query(
    project_id: uuid.UUID, *, status: str | None, agent_id: uuid.UUID | None
) -> sa.Select[Any]:
    """A project's runs for a list: without their result documents (a large analysis holds
    thousands of findings), with the score and the agent's name."""
    agent_name = sa.select(Agent.name).where(Agent.id == Run.agent_id).scalar_subquery()
    statement = (
        sa.select(Run)
        .where(Run.project_id == project_id)
        .options(
            defer(Run.result),
            with_expression(Run.score, Run.result["quality_score"].as_float()),
            with_expression(Run.agent_name, agent_name),
        )
    )
    if status is not None:
        statement = statement.where(Run.status == status)
    if agent_id is not None:
        statement = statement.where(Run.agent_id == agent_id)
    return statement


def runs_query(agent_id: uuid.UUID, status: str | None) -> sa.Select[Any]:
    statement = sa.select(Run).where(Run.agent_id == agent_id)
    return statement.where(Run.status == status) if status else statement


async def logs_since(
    session: AsyncSession, run_id: uuid.UUID, since: int, limit: int
) -> list[RunLog]:
    statement = (
        sa.select(RunLog)
        .where(RunLog.run_id == run_id, RunLog.seq > since)
        .order_by(RunLog.seq)
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def last_log_seq(session: AsyncSession, run_id: uuid.UUID) -> int:
    return int(
        await session.scalar(sa.select(sa.func.max(RunLog.seq)).where(RunLog.run_id == run_id)) or 0
    )


async def get_diff(session: AsyncSession, run_id: uuid.UUID) -> RunDiff | None:
    return await session.get(RunDiff, run_id)


def add_diff(session: AsyncSession, diff: RunDiff) -> None:
    session.add(diff)


async def last_review_head(
    session: AsyncSession, agent_id: uuid.UUID, pull_request_key: str, before: uuid.UUID
) -> str | None:
    """The head commit of the last completed review of the same pull request."""
    statement = (
        sa.select(Run.result["head_sha"].astext)
        .where(
            Run.agent_id == agent_id,
            Run.status == "completed",
            Run.id != before,
            Run.trigger["pull_request_key"].astext == pull_request_key,
        )
        .order_by(Run.finished_at.desc())
        .limit(1)
    )
    return await session.scalar(statement)


async def claim_run(
    session: AsyncSession, run_id: uuid.UUID, worker_id: str, lease_seconds: float
) -> Run | None:
    """Take a pending run, or a running one whose lease expired (its worker died)."""
    now = datetime.now(UTC)
    statement = (
        sa.update(Run)
        .where(
            Run.id == run_id,
            Run.cancel_requested.is_(False),
            sa.or_(
                Run.status == "pending",
                sa.and_(Run.status == "running", Run.lease_expires_at < now),
            ),
        )
        .values(
            status="running",
            worker_id=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=Run.attempts + 1,
            started_at=sa.func.coalesce(Run.started_at, now),
        )
        .returning(Run)
    )
    return (await session.scalars(statement)).first()


async def renew_lease(
    session: AsyncSession, run_id: uuid.UUID, worker_id: str, lease_seconds: float
) -> tuple[bool, bool]:
    """(still ours, cancel requested)."""
    row = (
        await session.execute(
            sa.update(Run)
            .where(Run.id == run_id, Run.worker_id == worker_id, Run.status == "running")
            .values(lease_expires_at=datetime.now(UTC) + timedelta(seconds=lease_seconds))
            .returning(Run.cancel_requested)
        )
    ).first()
    return (row is not None, bool(row[0]) if row else False)


async def expired_runs(session: AsyncSession, limit: int = 50) -> list[Run]:
    statement = (
        sa.select(Run)
        .where(Run.status == "running", Run.lease_expires_at < datetime.now(UTC))
        .order_by(Run.lease_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(statement)).all())


async def count_unfinished_runs(session: AsyncSession) -> dict[str, int]:
    """Pending and running runs, by status (the status index answers it)."""
    statement = (
        sa.select(Run.status, sa.func.count())
        .where(Run.status.in_(("pending", "running")))
        .group_by(Run.status)
    )
    counts = {"pending": 0, "running": 0}
    for status, count in (await session.execute(statement)).all():
        counts[status] = int(count)
    return counts


# -- run notifications ----------------------------------------------------------------------

# Serialises the notification inserts until their transactions end, so ids commit in order.
NOTIFICATIONS_LOCK = 0x5E_A9_E7_75  # any constant; the key of this one lock


async def add_notification(
    session: AsyncSession, run: Run, payload: Mapping[str, Any]
) -> RunNotification:
    """Record a run's status change in its transaction. The lock held to the commit makes a
    row with a lower id never commit after one with a higher id, so a reader resuming after
    id N never misses a row (callers insert last in their transactions, after any row lock)."""
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(NOTIFICATIONS_LOCK)))
    row = RunNotification(
        run_id=run.id,
        agent_id=run.agent_id,
        project_id=run.project_id,
        status=run.status,
        payload=payload,
    )
    session.add(row)
    await session.flush()
    return row


async def notifications_after(
    session: AsyncSession, principal: Principal, after: int, limit: int
) -> list[RunNotification]:
    """The changes after ``after`` in the projects the caller may see now, oldest first."""
    statement = (
        sa.select(RunNotification)
        .where(
            RunNotification.id > after,
            RunNotification.project_id.in_(visible_project_ids(principal)),
        )
        .order_by(RunNotification.id)
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def latest_notifications(
    session: AsyncSession, principal: Principal, limit: int
) -> list[RunNotification]:
    """The caller's ``limit`` latest changes, oldest first."""
    statement = (
        sa.select(RunNotification)
        .where(RunNotification.project_id.in_(visible_project_ids(principal)))
        .order_by(RunNotification.id.desc())
        .limit(limit)
    )
    return list(reversed((await session.scalars(statement)).all()))


async def last_notification_id(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.max(RunNotification.id))) or 0)


async def prune_notifications(session: AsyncSession, older_than: datetime) -> int:
    result = await session.execute(
        sa.delete(RunNotification).where(RunNotification.at < older_than)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- source context -------------------------------------------------------------------------


def add_sources(session: AsyncSession, sources: list[RunSource]) -> None:
    session.add_all(sources)


async def source_window(
    session: AsyncSession, run_id: uuid.UUID, path: str, line: int
) -> RunSource | None:
    """The stored window of ``path`` holding ``line``."""
    statement = sa.select(RunSource).where(
        RunSource.run_id == run_id,
        RunSource.path == path,
        RunSource.start_line <= line,
        RunSource.end_line >= line,
    )
    return (await session.scalars(statement.limit(1))).first()
