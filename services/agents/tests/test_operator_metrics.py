"""What an operator sees of runs: the run metrics move when a run finishes (through the real
work queue and worker), and the admin-only /health/detailed names the worker's heartbeat, the
run queue and the migrations."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import REGISTRY

from swe_common.testing import TokenFactory, eventually

from .conftest import wait_run
from .test_runs import setup, start  # noqa: F401 - the fixture, used by name

pytestmark = pytest.mark.usefixtures("worker")


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_finished_run_is_counted_by_status_and_its_run_and_steps_timed(
    client: Any,
    setup: dict[str, Any],  # noqa: F811
) -> None:
    finished = sample("swe_agents_runs_finished_total", status="completed", exit_reason="none")
    durations = sample("swe_agents_run_duration_seconds_count", status="completed")
    analyze = sample("swe_agents_run_step_duration_seconds_count", step="analyze")
    checkout = sample("swe_agents_run_step_duration_seconds_count", step="checkout")

    agent = await setup["agent"]("code_analyzer")
    run = await start(client, setup, agent)
    done = await wait_run(client, setup["headers"], run["id"], "completed", "failed")
    assert done["status"] == "completed", done

    async def counted() -> bool:  # after the commit (never for a rolled-back one)
        return (
            sample("swe_agents_runs_finished_total", status="completed", exit_reason="none")
            == finished + 1
        )

    await eventually(counted, timeout=5)
    assert sample("swe_agents_run_duration_seconds_count", status="completed") == durations + 1
    assert sample("swe_agents_run_step_duration_seconds_count", step="analyze") == analyze + 1
    assert sample("swe_agents_run_step_duration_seconds_count", step="checkout") >= checkout + 1


async def test_the_worker_reports_unfinished_runs_and_its_heartbeat() -> None:
    async def reported() -> bool:
        return (
            REGISTRY.get_sample_value("swe_agents_runs", {"status": "pending"}) is not None
            and sample("swe_agents_worker_last_heartbeat_timestamp_seconds") > 0
        )

    await eventually(reported, timeout=10)


async def test_detailed_health_is_for_admins_and_names_worker_queue_and_migrations(
    client: Any, tokens: TokenFactory, settings: Any
) -> None:
    assert (await client.get("/health/detailed")).status_code == 401
    user = await client.get("/health/detailed", headers=tokens.headers())
    assert user.status_code == 403
    assert "worker" not in user.text

    admin = tokens.headers(roles=("admin",))

    async def worker_live() -> dict[str, Any] | None:
        body = (await client.get("/health/detailed", headers=admin)).json()
        return body if body["checks"]["worker"]["live"] >= 1 else None

    body = await eventually(worker_live, timeout=10)
    assert body["service"] == "agents"
    checks = body["checks"]
    database = checks["database"]
    assert database["status"] == "ok"
    assert database["migrations"]["at_head"] is True and database["migrations"]["head"]
    assert checks["broker"]["status"] == "ok"
    assert checks["redis"]["status"] == "ok"
    assert checks["outbox"]["backlog"] >= 0
    queue = checks["queues"]["items"][settings.work_queue]
    assert queue["dead_letters"] == 0 and queue["messages"] is not None
    live = [w for w in checks["worker"]["items"].values() if w["live"]]
    assert live and all(w["last_heartbeat_age_seconds"] < 5 for w in live)
