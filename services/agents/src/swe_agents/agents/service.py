"""Agents and runs: who may do what, admission of runs, and every run state transition.

Each transition writes its event to the outbox in the caller's transaction, so the state and
the event commit together; the queued event doubles as the worker's work message.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NotRequired, Required, TypedDict, cast

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from swe_agents import metrics
from swe_agents.agents import repository
from swe_agents.agents.schemas import (
    CONFIG_MODELS,
    AgentCreate,
    AgentUpdate,
    QueueOut,
    RunDetailOut,
    RunDiffOut,
    RunSourceOut,
    RunStart,
    SourceLineOut,
)
from swe_agents.analysis.snippets import Window
from swe_agents.events import (
    AgentCreated,
    AgentDeleted,
    AgentPayload,
    AgentUpdated,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunQueued,
    RunStarted,
    outbox,
)
from swe_agents.models import Agent, Project, Run, RunDiff, RunSource
from swe_agents.settings import Settings
from swe_common import permissions as perms
from swe_common import projects_read_model as read_model
from swe_common.errors import Conflict, Forbidden, NotFound, TooManyRequests, Unprocessable
from swe_common.permissions import Permission
from swe_common.projects_read_model import LOOKUPS as READ_MODEL_LOOKUPS
from swe_common.projects_read_model import ProjectSnapshot
from swe_common.security import Principal

if TYPE_CHECKING:  # the runners' documents, named here without importing the runners
    from swe_agents.analysis.diffs import DiffDocument
    from swe_agents.analysis.scoring import Quality
    from swe_agents.runners.llm import CallRecord

EXIT_REASONS = (
    "timeout",
    "budget_exceeded",
    "cancelled",
    "provider_unavailable",
    "repository_unreachable",
    "worker_lost",
    "sandbox_unavailable",
    "dependency_install_failed",
    "stuck",
    "error",
)
TERMINAL = ("completed", "failed", "cancelled")


# -- the documents a run is told and stored by -----------------------------------------------


class RunSnapshot(TypedDict):
    """A run as its events, notifications and watchers see it (``run_payload``; the events'
    ``RunPayload`` validates it)."""

    run_id: str
    agent_id: str
    agent_type: str
    project_id: str
    status: str
    exit_reason: str | None
    trigger: dict[str, Any]  # the run's Trigger, as stored with it
    queued_at: str | None
    started_at: str | None
    finished_at: str | None
    duration_ms: int | None


class Trigger(TypedDict, total=False):
    """What started a run and on what (stored with it, read by its runner)."""

    kind: Required[str]  # api | issue | pull_request
    ref: str | None  # None: the project's default branch
    # A review: the pull request (PullRequestTarget's JSON: base_ref, head_ref, the shas,
    # number, id), its key for "the previous review", the review level.
    pull_request: dict[str, Any]
    pull_request_id: str
    pull_request_key: str
    review_id: str | None
    level: str
    # A resolution: the issue (IssueTarget's JSON: id, title, description).
    issue: dict[str, Any]
    issue_id: str


class DeliveryOutcome(TypedDict):
    """What the issues service says became of a draft pull request request."""

    status: str  # opened | failed
    number: int | None
    url: str | None
    error: str | None
    github_status: int | None
    pull_request_id: NotRequired[str | None]


class DeliveryNotice(TypedDict):
    """What a delivery notification tells the console (the patch stays in the run)."""

    status: str | None
    number: int | None
    url: str | None
    error: str | None
    github_status: int | None


class RunNotice(RunSnapshot):
    """A notification of a run (``record_status``): its snapshot and its agent's name."""

    agent_name: str | None


class DeliveryNotification(RunNotice):
    """A notification of what became of a run's draft pull request (not a status change)."""

    kind: str  # delivery
    delivery: DeliveryNotice


class TrajectoryTotals(TypedDict):
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost: float
    latency_ms: int


class Trajectory(TypedDict):
    run_id: str
    agent_type: str
    status: str
    exit_reason: str | None
    totals: TrajectoryTotals
    calls: list[CallRecord]


class EventComment(TypedDict):
    """A review comment as ``agents.run.completed`` carries it (its result keeps the rest)."""

    path: str | None
    line: int | None
    severity: str | None
    category: str | None
    rule: str | None
    message: str | None
    suggestion: str | None
    new: bool | None


class EventResult(TypedDict, total=False):
    """A run's result as ``agents.run.completed`` carries it: the keys of these the runner's
    result has (``event_result``)."""

    summary: str | None
    quality_score: float | None
    approval: str | None
    findings_by_severity: dict[str, int] | None
    quality: Quality
    comment_count: int
    head_sha: str
    base_sha: str
    level: str
    branch: str | None
    diff_stats: dict[str, int]
    passed: bool
    # An issue_resolver's request for a draft pull request: the JSON of the PullRequestRequest
    # contract (swe_common.events.contracts), which the issues service opens from this event.
    pull_request: dict[str, Any]
    comments: list[EventComment]


# -- access ---------------------------------------------------------------------------------


def member_role(project: Project, principal: Principal) -> str | None:
    return read_model.role_in(project, principal)


def can_read(project: Project, principal: Principal) -> bool:
    return member_role(project, principal) is not None


def require_write(
    project: Project, principal: Principal, permission: Permission, action: str
) -> None:
    """The caller's role grants ``permission`` (``agents.write`` for agent definitions,
    ``runs.start`` for starting and cancelling runs) and it is a writer in the project."""
    role = member_role(project, principal)
    if role is None:
        raise NotFound("No such agent or project")
    perms.require(principal, permission, action)
    if role not in perms.WRITER_RELATIONS:
        raise Forbidden(f"Only the project's owner or maintainers may {action}")


ProjectLookup = Callable[[uuid.UUID], Awaitable[ProjectSnapshot | None]]


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


async def apply_project_snapshot(
    session: AsyncSession, snapshot: ProjectSnapshot
) -> Project | None:
    """Upsert the read model from a projects snapshot (event or fallback), unless older; None
    when the project is deleted."""
    return await read_model.upsert_snapshot(session, Project, snapshot)


async def visible_project(
    session: AsyncSession,
    principal: Principal,
    project_id: uuid.UUID,
    lookup: ProjectLookup | None = None,
) -> Project:
    """The project when the caller may see it. With ``lookup``, a project the read model does
    not know yet (its event still in flight) is asked of the projects service once."""
    project = await repository.get_project(session, project_id)
    if project is None and lookup is not None:
        READ_MODEL_LOOKUPS.miss()
        snapshot = await lookup(project_id)
        if snapshot is not None:
            project = await apply_project_snapshot(session, snapshot)
            await session.flush()
    elif project is not None:
        READ_MODEL_LOOKUPS.hit()
    if project is None or project.deleted_at is not None or not can_read(project, principal):
        raise NotFound(f"Project {project_id} not found")
    return project


async def visible_agent(
    session: AsyncSession, principal: Principal, agent_id: uuid.UUID
) -> tuple[Agent, Project]:
    agent = await repository.get_agent(session, agent_id)
    project = await repository.get_project(session, agent.project_id) if agent else None
    if agent is None or project is None or not can_read(project, principal):
        raise NotFound(f"Agent {agent_id} not found")
    perms.require(principal, Permission.AGENTS_READ, "read agents")
    return agent, project


async def read_agent(
    session: AsyncSession, principal: Principal, agent_id: uuid.UUID
) -> dict[str, Any]:
    """``visible_agent`` for a read: the agent's row (a dict of its columns, for ``AgentOut``),
    its project read along in the same statement, no ORM object."""
    found = await repository.read_agent(session, agent_id)
    project = found[1] if found is not None else None
    if (
        found is None
        or project is None
        or project.deleted_at is not None
        or read_model.role_in(project, principal) is None
    ):
        raise NotFound(f"Agent {agent_id} not found")
    perms.require(principal, Permission.AGENTS_READ, "read agents")
    return found[0]


async def visible_run(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID
) -> tuple[Run, Project]:
    run = await repository.get_run(session, run_id)
    project = await repository.get_project(session, run.project_id) if run else None
    if run is None or project is None or not can_read(project, principal):
        raise NotFound(f"Run {run_id} not found")
    perms.require(principal, Permission.RUNS_READ, "read runs")
    return run, project


async def run_trajectory(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID
) -> Trajectory:
    """Every model call of a finished run (prompt, answer, tokens, cost, latency)."""
    run, _ = await visible_run(session, principal, run_id)
    if run.status not in TERMINAL:
        raise Conflict(f"The run is {run.status}: its model calls stream to its live log")
    calls = (run.result or {}).get("trajectory")
    if calls is None:
        raise NotFound(f"Run {run_id} made no model calls")
    return {
        "run_id": str(run.id),
        "agent_type": run.agent_type,
        "status": run.status,
        "exit_reason": run.exit_reason,
        "totals": {
            "calls": len(calls),
            "prompt_tokens": sum(int(c.get("prompt_tokens") or 0) for c in calls),
            "completion_tokens": sum(int(c.get("completion_tokens") or 0) for c in calls),
            "cost": round(sum(float(c.get("cost") or 0) for c in calls), 6),
            "latency_ms": sum(int(c.get("latency_ms") or 0) for c in calls),
        },
        "calls": calls,
    }


# -- agents -----------------------------------------------------------------------------------


def validate_config(type_: str, config: dict[str, Any]) -> dict[str, Any]:
    """The agent's configuration as its type's model (CONFIG_MODELS) reads it, as JSON: the
    model, and so the keys, depend on the type, and ``Agent.config`` stores it as it is."""
    try:
        model = CONFIG_MODELS[type_].model_validate(config)
    except ValidationError as exc:
        errors = [
            {"field": "config." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors()
        ]
        raise Unprocessable(
            f"Invalid configuration for a {type_} agent: "
            + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]),
            errors=errors,
        ) from None
    return model.model_dump(mode="json", exclude_none=True)


def agent_payload(agent: Agent) -> AgentPayload:
    return AgentPayload(
        agent_id=str(agent.id), project_id=str(agent.project_id), type=agent.type, name=agent.name
    )


async def create_agent(
    session: AsyncSession,
    principal: Principal,
    data: AgentCreate,
    lookup: ProjectLookup | None = None,
) -> Agent:
    project = await visible_project(session, principal, data.project_id, lookup)
    require_write(project, principal, Permission.AGENTS_WRITE, "change agents")
    config = validate_config(data.type, data.config)
    if await repository.name_taken(session, project.id, data.name, None):
        raise Conflict(f"The project already has an agent named {data.name!r}")
    agent = Agent(
        id=uuid.uuid4(),
        project_id=project.id,
        name=data.name,
        type=data.type,
        description=data.description,
        config=config,
        created_by=principal.user_id,
    )
    session.add(agent)
    await session.flush()
    await outbox.publish(session, AgentCreated, agent_payload(agent), subject=str(agent.id))
    return agent


async def update_agent(
    session: AsyncSession, principal: Principal, agent_id: uuid.UUID, data: AgentUpdate
) -> Agent:
    agent, project = await visible_agent(session, principal, agent_id)
    require_write(project, principal, Permission.AGENTS_WRITE, "change agents")
    if data.name is not None and data.name != agent.name:
        if await repository.name_taken(session, project.id, data.name, agent.id):
            raise Conflict(f"The project already has an agent named {data.name!r}")
        agent.name = data.name
    if data.description is not None:
        agent.description = data.description
    if data.status is not None:
        agent.status = data.status
    if data.config is not None:
        agent.config = validate_config(agent.type, data.config)
    agent.updated_at = datetime.now(UTC)
    await session.flush()
    await outbox.publish(session, AgentUpdated, agent_payload(agent), subject=str(agent.id))
    return agent


async def delete_agent(session: AsyncSession, principal: Principal, agent_id: uuid.UUID) -> None:
    agent, project = await visible_agent(session, principal, agent_id)
    require_write(project, principal, Permission.AGENTS_WRITE, "change agents")
    if await repository.active_runs_of_agent(session, agent.id):
        raise Conflict("The agent has pending or running runs; cancel them first")
    payload = agent_payload(agent)
    await session.delete(agent)
    await outbox.publish(session, AgentDeleted, payload, subject=str(agent_id))


# -- runs ---------------------------------------------------------------------------------------


def run_payload(run: Run) -> RunSnapshot:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "run_id": str(run.id),
        "agent_id": str(run.agent_id),
        "agent_type": run.agent_type,
        "project_id": str(run.project_id),
        "status": run.status,
        "exit_reason": run.exit_reason,
        "trigger": run.trigger,
        "queued_at": iso(run.queued_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration_ms": run.duration_ms,
    }


def build_trigger(agent: Agent, request: RunStart, kind: str, project: Project) -> Trigger:
    trigger: Trigger = {"kind": kind}
    if agent.type == "pr_reviewer":
        if request.pull_request is None:
            raise Unprocessable("A pr_reviewer run needs a pull_request (base_ref and head_ref)")
        pr = request.pull_request.model_dump(mode="json", exclude_none=True)
        trigger["pull_request"] = pr
        if pr.get("id"):
            trigger["pull_request_id"] = pr["id"]
        trigger["pull_request_key"] = pr.get("id") or f"{pr['base_ref']}...{pr['head_ref']}"
        trigger["level"] = request.level or agent.config.get("level", "standard")
    elif agent.type == "issue_resolver":
        if request.issue is None:
            raise Unprocessable("An issue_resolver run needs an issue (title and description)")
        trigger["issue"] = request.issue.model_dump(mode="json", exclude_none=True)
        if request.issue.id:
            trigger["issue_id"] = str(request.issue.id)
    trigger["ref"] = request.ref or project.default_branch
    return trigger


async def enqueue_run(
    session: AsyncSession,
    settings: Settings,
    agent: Agent,
    project: Project,
    trigger: Trigger,
    *,
    timeout_seconds: float | None = None,
    created_by: uuid.UUID | None = None,
) -> Run:
    """Write a pending run and its queued event (the work message) in one transaction."""
    timeout = timeout_seconds or agent.config.get("timeout_seconds") or settings.run_timeout_seconds
    run = Run(
        id=uuid.uuid4(),
        agent_id=agent.id,
        project_id=project.id,
        agent_type=agent.type,
        status="pending",
        trigger=trigger,
        config=dict(agent.config),
        timeout_seconds=min(float(timeout), settings.max_run_timeout_seconds),
        created_by=created_by,
        queued_at=datetime.now(UTC),
        attempts=0,
        cancel_requested=False,
    )
    session.add(run)
    await session.flush()
    await outbox.publish(session, RunQueued, run_payload(run), subject=str(run.id))
    await record_status(session, run)
    return run


async def record_status(
    session: AsyncSession, run: Run, delivery: DeliveryNotice | None = None
) -> RunNotice:
    """Note the run's new status (or, with ``delivery``, what became of its pull request)
    for the notification streams, in the transaction that makes it (call it last: it holds the
    notifications' lock until the commit). Returns the payload to announce after the commit
    (``live.announce_run``, ``live.announce_notification``)."""
    agent = await repository.get_agent(session, run.agent_id)
    payload: RunNotice = {**run_payload(run), "agent_name": agent.name if agent else None}
    if delivery is not None:
        payload = DeliveryNotification(**payload, kind="delivery", delivery=delivery)
    await repository.add_notification(session, run, payload)
    return payload


async def start_run(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    agent_id: uuid.UUID,
    request: RunStart,
) -> Run:
    agent, project = await visible_agent(session, principal, agent_id)
    require_write(project, principal, Permission.RUNS_START, "start or cancel runs")
    if agent.status != "active":
        raise Conflict("The agent is disabled")
    if not project.enabled:
        raise Conflict("The project is disabled")
    trigger = build_trigger(agent, request, "api", project)
    await repository.lock_project(session, project.id)
    active = await repository.active_runs_of_project(session, project.id)
    if active >= settings.max_active_runs_per_project:
        raise TooManyRequests(
            f"The project already has {active} active runs (limit "
            f"{settings.max_active_runs_per_project}); retry when one finishes",
            headers={"Retry-After": "10"},
        )
    return await enqueue_run(
        session,
        settings,
        agent,
        project,
        trigger,
        timeout_seconds=request.timeout_seconds,
        created_by=principal.user_id,
    )


async def run_detail(
    session: AsyncSession, settings: Settings, principal: Principal, run_id: uuid.UUID
) -> RunDetailOut:
    """A run the caller may read; a pending one says whether the project's runs take every
    slot (then it starts when one of them ends) or it only waits for a worker."""
    run, _ = await visible_run(session, principal, run_id)
    detail = RunDetailOut.model_validate(run)
    if run.status == "pending":
        running = await repository.running_runs_of_project(session, run.project_id)
        limit = settings.max_active_runs_per_project
        detail.queue = QueueOut(running=running, limit=limit, at_capacity=running >= limit)
    return detail


async def request_cancel(session: AsyncSession, run: Run) -> bool:
    """Cancel a pending run now; flag a running one (True: its worker must be told)."""
    if run.status == "pending":
        await finish(session, run, "cancelled", exit_reason="cancelled")
        return False
    if run.status == "running":
        run.cancel_requested = True
        return True
    return False


async def cancel_run(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID
) -> tuple[Run, bool]:
    run, project = await visible_run(session, principal, run_id)
    require_write(project, principal, Permission.RUNS_START, "start or cancel runs")
    run = await repository.get_run(session, run_id, lock=True) or run
    if run.status in TERMINAL:
        raise Conflict(f"The run has already finished ({run.status})")
    return run, await request_cancel(session, run)


async def cancel_agent_runs(
    session: AsyncSession, principal: Principal, agent_id: uuid.UUID, run_id: uuid.UUID | None
) -> list[tuple[Run, bool]]:
    agent, project = await visible_agent(session, principal, agent_id)
    require_write(project, principal, Permission.RUNS_START, "start or cancel runs")
    if run_id is not None:
        run, _ = await visible_run(session, principal, run_id)
        if run.agent_id != agent.id:
            raise NotFound(f"Run {run_id} not found")
        return [await cancel_run(session, principal, run_id)]
    return [
        (run, await request_cancel(session, run))
        for run in await repository.active_runs_of_agent(session, agent.id)
    ]


async def mark_started(session: AsyncSession, run: Run) -> None:
    await outbox.publish(session, RunStarted, run_payload(run), subject=str(run.id))
    await record_status(session, run)


async def finish(
    session: AsyncSession,
    run: Run,
    status: str,
    *,
    exit_reason: str | None = None,
    result: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> None:
    """Record a run's outcome and its event together."""
    now = datetime.now(UTC)
    run.status = status
    run.exit_reason = exit_reason
    run.finished_at = now
    run.lease_expires_at = None
    run.duration_ms = int((now - run.started_at).total_seconds() * 1000) if run.started_at else 0
    metrics.count_finished(
        session, status, exit_reason, run.duration_ms if run.started_at else None
    )
    if result is not None:
        run.result = dict(result)
    if error is not None:
        run.error = error[:4000]
    await session.flush()
    payload = run_payload(run)
    if status == "completed":
        await outbox.publish(
            session, RunCompleted, {**payload, "result": event_result(run)}, subject=str(run.id)
        )
    elif status == "failed":
        await outbox.publish(
            session, RunFailed, {**payload, "error": run.error or ""}, subject=str(run.id)
        )
    else:
        await outbox.publish(session, RunCancelled, payload, subject=str(run.id))
    await record_status(session, run)


def keep_diff(session: AsyncSession, run: Run, diff: DiffDocument) -> None:
    """Store the diff a review looked at (``diffs.ReviewDiff.to_dict()``) with its run."""
    repository.add_diff(
        session,
        RunDiff(
            run_id=run.id,
            base_sha=diff["base"],
            head_sha=diff["head"],
            truncated=bool(diff["truncated"]),
            files_total=int(diff["files_total"]),
            document={"files": diff["files"], "limits": diff["limits"]},
        ),
    )


def keep_sources(session: AsyncSession, run: Run, windows: list[Window]) -> None:
    """Store the source lines around a run's findings (``snippets.capture``) with the run."""
    repository.add_sources(
        session,
        [
            RunSource(
                run_id=run.id,
                path=w.path,
                start_line=w.start_line,
                end_line=w.end_line,
                lines=w.lines,
                truncated=w.truncated,
            )
            for w in windows
        ],
    )


async def source_context(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID, path: str, line: int
) -> RunSourceOut:
    """The kept lines of ``path`` around ``line`` of a run the caller may read."""
    run, _ = await visible_run(session, principal, run_id)
    window = await repository.source_window(session, run.id, path, line)
    if window is None:
        if run.status not in TERMINAL:
            raise Conflict(f"The run has not finished (status {run.status})")
        raise NotFound(f"Run {run_id} kept no source lines at {path}:{line}")
    return RunSourceOut(
        run_id=run.id,
        path=window.path,
        line=line,
        start_line=window.start_line,
        end_line=window.end_line,
        lines=[
            SourceLineOut(number=n, text=text, truncated=n in window.truncated)
            for n, text in enumerate(window.lines, start=window.start_line)
        ],
    )


async def run_diff(session: AsyncSession, principal: Principal, run_id: uuid.UUID) -> RunDiffOut:
    """The diff a run's review looked at, for those who may read the run."""
    run, _ = await visible_run(session, principal, run_id)
    diff = await repository.get_diff(session, run.id)
    if diff is None:
        if run.status not in TERMINAL:
            raise Conflict(f"The run has not finished (status {run.status})")
        raise NotFound(f"Run {run_id} kept no diff (pull request reviews keep theirs)")
    return RunDiffOut(
        run_id=run.id,
        base_sha=diff.base_sha,
        head_sha=diff.head_sha,
        truncated=diff.truncated,
        files_total=diff.files_total,
        limits=diff.document["limits"],
        files=diff.document["files"],
    )


def event_result(run: Run) -> EventResult:
    """The result as the event contract carries it: summary, score, approval, comments."""
    result = run.result or {}
    keep = (
        "summary",
        "quality_score",
        "approval",
        "findings_by_severity",
        "quality",
        "comment_count",
        "head_sha",
        "base_sha",
        "level",
        "branch",
        "diff_stats",
        "passed",
        # An issue_resolver's request for a draft pull request (PullRequestRequest): the
        # issues service opens it from this event.
        "pull_request",
    )
    # The stored result's own values: those keys are the runner documents' (the analysis
    # report, the ReviewResult, the ResolverResult), typed there.
    out = cast(EventResult, {k: result[k] for k in keep if k in result})
    if "comments" in result:
        out["comments"] = [
            {
                "path": c.get("path"),
                "line": c.get("line"),
                "severity": c.get("severity"),
                "category": c.get("category"),
                "rule": c.get("rule"),
                "message": c.get("message"),
                "suggestion": c.get("suggestion"),
                "new": c.get("new"),
            }
            for c in result["comments"]
        ]
    return out


async def record_delivery(
    session: AsyncSession, run_id: uuid.UUID, outcome: DeliveryOutcome
) -> RunNotice | None:
    """Record what became of a run's draft pull request request (opened: number and URL;
    failed: the error) in its result, and a notification of the ``delivery`` kind for the
    run's watchers. Returns that notification's payload, to announce after the commit; None
    when nothing changed: an unknown run, one that asked for no pull request, or the outcome
    it already holds (a second answer about the same pull request tells nobody anything)."""
    run = await repository.get_run(session, run_id, lock=True)
    if run is None or not isinstance(run.result, dict):
        return None
    request = run.result.get("pull_request")
    if not isinstance(request, dict):
        return None
    recorded: dict[str, Any] = {**request, **outcome}
    if recorded == request:
        return None
    run.result = {**run.result, "pull_request": recorded}
    await session.flush()
    notice: DeliveryNotice = {
        "status": recorded.get("status"),
        "number": recorded.get("number"),
        "url": recorded.get("url"),
        "error": recorded.get("error"),
        "github_status": recorded.get("github_status"),
    }
    return await record_status(session, run, notice)
