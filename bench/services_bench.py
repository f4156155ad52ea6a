"""Each service's own cost per request: a read by id and a filtered list page, side by side with
the same app's ``/health/live`` (the ceiling: routing, middleware, logs and metrics, no domain).

For each service: a fresh database migrated to head and seeded directly (a project the bench
user owns and ``ROWS`` rows in it), the real app under uvicorn in a subprocess (one process, its
default settings: INFO logs in JSON to a pipe the bench drains, Prometheus on, token verification
against a JWKS the bench serves, Redis revocation checks), then ``CLIENTS`` concurrent aiohttp
clients send ``REQUESTS`` requests per phase: live, by id, list; the rounds interleave the phases
so a neighbour's load spreads over all of them. The broker URL points at a closed port: reads
publish nothing, and no queue is left behind.

Reported per phase: requests/s (wall clock: moves with the machine's load and includes the
client's share of the 2 cores), the server process's CPU µs per request (``/proc/<pid>/stat``
utime+stime before and after the phase: steady under load), requests/s per core
(1e6 / CPU µs) and the ratio to ``/health/live``. Goal (issue 18): ≥ 1,000/s per core by id,
≥ 600 for the list.

Run: ``uv run python bench/services_bench.py`` (``SERVICES_BENCH=issues,projects`` for some;
``SERVICES_BENCH_REQUESTS`` per phase). Results: ``bench/results/services.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import aiohttp
import jwt
import sqlalchemy as sa
from aiohttp import web
from served import PySpy, UvicornApp, baseline_env, cpu_seconds
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from swe_common.migrations import upgrade_head
from swe_common.stack import HTTP_PROTOCOL
from swe_common.testing import TokenFactory, create_test_database, drop_test_database

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results" / "services.json"
REQUESTS = int(os.environ.get("SERVICES_BENCH_REQUESTS", "3000"))
ROUNDS = int(os.environ.get("SERVICES_BENCH_ROUNDS", "2"))
CLIENTS = 8  # below the pool size (10): more concurrent requests than pooled connections
# would open and close an overflow connection per request (a connect costs more than the read)
PROFILE = os.environ.get("SERVICES_BENCH_PROFILE", "")  # a phase: live, by_id or list
ROWS = 1000
BY_ID_KEYS = 200
CLOSED_AMQP = "amqp://guest:guest@127.0.0.1:1/"


# -- seeding --------------------------------------------------------------------------------


@dataclass
class Seeded:
    by_id: list[str]  # paths of single rows
    listing: str  # a filtered list page


Seeder = Callable[[AsyncEngine, uuid.UUID], Awaitable[Seeded]]
STATUSES = ("open", "in_progress", "resolved", "closed")


def _table(model: Any) -> sa.Table:
    return cast(sa.Table, model.__table__)


def _read_model_project(table: sa.Table, project_id: uuid.UUID, owner: uuid.UUID) -> Any:
    return sa.insert(table).values(
        id=project_id,
        owner_id=owner,
        name="bench",
        enabled=True,
        members=[],
        repository_url="https://github.com/example/bench",
        default_branch="main",
        settings={},
        synced_at=datetime.now(UTC),
    )


async def seed_issues(engine: AsyncEngine, owner: uuid.UUID) -> Seeded:
    from swe_issues.issues.models import Issue
    from swe_issues.projects_read_model.models import ProjectView

    project = uuid.uuid4()
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "project_id": project,
            "title": f"Issue {n}: the parser drops trailing commas",
            "description": "Steps to reproduce: parse '[1,2,]'. " * 4,
            "status": STATUSES[n % 4],
            "priority": ("low", "medium", "high", "critical")[n % 4],
            "labels": ["bug", f"area-{n % 5}"],
            "created_by": str(owner),
            "created_at": now - timedelta(seconds=n),
            "updated_at": now - timedelta(seconds=n),
        }
        for n in range(ROWS)
    ]
    async with engine.begin() as conn:
        await conn.execute(_read_model_project(_table(ProjectView), project, owner))
        await conn.execute(sa.insert(_table(Issue)), rows)
    return Seeded(
        by_id=[f"/api/v1/issues/{r['id']}" for r in rows[:BY_ID_KEYS]],
        listing=f"/api/v1/issues?project_id={project}&status=open&limit=20",
    )


async def seed_projects(engine: AsyncEngine, owner: uuid.UUID) -> Seeded:
    from swe_projects.models import Project

    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "name": f"project-{n}",
            "description": "A benchmark project",
            "repository_url": f"https://github.com/example/project-{n}",
            "default_branch": "main",
            "enabled": n % 4 != 0,
            "owner_id": owner,
            "settings": {},
            "webhook_secret_encrypted": b"unused",
            "created_at": now - timedelta(seconds=n),
            "updated_at": now - timedelta(seconds=n),
        }
        for n in range(ROWS)
    ]
    async with engine.begin() as conn:
        await conn.execute(sa.insert(_table(Project)), rows)
    return Seeded(
        by_id=[f"/api/v1/projects/{r['id']}" for r in rows[:BY_ID_KEYS]],
        listing="/api/v1/projects?enabled=true&limit=20",
    )


async def seed_agents(engine: AsyncEngine, owner: uuid.UUID) -> Seeded:
    from swe_agents.models import Agent
    from swe_agents.models import Project as ProjectView

    project = uuid.uuid4()
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "project_id": project,
            "name": f"agent-{n}",
            "type": ("issue_resolver", "pr_reviewer")[n % 2],
            "description": "A benchmark agent",
            "status": ("active", "disabled")[n % 3 == 0],
            "config": {},
            "created_at": now - timedelta(seconds=n),
            "updated_at": now - timedelta(seconds=n),
        }
        for n in range(ROWS)
    ]
    async with engine.begin() as conn:
        await conn.execute(_read_model_project(_table(ProjectView), project, owner))
        await conn.execute(sa.insert(_table(Agent)), rows)
    return Seeded(
        by_id=[f"/api/v1/agents/{r['id']}" for r in rows[:BY_ID_KEYS]],
        listing=f"/api/v1/agents?project_id={project}&status=active&limit=20",
    )


@dataclass
class Case:
    name: str
    factory: str
    env_prefix: str
    seed: Seeder


CASES = [
    Case("issues", "swe_issues.main:create_app", "ISSUES_", seed_issues),
    Case("projects", "swe_projects.main:create_app", "PROJECTS_", seed_projects),
    Case("agents", "swe_agents.main:create_app", "AGENTS_", seed_agents),
]


# -- the JWKS the services verify against ----------------------------------------------------


@dataclass
class Keys:
    factory: TokenFactory
    url: str


async def serve_jwks(factory: TokenFactory) -> tuple[web.AppRunner, str]:
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(factory.private_key.public_key()))
    body = {"keys": [{**jwk, "kid": factory.kid, "use": "sig", "alg": "ES256"}]}

    async def jwks(_: web.Request) -> web.Response:
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/jwks.json", jwks)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/jwks.json"


# -- the service under test ------------------------------------------------------------------


def service_app(
    case: Case, database_url: str, jwks_url: str, extra_env: dict[str, str] | None = None
) -> UvicornApp:
    """The service as ``swe-stack`` runs it (its uvicorn protocol too, when the checkout the
    server runs has one: a baseline from before ``swe_common.http_server`` runs uvicorn's)."""
    p = case.env_prefix
    env = {
        f"{p}DATABASE_URL": database_url,
        f"{p}JWKS_URL": jwks_url,
        f"{p}AMQP_URL": CLOSED_AMQP,
        f"{p}ENVIRONMENT": "development",
        f"{p}LOG_FORMAT": "json",
        f"{p}LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    # SERVICES_BENCH_CPROFILE=<file>: the whole server run under cProfile (for a look at
    # where the time goes; the figures are then not comparable).
    cprofile = os.environ.get("SERVICES_BENCH_CPROFILE")
    python_args = ("-m", "cProfile", "-o", cprofile) if cprofile else ()
    # The baseline's server has its checkout's sources first on PYTHONPATH.
    tree = Path(os.environ["SERVICES_BENCH_BASELINE"]) if "PYTHONPATH" in env else ROOT
    has_protocol = (tree / "libs/common/src/swe_common/http_server.py").exists()
    protocol = ("--http", HTTP_PROTOCOL) if has_protocol else ()
    return UvicornApp(case.factory, env, python_args=python_args, extra_args=protocol)


async def drive(
    http: aiohttp.ClientSession, server: UvicornApp, paths: list[str], count: int
) -> dict[str, float]:
    """``count`` GETs over ``CLIENTS`` connections; wall time and the server's CPU time."""
    remaining = count
    failures = 0

    async def client(offset: int) -> None:
        nonlocal remaining, failures
        n = offset
        while remaining > 0:
            remaining -= 1
            path = paths[n % len(paths)]
            n += CLIENTS
            async with http.get(server.base + path) as response:
                await response.read()
                if response.status != 200:
                    failures += 1

    cpu_before = cpu_seconds(server.pid)
    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    wall = time.perf_counter() - started
    cpu = cpu_seconds(server.pid) - cpu_before
    if failures:
        raise RuntimeError(f"{failures} of {count} requests to {paths[0]} failed")
    return {"requests": count, "seconds": wall, "cpu_seconds": cpu}


async def profile(
    http: aiohttp.ClientSession, server: UvicornApp, name: str, paths: list[str]
) -> None:
    """py-spy samples the server while it answers one more phase; collapsed stacks go to
    /tmp/services-<name>-<phase>.txt."""
    out = Path(f"/tmp/services-{name}-{PROFILE}.txt")
    spy = PySpy(server.pid, out)
    await spy.start()
    await drive(http, server, paths, REQUESTS)
    await spy.stop()
    print(f"profile: {out}", file=sys.stderr)


def summarise(samples: list[dict[str, float]]) -> dict[str, float]:
    requests = sum(s["requests"] for s in samples)
    seconds = sum(s["seconds"] for s in samples)
    cpu = sum(s["cpu_seconds"] for s in samples)
    cpu_us = cpu / requests * 1e6
    return {
        "requests": requests,
        "per_second": round(requests / seconds),
        "cpu_us_per_request": round(cpu_us),
        "per_core_per_second": round(1e6 / cpu_us) if cpu_us else 0,
    }


async def bench_service(case: Case, keys: Keys) -> dict[str, Any]:
    url = create_test_database(f"swe_bench_{case.name}")
    variants: dict[str, dict[str, str] | None] = {"after": None}
    before = baseline_env("SERVICES_BENCH_BASELINE")
    if before is not None:
        variants = {"before": before, "after": None}
    try:
        await asyncio.to_thread(upgrade_head, ROOT / "services" / case.name, url)
        owner = uuid.uuid4()
        engine = create_async_engine(url)
        try:
            seeded = await case.seed(engine, owner)
        finally:
            await engine.dispose()
        headers = {"Authorization": f"Bearer {keys.factory.token(owner, ttl_seconds=3600)}"}
        phases = {"live": ["/health/live"], "by_id": seeded.by_id, "list": [seeded.listing]}
        samples: dict[str, dict[str, list[dict[str, float]]]] = {
            v: {name: [] for name in phases} for v in variants
        }
        async with contextlib.AsyncExitStack() as stack:
            servers = {
                v: await stack.enter_async_context(service_app(case, url, keys.url, env))
                for v, env in variants.items()
            }
            connector = aiohttp.TCPConnector(limit=CLIENTS * len(servers))
            http = await stack.enter_async_context(
                aiohttp.ClientSession(connector=connector, headers=headers)
            )
            for server in servers.values():  # warm-up: connections, caches, first queries
                for paths in phases.values():
                    await drive(http, server, paths, CLIENTS * 20)
            for _ in range(ROUNDS):
                for name, paths in phases.items():
                    for variant, server in servers.items():
                        samples[variant][name].append(await drive(http, server, paths, REQUESTS))
            if PROFILE:
                await profile(http, servers["after"], case.name, phases[PROFILE])
            log_lines = servers["after"].log_lines
    finally:
        drop_test_database(url)
    result: dict[str, Any] = {v: measured(s) for v, s in samples.items()}
    result["paths"] = {"by_id": seeded.by_id[0], "list": seeded.listing}
    result["log_lines"] = log_lines
    return result


def measured(samples: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    result: dict[str, Any] = {name: summarise(s) for name, s in samples.items()}
    ceiling = result["live"]["cpu_us_per_request"]
    for name in ("by_id", "list"):
        result[name]["cpu_ratio_to_live"] = round(ceiling / result[name]["cpu_us_per_request"], 2)
        result[name]["rate_ratio_to_live"] = round(
            result[name]["per_second"] / result["live"]["per_second"], 2
        )
    return result


def report(results: dict[str, Any]) -> str:
    lines = [
        "## services",
        "",
        f"One uvicorn process per service; {CLIENTS} aiohttp clients; {ROUNDS} interleaved "
        f"rounds of {REQUESTS} requests per phase; load average {results['load_average']}. "
        "CPU µs = the server process's utime+stime per request; per core = 1e6 / CPU µs "
        "(goal: ≥ 1,000 by id, ≥ 600 for the list).",
        "",
        "| service | request | req/s (wall) | CPU µs/req | req/s per core | ratio to live "
        "(CPU / wall) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results["services"].items():
        for variant in ("before", "after"):
            if variant not in r:
                continue
            label = f"{name} ({variant})" if "before" in r else name
            for phase, what in (
                ("live", "/health/live"),
                ("by_id", "read by id"),
                ("list", "list"),
            ):
                p = r[variant][phase]
                ratio = (
                    "1.00"
                    if phase == "live"
                    else f"{p['cpu_ratio_to_live']:.2f} / {p['rate_ratio_to_live']:.2f}"
                )
                lines.append(
                    f"| {label} | {what} | {p['per_second']:,} | {p['cpu_us_per_request']:,} | "
                    f"{p['per_core_per_second']:,} | {ratio} |"
                )
    return "\n".join(lines)


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


async def main() -> int:
    wanted = set(filter(None, os.environ.get("SERVICES_BENCH", "").split(",")))
    cases = [c for c in CASES if not wanted or c.name in wanted]
    factory = TokenFactory()
    runner, jwks_url = await serve_jwks(factory)
    results: dict[str, Any] = {
        "benchmark": "services",
        "at": datetime.now(UTC).isoformat(),
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average": load_average(),
        "settings": {"clients": CLIENTS, "requests": REQUESTS, "rounds": ROUNDS, "rows": ROWS},
        "services": {},
    }
    try:
        for case in cases:
            results["services"][case.name] = await bench_service(case, Keys(factory, jwks_url))
    finally:
        await runner.cleanup()
    if not wanted:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2))
    print(report(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
