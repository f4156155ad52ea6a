"""Faults: the platform loses nothing and answers cleanly while its parts fail.

The module starts one stack of its own whose RabbitMQ and Redis are private servers (a second
RabbitMQ node and a ``redis-server``, each on a free port in a temp dir), and whose issues
service reaches PostgreSQL through a TCP proxy the tests can cut. The machine's shared
PostgreSQL, RabbitMQ and Redis are never stopped or paused. Every test restores what it broke.

1. a service process SIGKILLed and restarted under a stream of requests: the gateway answers
   503 fast with Retry-After (its breaker opens), and routes again once the service is back;
2. PostgreSQL connections of one service dropped (backends terminated, then the network cut):
   clean 503s, readiness red while cut, recovery without a restart, no event lost;
3. the agents worker SIGKILLed during a run: the run completes on a new worker or fails with a
   reason, never stays ``running``;
4. RabbitMQ stopped while users create issues, projects and runs: every event arrives after,
   analytics counts match the actions exactly, no run is stuck;
5. Redis stopped: with the default fail-open policy requests keep flowing without a 5xx; with
   fail-closed the gateway answers 503 with Retry-After, and serves again once Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import psycopg
import pytest
from conftest import isolated_stack
from e2e_support import (
    PASSWORD,
    TERMINAL,
    PlantedRepo,
    Stack,
    User,
    commit,
    describe,
    expect,
    gateway_client,
    git,
    log_in,
    new_user,
    wait_for_run,
)
from fault_support import (
    PrivateRabbit,
    PrivateRedis,
    TcpProxy,
    kill,
    log_tail,
    pid_of,
    start,
)
from sqlalchemy.engine import make_url

from swe_common.testing import ADMIN_DSN, create_test_database, eventually

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("E2E_BASE_URL")),
    reason="fault tests break servers and processes: they need a stack of their own",
)

# Settings that keep the faults short: the gateway checks instances every second, ejects for
# 2 s and lets its breaker try again after 3 s; rate limits are out of the way (the streams
# below send thousands of requests as one user, and limits are not what is tested here).
FAULT_ADMIN = "faultadmin"
FAULT_ENV = {
    "GATEWAY_HEALTH_CHECK_INTERVAL_SECONDS": "1",
    "GATEWAY_BREAKER_COOLDOWN_SECONDS": "3",
    "GATEWAY_EJECTION_BASE_SECONDS": "2",
    "GATEWAY_EJECTION_MAX_SECONDS": "10",
    "GATEWAY_REDIS_BREAKER_COOLDOWN_SECONDS": "2",
    "GATEWAY_RATE_LIMITS": json.dumps(
        dict.fromkeys(("anonymous", "readonly", "user", "agent", "admin"), 1_000_000)
    ),
    # Sign-ups and logins are not what is tested: cheaper password hashing.
    "AUTH_ARGON2_MEMORY_KIB": "8192",
    "AUTH_ARGON2_TIME_COST": "1",
    "AGENTS_LEASE_SECONDS": "8",
    "AGENTS_HEARTBEAT_SECONDS": "2",
    "AGENTS_REAPER_INTERVAL_SECONDS": "2",
    # An admin, to read the gateway's per-service health (the public /health says only ok or
    # degraded).
    "AUTH_BOOTSTRAP_ADMIN_EMAIL": "fault-admin@example.com",
    "AUTH_BOOTSTRAP_ADMIN_USERNAME": FAULT_ADMIN,
    "AUTH_BOOTSTRAP_ADMIN_PASSWORD": PASSWORD,
}
PG_PROXIED = "issues"  # the service whose PostgreSQL connections go through the cuttable proxy


@dataclass
class Faults:
    stack: Stack
    rabbit: PrivateRabbit
    redis: PrivateRedis
    pg_proxy: TcpProxy


@pytest.fixture(scope="module")
def faults(request: pytest.FixtureRequest) -> Iterator[Faults]:
    if not PrivateRedis.available():
        pytest.skip("redis-server is not installed")
    if not PrivateRabbit.available():
        pytest.skip("rabbitmq-server is not installed under /usr/lib/rabbitmq/bin")
    failed_before = request.session.testsfailed
    base = Path(tempfile.mkdtemp(prefix="swe-e2e-faults-"))
    (base / "rabbit").mkdir()
    (base / "redis").mkdir()
    rabbit = PrivateRabbit(base / "rabbit")
    redis_server = PrivateRedis(base / "redis")
    pg = make_url(ADMIN_DSN.replace("postgresql://", "postgresql+psycopg://", 1))
    proxy = TcpProxy(pg.host or "127.0.0.1", pg.port or 5432)
    try:
        redis_server.start()
        rabbit.start()
        proxy.start()
        database_url = create_test_database("swe_e2e")
        proxied = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
        env = {
            **FAULT_ENV,
            f"{PG_PROXIED.upper()}_DATABASE_URL": proxied.render_as_string(hide_password=False),
        }
        with isolated_stack(
            request,
            amqp_url=rabbit.url,
            redis_url=redis_server.url,
            extra_env=env,
            database_url=database_url,
        ) as stack:
            yield Faults(stack, rabbit, redis_server, proxy)
    finally:
        proxy.close()
        rabbit.destroy()
        redis_server.stop()
        if request.session.testsfailed == failed_before and not os.environ.get("E2E_KEEP_LOGS"):
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"\nprivate broker/redis files kept in {base}")


# -- helpers ---------------------------------------------------------------------------------


async def fresh_user(stack: Stack, prefix: str) -> User:
    async with gateway_client(stack) as anonymous:
        return await new_user(stack, anonymous, prefix)


async def gateway_health(stack: Stack) -> dict[str, Any]:
    """The public verdict: ``{"status": "ok" | "degraded"}``."""
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(f"{stack.base_url}/health")).json()


_admin_tokens: dict[str, str] = {}


async def service_health(stack: Stack, name: str) -> dict[str, Any]:
    """One service's readiness and breaker state, from the gateway's admin API."""
    async with gateway_client(stack) as client:
        if stack.base_url not in _admin_tokens:  # once: the login route has its own limit
            _admin_tokens[stack.base_url] = (await log_in(client, FAULT_ADMIN))["access_token"]
        headers = {"Authorization": f"Bearer {_admin_tokens[stack.base_url]}"}
        response = await client.get("/api/v1/gateway/admin/health", headers=headers)
        return expect(response, 200)["services"][name]


async def new_project(user: User, url: str, name: str = "fault-demo") -> dict[str, Any]:
    return expect(
        await user.http.post(
            "/api/v1/projects",
            json={"name": f"{name}-{uuid.uuid4().hex[:6]}", "repository_url": url},
        ),
        201,
    )


async def new_issue(user: User, project_id: str, title: str) -> httpx.Response:
    return await user.http.post(
        "/api/v1/issues",
        json={"project_id": project_id, "title": title, "description": "fault test"},
    )


async def new_agent(user: User, project_id: str) -> dict[str, Any]:
    """A code_analyzer agent. The agents service learns of a new project from its event only
    (it has no read-through fallback), so right after the project is created it may answer a
    spurious 404 for a moment: that is not the fault under test here, so it is waited out
    (and reported separately)."""

    async def created() -> httpx.Response | None:
        response = await user.http.post(
            "/api/v1/agents",
            json={
                "project_id": project_id,
                "name": f"analyzer-{uuid.uuid4().hex[:6]}",
                "type": "code_analyzer",
                "config": {"min_severity": "info"},
            },
        )
        return None if response.status_code == 404 else response

    return expect(await eventually(created, timeout=30, interval=0.2), 201)


async def dashboard(user: User) -> dict[str, Any]:
    return expect(await user.http.get("/api/v1/analytics/dashboard"), 200)


def is_problem(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("application/problem+json")


def retry_after_ok(response: httpx.Response) -> bool:
    value = response.headers.get("retry-after", "")
    return value.isdigit() and int(value) >= 1


@dataclass
class Outcome:
    path: str
    started: float
    elapsed: float
    status: int | None  # None: no HTTP answer at all (transport error or client timeout)
    retry_after: str | None
    problem: bool
    body: str

    def line(self) -> str:
        return f"{self.path} -> {self.status} in {self.elapsed:.2f}s {self.body[:200]}"


async def request_stream(
    http: httpx.AsyncClient, path: str, stop: asyncio.Event, out: list[Outcome]
) -> None:
    """One client sending GET ``path`` back to back (20 ms apart) until ``stop``."""
    while not stop.is_set():
        began = time.monotonic()
        try:
            response = await http.get(path, timeout=10)
        except httpx.HTTPError as exc:
            out.append(Outcome(path, began, time.monotonic() - began, None, None, False, repr(exc)))
        else:
            out.append(
                Outcome(
                    path,
                    began,
                    time.monotonic() - began,
                    response.status_code,
                    response.headers.get("retry-after"),
                    is_problem(response),
                    response.text[:300],
                )
            )
        await asyncio.sleep(0.02)  # pacing between one client's requests


# -- 1. a service killed and restarted under load ------------------------------------------


async def test_a_killed_service_is_cut_off_fast_and_routed_to_again_once_back(
    faults: Faults,
) -> None:
    stack = faults.stack
    user = await fresh_user(stack, "breaker")
    async with user.http:
        await new_project(user, "https://github.com/e2e/breaker")
        outcomes: list[Outcome] = []
        stop = asyncio.Event()
        clients = [
            *(request_stream(user.http, "/api/v1/projects", stop, outcomes) for _ in range(8)),
            *(request_stream(user.http, "/api/v1/auth/me", stop, outcomes) for _ in range(2)),
        ]
        tasks = [asyncio.create_task(c) for c in clients]
        target = [o for o in outcomes if o.path == "/api/v1/projects"]
        try:

            async def warmed_up() -> bool:
                return sum(o.status == 200 for o in outcomes if o.path == "/api/v1/projects") >= 20

            await eventually(warmed_up, timeout=30, interval=0.1)

            killed_at = time.monotonic()
            await asyncio.to_thread(kill, stack, "projects")

            async def breaker_opened() -> bool:
                if any("circuit-open" in o.body for o in outcomes if o.started >= killed_at):
                    return True
                return (await service_health(stack, "projects"))["breaker"] == "open"

            await eventually(breaker_opened, timeout=20, interval=0.2)
            opened_at = time.monotonic()

            # The service stays down a moment longer: every answer meanwhile is a fast 503.
            async def seen_outage() -> bool:
                return sum(1 for o in outcomes if o.started >= opened_at) >= 40

            await eventually(seen_outage, timeout=20, interval=0.1)
            restarted_at = time.monotonic()
            await asyncio.to_thread(start, stack, "projects")

            async def routed_again() -> bool:
                recent = [
                    o
                    for o in outcomes
                    if o.path == "/api/v1/projects" and o.started >= restarted_at
                ]
                return len(recent) >= 10 and all(o.status == 200 for o in recent[-10:])

            try:
                await eventually(routed_again, timeout=60, interval=0.2)
            except AssertionError as exc:
                raise AssertionError(
                    f"{exc}; projects log:\n{log_tail(stack, 'projects')}"
                ) from None
        finally:
            stop.set()
            await asyncio.gather(*tasks)

        target = [o for o in outcomes if o.path == "/api/v1/projects"]
        bystander = [o for o in outcomes if o.path == "/api/v1/auth/me"]
        # Never an error other than a clean 503, never a hang.
        bad = [o.line() for o in target if o.status not in (200, 503)]
        assert not bad, f"{len(bad)} answers other than 200/503, e.g. {bad[:5]}"
        unclean = [
            o.line()
            for o in target
            if o.status == 503 and not (o.problem and o.retry_after and o.retry_after.isdigit())
        ]
        assert not unclean, f"503s without problem+json and Retry-After: {unclean[:5]}"
        # Once the breaker is open the gateway answers at once instead of trying the service.
        during = [o for o in target if opened_at <= o.started < restarted_at]
        assert during and all(o.status == 503 for o in during), [o.line() for o in during[:5]]
        times = sorted(o.elapsed for o in during)
        median, slowest = times[len(times) // 2], times[-1]
        # Fast: well under the gateway's 2 s connect timeout (allowing for a loaded machine).
        assert median < 0.2 and slowest < 1.5, (
            f"503s while the service is down: median {median:.2f}s, slowest {slowest:.2f}s"
        )
        # Other services are not affected.
        assert bystander and all(o.status == 200 for o in bystander), [
            o.line() for o in bystander if o.status != 200
        ][:5]
        # And the breaker closed again.
        health = await service_health(stack, "projects")
        assert health["status"] == "ok" and health["breaker"] == "closed", health


# -- 2. PostgreSQL connections of one service dropped ----------------------------------------


def terminate_backends(stack: Stack, application_name: str) -> int:
    assert stack.database_url is not None
    database = make_url(stack.database_url).database
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = %s AND pid <> pg_backend_pid()",
            (database, application_name),
        ).fetchall()
    return len(rows)


async def test_a_service_that_loses_its_database_answers_503_and_recovers_by_itself(
    faults: Faults,
) -> None:
    stack = faults.stack
    user = await fresh_user(stack, "pgdrop")
    async with user.http:
        project = await new_project(user, "https://github.com/e2e/pgdrop")
        first = expect(await new_issue(user, project["id"], "before the drop"), 201)
        listing = f"/api/v1/issues?project_id={project['id']}"

        # a) Every connection the service holds is terminated by the server.
        assert await asyncio.to_thread(terminate_backends, stack, PG_PROXIED) >= 1, (
            "issues held no connection"
        )
        answers = [await user.http.get(listing) for _ in range(5)]
        bad = [describe(r) for r in answers if r.status_code not in (200, 503)]
        assert not bad, f"after its connections were terminated: {bad}"
        assert all(is_problem(r) for r in answers if r.status_code == 503)

        async def lists() -> bool:
            return (await user.http.get(listing)).status_code == 200

        await eventually(lists, timeout=15, interval=0.2)
        second = expect(await new_issue(user, project["id"], "after the drop"), 201)

        # b) The network to PostgreSQL is cut: readiness goes red, requests fail cleanly.
        await asyncio.to_thread(faults.pg_proxy.cut)
        during: list[tuple[httpx.Response, float]] = []
        try:

            async def readiness_red() -> bool:
                for call in (
                    user.http.get(listing),
                    user.http.get(f"/api/v1/issues/{first['id']}"),
                    new_issue(user, project["id"], "while cut"),
                ):
                    began = time.monotonic()
                    during.append((await call, time.monotonic() - began))
                return (await service_health(stack, PG_PROXIED))["status"] == "down"

            await eventually(readiness_red, timeout=20, interval=0.2)
            bystander = await user.http.get("/api/v1/projects")
            assert bystander.status_code == 200, describe(bystander)
        finally:
            await asyncio.to_thread(faults.pg_proxy.restore)

        unclean = [
            f"{describe(r)} in {t:.1f}s"
            for r, t in during
            if r.status_code != 503 or not is_problem(r) or not retry_after_ok(r) or t > 10
        ]
        assert not unclean, (
            f"{len(unclean)} of {len(during)} requests while the database was cut were not a "
            f"fast 503 problem with Retry-After: {unclean[:4]}\n"
            f"issues log:\n{log_tail(stack, PG_PROXIED, 30)}"
        )

        # c) Back without a restart: ready, reads and writes work, no event was lost.
        async def ready_again() -> bool:
            return (await service_health(stack, PG_PROXIED))["status"] == "ok"

        await eventually(ready_again, timeout=30, interval=0.3)

        async def routed_again() -> bool:  # the gateway may still eject it for a moment
            return (await user.http.get(f"/api/v1/issues/{first['id']}")).status_code == 200

        await eventually(routed_again, timeout=20, interval=0.3)
        expect(await new_issue(user, project["id"], "after the cut"), 201)
        listed = expect(await user.http.get(listing), 200)
        assert listed["total"] == 3, listed  # first, second, after the cut; nothing "while cut"
        assert second["id"] in {i["id"] for i in listed["items"]}

        async def counted() -> dict[str, Any] | None:
            board = await dashboard(user)
            return board if board["issues"]["total"] == 3 else None

        try:
            await eventually(counted, timeout=30, interval=0.5)
        except AssertionError:
            board = await dashboard(user)
            raise AssertionError(
                f"analytics counts {board['issues']} issues, 3 were created"
            ) from None


# -- 3. the worker killed during a run --------------------------------------------------------


def big_repo(path: Path) -> PlantedRepo:
    """A repository large enough that its analysis runs for several seconds."""
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch", "main")
    body = "\n".join(
        f"def handler_{n}(expr, cmd):\n"
        f"    value = {n}\n"
        f"    if value > 3 and expr:\n"
        f"        try:\n"
        f"            return eval(expr)\n"
        f"        except:\n"
        f"            pass\n"
        f"    for i in range(value):\n"
        f"        if i % 2:\n"
        f"            subprocess.call(cmd, shell=True)\n"
        f"    return value\n\n"
        for n in range(40)
    )
    files = {
        f"pkg/module_{i}.py": f"import os\nimport subprocess\n\nTOKEN = 'secret-{i}'\n\n{body}"
        for i in range(150)
    }
    sha = commit(path, files, "a big codebase")
    return PlantedRepo(path, sha, "main", sha, {})


async def test_a_run_whose_worker_is_killed_completes_or_fails_but_never_hangs(
    faults: Faults, tmp_path: Path
) -> None:
    stack = faults.stack
    repo = big_repo(tmp_path / "big-service")
    user = await fresh_user(stack, "worker")
    async with user.http:
        project = await new_project(user, repo.url, "big-service")
        agent = await new_agent(user, project["id"])
        run = expect(await user.http.post(f"/api/v1/agents/{agent['id']}/start", json={}), 202)

        async def running() -> dict[str, Any] | None:
            body = expect(await user.http.get(f"/api/v1/agents/runs/{run['id']}"), 200)
            return body if body["status"] != "pending" else None

        seen = await eventually(running, timeout=60, interval=0.05)
        assert seen["status"] == "running", f"the run ended before it could be interrupted: {seen}"
        killed = await asyncio.to_thread(kill, stack, "agents-worker")
        interrupted = expect(await user.http.get(f"/api/v1/agents/runs/{run['id']}"), 200)
        assert interrupted["status"] == "running", (
            f"the run ended before the worker was killed, nothing was tested: {interrupted}"
        )

        # A new worker process (what a supervisor or `swe-stack up` does after a crash).
        restarted = await asyncio.to_thread(start, stack, "agents-worker")
        assert restarted != killed
        try:
            finished = await wait_for_run(user, run["id"], timeout=120)
        except AssertionError as exc:
            stuck = expect(await user.http.get(f"/api/v1/agents/runs/{run['id']}"), 200)
            raise AssertionError(
                f"{exc}\nthe run is stuck: {stuck}\nworker log:\n{log_tail(stack, 'agents-worker')}"
            ) from None
        assert finished["status"] in TERMINAL
        if finished["status"] == "completed":
            assert finished["attempts"] >= 2, finished  # it ran again after the kill
            assert finished["result"] or expect(
                await user.http.get(f"/api/v1/agents/runs/{run['id']}/report"), 200
            )
        else:
            assert finished["status"] == "failed", finished
            assert finished["exit_reason"] and finished["error"], (
                f"a failed run must say why: {finished}"
            )
        assert finished["finished_at"], finished


# -- 4. RabbitMQ down while users work ------------------------------------------------------


class Listener:
    """A downstream consumer with a durable queue of its own: events published while it is
    reconnecting wait for it in the broker, as they would for any real consumer."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.connection: aio_pika.abc.AbstractRobustConnection | None = None
        self.queue: aio_pika.abc.AbstractQueue | None = None

    async def start(self, stack: Stack) -> None:
        self.connection = await aio_pika.connect_robust(stack.amqp_url, reconnect_interval=1)
        channel = await self.connection.channel()
        exchange = await channel.declare_exchange(
            stack.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self.queue = await channel.declare_queue(
            f"e2e.faults.listener.{uuid.uuid4().hex[:8]}", durable=True
        )
        await self.queue.bind(exchange, "#")

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                self.events.append(json.loads(message.body))

        await self.queue.consume(on_message)

    async def stop(self) -> None:
        if self.queue is not None:
            with contextlib.suppress(Exception):  # best effort: the node is deleted anyway
                await asyncio.wait_for(self.queue.delete(if_unused=False, if_empty=False), 10)
        if self.connection is not None:
            await self.connection.close()

    def ids(self, type_: str, key: str) -> set[str]:
        return {e["data"].get(key) for e in self.events if e.get("type") == type_}


@pytest.fixture
async def listener(faults: Faults) -> AsyncIterator[Listener]:
    listening = Listener()
    await listening.start(faults.stack)
    yield listening
    await listening.stop()


async def test_nothing_is_lost_while_rabbitmq_is_down(
    faults: Faults, listener: Listener, repo: PlantedRepo
) -> None:
    stack = faults.stack
    user = await fresh_user(stack, "broker")
    async with user.http:
        project = await new_project(user, repo.url, "broker-demo")
        agent = await new_agent(user, project["id"])

        async def settled() -> bool:
            return (await dashboard(user))["projects"] == 1

        await eventually(settled, timeout=30, interval=0.5)

        await asyncio.to_thread(faults.rabbit.stop_app)
        try:
            issues = [
                expect(await new_issue(user, project["id"], f"during the outage {n}"), 201)
                for n in range(4)
            ]
            runs = [
                expect(await user.http.post(f"/api/v1/agents/{agent['id']}/start", json={}), 202)
                for _ in range(2)
            ]
            second = await new_project(user, repo.url, "broker-second")
            issues.append(expect(await new_issue(user, second["id"], "in a new project"), 201))
            # Accepted and kept, waiting for the broker.
            for run in runs:
                body = expect(await user.http.get(f"/api/v1/agents/runs/{run['id']}"), 200)
                assert body["status"] == "pending", body
        finally:
            await asyncio.to_thread(faults.rabbit.start_app)

        # Every run finishes once the broker is back.
        finished = []
        for run in runs:
            try:
                finished.append(await wait_for_run(user, run["id"], timeout=120))
            except AssertionError as exc:
                body = expect(await user.http.get(f"/api/v1/agents/runs/{run['id']}"), 200)
                raise AssertionError(
                    f"{exc}\nrun stuck after the outage: {body}\nworker log:\n"
                    f"{log_tail(stack, 'agents-worker')}"
                ) from None
        assert all(r["status"] == "completed" for r in finished), finished

        # Every event arrives at a downstream consumer.
        run_ids = {r["id"] for r in runs}
        issue_ids = {i["id"] for i in issues}

        async def all_events() -> bool:
            return (
                issue_ids <= listener.ids("issues.issue.created", "id")
                and second["id"] in listener.ids("projects.project.created", "id")
                and run_ids <= listener.ids("agents.run.queued", "run_id")
                and run_ids <= listener.ids("agents.run.started", "run_id")
                and run_ids <= listener.ids("agents.run.completed", "run_id")
            )

        try:
            await eventually(all_events, timeout=60, interval=0.3)
        except AssertionError:
            missing = {
                "issues.issue.created": issue_ids - listener.ids("issues.issue.created", "id"),
                "projects.project.created": {second["id"]}
                - listener.ids("projects.project.created", "id"),
                "agents.run.queued": run_ids - listener.ids("agents.run.queued", "run_id"),
                "agents.run.started": run_ids - listener.ids("agents.run.started", "run_id"),
                "agents.run.completed": run_ids - listener.ids("agents.run.completed", "run_id"),
            }
            raise AssertionError(f"events never arrived: {missing}") from None

        # Analytics counts every action exactly once.
        expected = {"projects": 2, "issues": 5, "open": 5, "runs": {"completed": 2}}

        def figures(board: dict[str, Any]) -> dict[str, Any]:
            return {
                "projects": board["projects"],
                "issues": board["issues"]["total"],
                "open": board["issues"]["open"],
                "runs": {k: v for k, v in board["runs"]["by_status"].items() if v},
            }

        async def counted() -> bool:
            return figures(await dashboard(user)) == expected

        try:
            await eventually(counted, timeout=60, interval=0.5)
        except AssertionError:
            raise AssertionError(
                f"analytics shows {figures(await dashboard(user))}, expected {expected}"
            ) from None


# -- 5. Redis down ----------------------------------------------------------------------------


REQUEST_TIMEOUT = 5.0  # a user-visible stall longer than this counts as a failure


async def a_round_of_requests(
    stack: Stack, user: User, project_id: str, n: int, login: bool = True
) -> list[tuple[str, int, float]]:
    """What a user does in a few seconds: reads, a write, the dashboard, a fresh login.
    (line, status, seconds) each; status 0 when no answer came within REQUEST_TIMEOUT.
    Logins have their own per-address limit (10 a minute), which the gateway's in-process
    limiter keeps enforcing while Redis is down: one login per outage stays under it."""
    t = REQUEST_TIMEOUT
    async with gateway_client(stack) as anonymous:
        calls = {
            "GET /auth/me": lambda: user.http.get("/api/v1/auth/me", timeout=t),
            "GET /projects": lambda: user.http.get("/api/v1/projects", timeout=t),
            "GET /issues": lambda: user.http.get(
                f"/api/v1/issues?project_id={project_id}", timeout=t
            ),
            "POST /issues": lambda: user.http.post(
                "/api/v1/issues",
                json={"project_id": project_id, "title": f"redis round {n}"},
                timeout=t,
            ),
            "GET /analytics/dashboard": lambda: user.http.get(
                "/api/v1/analytics/dashboard", timeout=t
            ),
            "POST /auth/login": lambda: anonymous.post(
                "/api/v1/auth/login",
                json={"username": user.username, "password": "correct-horse-battery-staple-e2e"},
                timeout=t,
            ),
        }
        if not login:
            del calls["POST /auth/login"]
        results = []
        for name, call in calls.items():
            began = time.monotonic()
            try:
                response = await call()
            except httpx.TimeoutException:
                results.append((f"{name} -> no answer within {t}s", 0, time.monotonic() - began))
                continue
            line = f"{name} -> {response.status_code} {response.text[:200]}"
            results.append((line, response.status_code, time.monotonic() - began))
    return results


async def test_with_redis_down_the_gateway_fails_open_and_requests_keep_flowing(
    faults: Faults,
) -> None:
    stack = faults.stack
    user = await fresh_user(stack, "redis")
    async with user.http:
        project = await new_project(user, "https://github.com/e2e/redis")
        baseline = await a_round_of_requests(stack, user, project["id"], 0)
        assert all(200 <= status < 400 for _, status, _ in baseline), baseline

        await asyncio.to_thread(faults.redis.stop)
        outage: list[tuple[str, int, float]] = []
        try:
            began = time.monotonic()
            rounds = 0
            while rounds < 1 or time.monotonic() - began < 6:  # past the Redis breaker's trips
                rounds += 1
                outage += await a_round_of_requests(
                    stack, user, project["id"], rounds, login=rounds == 1
                )
                await asyncio.sleep(0.2)  # pacing between rounds
        finally:
            await asyncio.to_thread(faults.redis.start)

        failed = [line for line, status, _ in outage if not 200 <= status < 400]
        assert not failed, (
            f"{len(failed)} of {len(outage)} requests failed while Redis was down: {failed[:6]}"
        )
        slow = [f"{line} in {t:.2f}s" for line, _, t in outage if t > 2.0]
        assert not slow, f"requests stalled while Redis was down: {slow[:5]}"

        async def fine_again() -> bool:
            results = await a_round_of_requests(stack, user, project["id"], 99, login=False)
            return all(200 <= status < 400 for _, status, _ in results)

        await eventually(fine_again, timeout=20, interval=0.5)
        listed = expect(await user.http.get(f"/api/v1/issues?project_id={project['id']}"), 200)
        created = 1 + rounds + 1  # baseline, one per outage round, at least one after
        assert listed["total"] >= created, listed["total"]


async def test_with_redis_down_a_fail_closed_gateway_refuses_with_503(faults: Faults) -> None:
    stack = faults.stack
    user = await fresh_user(stack, "closed")
    await asyncio.to_thread(kill, stack, "gateway", signal.SIGTERM)
    await asyncio.to_thread(start, stack, "gateway", GATEWAY_REDIS_FAILURE_POLICY="closed")
    try:
        async with user.http:

            async def routable() -> bool:
                try:
                    return (await gateway_health(stack)).get("status") == "ok"
                except httpx.HTTPError:
                    return False

            await eventually(routable, timeout=60, interval=0.3)
            expect(await user.http.get("/api/v1/projects"), 200)

            await asyncio.to_thread(faults.redis.stop)
            try:
                refused: list[httpx.Response] = []
                began = time.monotonic()
                while len(refused) < 10 or time.monotonic() - began < 3:
                    refused.append(await user.http.get("/api/v1/projects"))
                async with gateway_client(stack) as anonymous:
                    refused.append(
                        await anonymous.post(
                            "/api/v1/auth/login",
                            json={"username": user.username, "password": "x" * 12},
                        )
                    )
            finally:
                await asyncio.to_thread(faults.redis.start)
            wrong = [
                describe(r)
                for r in refused
                if r.status_code not in (503, 429) or not is_problem(r) or not retry_after_ok(r)
            ]
            assert not wrong, f"fail-closed should refuse with 503/429 + Retry-After: {wrong[:5]}"

            async def serves_again() -> bool:
                return (await user.http.get("/api/v1/projects")).status_code == 200

            await eventually(serves_again, timeout=20, interval=0.3)
    finally:
        await asyncio.to_thread(kill, stack, "gateway", signal.SIGTERM)
        await asyncio.to_thread(start, stack, "gateway")

        async def default_gateway_up() -> bool:
            try:
                return (await gateway_health(stack)).get("status") == "ok"
            except httpx.HTTPError:
                return False

        await eventually(default_gateway_up, timeout=60, interval=0.3)
    # After the fail-closed gateway went away the default one is routable again.
    assert pid_of(stack, "gateway")
