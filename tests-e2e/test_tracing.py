"""Tracing end to end: one request through the gateway that assigns an issue to an agent, and
thereby starts its run, is ONE trace across every process it touches.

A stack of its own is started with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at an OTLP receiver
this test serves (``swe_common.testing_otlp``: the wire format a collector takes), so what is
checked is what the services really export. The request carries the caller's ``traceparent``:
the trace is the caller's, continued by the gateway.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import isolated_stack
from e2e_support import PlantedRepo, Stack, User, expect, gateway_client, new_user, wait_for_run

from swe_common.testing_otlp import OtlpReceiver, ReceivedSpan, ancestry, otlp_receiver


@pytest.fixture(scope="module")
async def receiver() -> AsyncIterator[OtlpReceiver]:
    async with otlp_receiver() as served:
        yield served


@pytest.fixture(scope="module")
async def traced(request: pytest.FixtureRequest, receiver: OtlpReceiver) -> AsyncIterator[Stack]:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # ms: spans reach the receiver soon after they end
    }
    stack_cm = isolated_stack(request, extra_env=env)
    # The stack starts in a thread: this loop keeps serving the receiver meanwhile.
    stack = await asyncio.to_thread(stack_cm.__enter__)
    try:
        yield stack
    finally:
        await asyncio.to_thread(stack_cm.__exit__, None, None, None)


def _one(spans: list[ReceivedSpan], service: str | None, name: str) -> ReceivedSpan:
    """The one span of that name (made by that service, unless None)."""
    found = [s for s in spans if s.name == name and service in (None, s.service)]
    assert len(found) == 1, (service, name, sorted({(s.service, s.name) for s in spans}))
    return found[0]


async def test_assigning_an_issue_to_an_agent_is_one_trace_from_gateway_to_the_workers_run(
    traced: Stack, receiver: OtlpReceiver, repo: PlantedRepo
) -> None:
    async with gateway_client(traced) as anonymous:
        user: User = await new_user(traced, anonymous, "tracer")
    http = user.http
    project = expect(
        await http.post("/api/v1/projects", json={"name": "traced", "repository_url": repo.url}),
        201,
    )
    agent = expect(
        await http.post(
            "/api/v1/agents",
            json={
                "project_id": project["id"],
                "name": "analyzer",
                "type": "code_analyzer",
                "config": {"min_severity": "info"},
            },
        ),
        201,
    )
    issue = expect(
        await http.post(
            "/api/v1/issues",
            json={"project_id": project["id"], "title": "Review app/defects.py"},
        ),
        201,
    )

    # The request: the caller starts the trace.
    trace_id = secrets.token_hex(16)
    caller_span = secrets.token_hex(8)
    assigned = expect(
        await http.post(
            f"/api/v1/issues/{issue['id']}/assign",
            json={"agent_id": agent["id"]},
            headers={"traceparent": f"00-{trace_id}-{caller_span}-01"},
        ),
        200,
    )
    assert assigned["assigned_agent_id"] == agent["id"]

    def run_finished(spans: list[ReceivedSpan]) -> bool:
        names = {s.name for s in spans}
        # The run's span, and the event its outcome was published as (the worker's events
        # continue the trace of the request that queued the run).
        return (
            spans[0].trace_id == trace_id
            and {
                "run code_analyzer",
                "publish agents.run.completed",
            }
            <= names
        )

    spans = await receiver.wait_for_trace(run_finished, timeout=180)
    runs = expect(
        await http.get(
            f"/api/v1/agents/projects/{project['id']}/runs", params={"agent_id": agent["id"]}
        ),
        200,
    )
    assert runs["total"] == 1, runs
    run = await wait_for_run(user, runs["items"][0]["id"])
    assert run["status"] == "completed", run

    # gateway -> issues -> outbox -> RabbitMQ -> agents consumer -> outbox -> worker -> run,
    # each the parent of the next.
    gateway = _one(spans, "swe-gateway", "POST /api/v1/issues")
    issues = _one(spans, "swe-issues", "POST /api/v1/issues/{issue_id}/assign")
    published = _one(spans, "swe-issues", "publish issues.issue.assigned")
    consumed = _one(spans, "swe-agents", "process issues.issue.assigned")
    # Every agents process runs a relay of the agents outbox: the API's or the worker's publishes.
    queued = _one(spans, None, "publish agents.run.queued")
    taken = _one(spans, "swe-agents-worker", "process agents.run.queued")
    run_span = _one(spans, "swe-agents-worker", "run code_analyzer")
    assert ancestry(run_span, spans)[:5] == [run_span, taken, queued, consumed, published]
    assert issues in ancestry(published, spans)
    assert ancestry(issues, spans) == [issues, gateway]
    assert gateway.parent_span_id == caller_span

    assert gateway.kind == "SERVER" and issues.kind == "SERVER"
    assert published.kind == queued.kind == "PRODUCER"
    assert consumed.kind == taken.kind == "CONSUMER"
    assert gateway.attributes["swe.gateway.decision"] == "forwarded"
    assert gateway.attributes["swe.gateway.auth"] == "bearer"
    assert gateway.attributes["swe.gateway.rate_limit"] == "allowed"
    assert gateway.attributes["swe.gateway.breaker"] == "closed"
    assert gateway.attributes["swe.upstream"] == "issues"
    assert gateway.attributes["http.response.status_code"] == 200
    assert published.attributes["messaging.destination.name"] == traced.exchange
    assert (
        consumed.attributes["messaging.message.id"] == published.attributes["messaging.message.id"]
    )
    completed = _one(spans, None, "publish agents.run.completed")
    assert taken in ancestry(completed, spans)
    assert run_span.attributes["swe.run.status"] == "completed"
    assert run_span.attributes["swe.run.id"] == run["id"]

    # One span per analysis step, under the run.
    steps = {s.name for s in spans if run_span in ancestry(s, spans) and s.name.startswith("step ")}
    assert {"step checkout", "step analyze", "step ruff", "step bandit", "step report"} <= steps

    # The libraries' spans join the same trace: SQL in the issues request, Redis in the run.
    def under(parent: ReceivedSpan, system: str) -> list[ReceivedSpan]:
        return [
            s
            for s in spans
            if s.kind == "CLIENT"
            and s.attributes.get("db.system", s.attributes.get("db.system.name")) == system
            and parent in ancestry(s, spans)
        ]

    assert under(issues, "postgresql"), "no SQL span under the issues request"
    assert under(run_span, "redis"), "no Redis span under the run (its live log)"

    # The log lines each process wrote for it carry the trace's id (the access lines, the run's
    # log lines).
    assert traced.run_dir is not None
    for process in ("gateway", "issues", "agents-worker"):
        text = (Path(traced.run_dir) / "logs" / f"{process}.log").read_text(errors="replace")
        assert trace_id in text, f"no log line of {process} carries the trace id"
