"""Events the agents service publishes (the catalog) and its outbox."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from swe_agents.models import event_tables
from swe_common.events import EventCatalog, Outbox

catalog = EventCatalog("agents")
outbox = Outbox(event_tables, source="/swe/agents")


class AgentPayload(BaseModel):
    agent_id: str
    project_id: str
    type: str
    name: str


class RunPayload(BaseModel):
    """The run snapshot ``A`` of docs/event-contracts.md."""

    run_id: str
    agent_id: str
    agent_type: str
    project_id: str
    status: str
    exit_reason: str | None = None
    trigger: dict[str, Any] = Field(default_factory=dict)
    queued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: int | None = None


class RunCompletedPayload(RunPayload):
    # The runner's result document; a pr_reviewer's is a ReviewResult (swe_common's
    # events.contracts, under "Shared payload parts" in docs/events.md), which issues and
    # analytics read.
    result: dict[str, Any] = Field(
        default_factory=dict,
        description="The run's result; for a pr_reviewer run a ReviewResult (shared parts)",
    )


class RunFailedPayload(RunPayload):
    error: str = ""


AgentCreated = catalog.define("agents.agent.created", AgentPayload, "An agent was defined")
AgentUpdated = catalog.define("agents.agent.updated", AgentPayload, "An agent was changed")
AgentDeleted = catalog.define("agents.agent.deleted", AgentPayload, "An agent was deleted")
RunQueued = catalog.define(
    "agents.run.queued",
    RunPayload,
    "A run was accepted; the worker queue `agents.runs` is bound to this type, so the run row "
    "and its work message commit together",
)
RunStarted = catalog.define("agents.run.started", RunPayload, "A worker started a run")
RunCompleted = catalog.define(
    "agents.run.completed", RunCompletedPayload, "A run finished; the payload carries its result"
)
RunFailed = catalog.define("agents.run.failed", RunFailedPayload, "A run failed (see exit_reason)")
RunCancelled = catalog.define("agents.run.cancelled", RunPayload, "A run was cancelled")
