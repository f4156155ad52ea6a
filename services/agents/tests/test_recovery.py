"""A worker killed mid-run: the run is retried by another worker or failed as worker_lost,
never lost or stuck in running. No in-process worker runs here until a test starts one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from swe_agents.settings import Settings
from swe_agents.worker import Worker
from swe_common.testing import TokenFactory, eventually

from .conftest import wait_run
from .gitrepo import RESOLVER_SCRIPT

ISSUE = {"issue": {"title": "Add subtraction", "description": "app/clean.py needs sub()"}}


def worker_env(settings: Settings) -> dict[str, str]:
    values = {
        "DATABASE_URL": settings.database_url,
        "EVENTS_EXCHANGE": settings.events_exchange,
        "WORK_QUEUE": settings.work_queue,
        "REDIS_PREFIX": settings.redis_prefix,
        "ALLOW_FILE_REPOSITORIES": "true",
        "CHECKOUT_CACHE_DIR": settings.checkout_cache_dir,
        "LEASE_SECONDS": "3",
        "HEARTBEAT_SECONDS": "0.5",
        "REAPER_INTERVAL_SECONDS": "0.5",
        "LLM_BASE_URL": settings.llm_base_url or "",
        "LLM_MODEL": settings.llm_model,
        "LLM_API_KEY": "sk-test-key",
        "WORK_DIR": settings.work_dir,
        "ENVIRONMENT": "test",
        "OUTBOX_POLL_SECONDS": "0.2",
    }
    return {"PATH": os.environ["PATH"], **{f"AGENTS_{k}": v for k, v in values.items()}}


async def test_run_of_a_killed_worker_is_retried_by_another(
    client: Any,
    tokens: TokenFactory,
    projects: Any,
    planted: Path,
    settings: Settings,
    provider: Any,
    tmp_path: Path,
) -> None:
    owner = uuid.uuid4()
    headers = tokens.headers(owner)
    project = await projects.create(owner, f"file://{planted}")
    body = {"project_id": str(project), "name": "resolver", "type": "issue_resolver"}
    agent = (await client.post("/api/v1/agents", json=body, headers=headers)).json()
    provider.reset([*RESOLVER_SCRIPT, *RESOLVER_SCRIPT], delay=60)
    log_file = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "swe_agents.worker"],
        env=worker_env(settings),
        stdout=log_file,
        stderr=log_file,
    )
    try:
        run = (
            await client.post(f"/api/v1/agents/{agent['id']}/start", json=ISSUE, headers=headers)
        ).json()
        running = await wait_run(client, headers, run["id"], "running", timeout=30)
        assert running["attempts"] == 1
        await eventually(lambda: _called(provider), timeout=20)
        orphan = Path(settings.work_dir) / str(process.pid)
        assert any(orphan.iterdir())  # the run's private checkout
        process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(process.wait, 10)
    finally:
        if process.poll() is None:
            process.kill()
        log_file.close()
    provider.reset(RESOLVER_SCRIPT, delay=0)
    rescuer = Worker(settings)
    task = asyncio.create_task(rescuer.run())
    try:
        # A bound on a hang, not a speed claim: the rescued resolver runs its whole pipeline
        # (sandboxed test runs before and after each candidate), which takes minutes under load.
        done = await wait_run(
            client, headers, run["id"], "completed", "failed", "cancelled", timeout=180
        )
    finally:
        rescuer.stop()
        await asyncio.wait_for(task, 30)
    assert (done["status"], done["attempts"]) == ("completed", 2), done
    assert not orphan.exists()  # the killed worker's checkout was removed
    logs = (await client.get(f"/api/v1/agents/runs/{run['id']}/logs", headers=headers)).json()[
        "items"
    ]
    assert [line["seq"] for line in logs] == list(range(1, len(logs) + 1))
    assert sum("run started" in line["message"] for line in logs) == 2


async def _called(provider: Any) -> bool:
    return bool(provider.requests)


async def test_run_whose_last_attempt_was_lost_fails_as_worker_lost(
    client: Any, tokens: TokenFactory, projects: Any, planted: Path, settings: Settings, engine: Any
) -> None:
    owner = uuid.uuid4()
    headers = tokens.headers(owner)
    project = await projects.create(owner, f"file://{planted}")
    body = {"project_id": str(project), "name": "analyzer", "type": "code_analyzer"}
    agent = (await client.post("/api/v1/agents", json=body, headers=headers)).json()
    run = (
        await client.post(f"/api/v1/agents/{agent['id']}/start", json={}, headers=headers)
    ).json()
    # What a second worker dying mid-run leaves behind: running, lease expired, attempts used up.
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "UPDATE agents.runs SET status='running', attempts=:n, worker_id='gone', "
                "started_at=now(), lease_expires_at=:at WHERE id=:id"
            ),
            {
                "n": settings.max_run_attempts,
                "at": datetime.now(UTC) - timedelta(seconds=5),
                "id": run["id"],
            },
        )
    reaper = Worker(settings)
    try:
        assert await reaper.reap() == 1
    finally:
        await reaper.redis.aclose()
        await reaper.db.dispose()
    done = await wait_run(client, headers, run["id"], "failed", "completed", timeout=5)
    assert (done["status"], done["exit_reason"]) == ("failed", "worker_lost")


async def test_worker_waits_for_rabbitmq_and_stops_cleanly_meanwhile(settings: Settings) -> None:
    from pydantic import SecretStr

    unreachable = settings.model_copy(
        update={"amqp_url": SecretStr("amqp://guest:guest@127.0.0.1:1/")}
    )
    worker = Worker(unreachable)
    task = asyncio.create_task(worker.run())

    async def retrying() -> bool:
        return worker.connect_failures >= 2

    await eventually(retrying, timeout=10)
    assert not task.done()
    worker.stop()
    await asyncio.wait_for(task, 10)
    assert not worker.ready.is_set()
