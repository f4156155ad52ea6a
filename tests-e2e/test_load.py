"""Load: 100 registered users through the gateway for a fixed time, then nothing may be left over.

The mix (per user action, ``load_driver.MIX``): 70% reads (list and get projects, issues and
pull requests, the analytics dashboard), 20% writes (create or update an issue), 10% agent
starts (``code_analyzer`` on a small local ``file://`` repository). Every user is a real
account with its own token, project, issues, pull request and agent, and is a viewer of one
shared project (the shared read paths). The users run in a separate process
(``load_driver.py``, asyncio + aiohttp, a think time between actions) for ``LOAD_SECONDS``;
this test samples the stack's memory meanwhile.

It asserts: no error other than deliberate 429s (with ``Retry-After``); no run left pending or
running once the queue drains (deadline ``LOAD_DRAIN_SECONDS``); no memory growth trend in any
stack process (see ``GROWTH_LIMIT``). It prints p50/p95/p99 per endpoint as a Markdown table
(``pytest -s``) and writes them to ``bench/results/load.json``.

The load needs limits a single machine's 100 users can live with: they all come from
127.0.0.1, so the gateway's per-IP limits (anonymous 120/min, login 10/min) would refuse the
sign-ups. The test therefore starts a stack of its own (the same isolation as ``conftest``)
with those per-IP limits raised through the gateway's settings (``GATEWAY_RATE_LIMITS`` and a
``GATEWAY_ROUTES_FILE`` whose ``login`` limit is raised); the per-user limit keeps its default
(600/min). It also caps active runs per project at 1 (``AGENTS_MAX_ACTIVE_RUNS_PER_PROJECT``),
so a user starting an analysis while their previous one is still queued gets the service's
deliberate 429 and the queue stays bounded by the number of users.
``E2E_LOAD_BASE_URL`` attaches to a running stack configured like that instead (memory is then
not sampled: its pid files are unknown).

Knobs: ``LOAD_USERS`` (100), ``LOAD_SECONDS`` (60), ``LOAD_THINK`` (seconds between one user's
actions, "1.0,3.0": about 40 requests/s offered by 100 users), ``LOAD_DRAIN_SECONDS`` (90).
The whole test takes about 2.5 minutes (stack start ~20 s, setup of 100 accounts ~25-45 s, load
60 s, drain up to ~30 s).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import Stack, expect, gateway_client, log_in, planted_repo, register

from swe_common.testing import create_test_database, drop_test_database, unique_name

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = ROOT / "bench" / "results"
USERS = int(os.environ.get("LOAD_USERS", "100"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "60"))
THINK = tuple(float(x) for x in os.environ.get("LOAD_THINK", "1.0,3.0").split(","))
DRAIN_SECONDS = float(os.environ.get("LOAD_DRAIN_SECONDS", "90"))
SAMPLE_SECONDS = 3.0
# Memory: samples from the first WARMUP seconds of the load are left out (pools, caches and
# JIT-free Python's arenas fill then). Of the rest, the median of the last third may exceed the
# median of the first third by at most GROWTH_LIMIT (15%) or GROWTH_FLOOR_MIB, whichever is
# larger. Why 15%: a Python service idles at 60-150 MiB; steady state under a constant load
# should be flat apart from allocator noise (a few MiB), so 15% over ~30 s only passes a leak
# slower than ~0.3-0.7 MiB/s (a few KiB per request at this rate), while a per-request leak of
# 10+ KiB, the kind that kills a service in hours, fails. The floor keeps a small process's
# few-MiB jitter from counting as a trend.
WARMUP = 15.0
GROWTH_LIMIT = 0.15
GROWTH_FLOOR_MIB = 8.0
SETUP_CONCURRENCY = 8
TERMINAL = {"completed", "failed", "cancelled"}


# -- the stack ---------------------------------------------------------------------------------


def _routes_with_raised_login_limit(path: Path) -> Path:
    from swe_gateway.config import PACKAGED_ROUTES

    text = PACKAGED_ROUTES.read_text()
    raised, count = re.subn(
        r'(name = "login"\s*\npaths = \[[^\]]*\]\s*\nlimit = )\d+', r"\g<1>100000", text
    )
    assert count == 1, "routes.toml changed shape: the login limit was not found"
    path.write_text(raised)
    return path


@pytest.fixture(scope="module")
def load_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    attached = os.environ.get("E2E_LOAD_BASE_URL")
    if attached:
        yield Stack(base_url=attached.rstrip("/"), amqp_url="", exchange="")
        return
    import conftest as e2e  # the session stack's helpers: same isolation, more generous limits

    run_dir = Path(tempfile.mkdtemp(prefix="swe-load-"))
    database_url = create_test_database("swe_e2e")
    vhost = e2e._isolated_vhost()
    amqp_url = f"{e2e.AMQP_HOST}/{vhost}" if vhost else e2e.AMQP_HOST + "/"
    env = e2e._stack_env(database_url, amqp_url, unique_name("swe.events.load"), run_dir)
    env.update(
        {
            "GATEWAY_ROUTES_FILE": str(_routes_with_raised_login_limit(run_dir / "routes.toml")),
            "GATEWAY_RATE_LIMITS": json.dumps(
                {"anonymous": 100000, "readonly": 600, "user": 600, "agent": 1200, "admin": 3000}
            ),
            "GATEWAY_ACCESS_LOG": "false",
            # Sign-up and login are not what this run measures: cheaper hashing for the setup.
            "AUTH_ARGON2_MEMORY_KIB": "8192",
            "AUTH_ARGON2_TIME_COST": "1",
            "AGENTS_MAX_ACTIVE_RUNS_PER_PROJECT": "1",
            "AGENTS_WORKER_CONCURRENCY": "4",
            # Logs as in production: the development console renderer pretty-prints each
            # unhandled exception's locals with rich, which blocks a service's event loop for
            # tens of seconds on a loaded machine (seen in this run: 36 s in issues).
            "SWE_LOG_FORMAT": "json",
        }
    )
    failed_before = request.session.testsfailed
    try:
        started = e2e._swe_stack("up", env, "--timeout", e2e.UP_TIMEOUT)
        if started.returncode != 0:
            pytest.fail(
                f"swe-stack up failed (logs in {run_dir / 'logs'}):\n"
                f"{started.stdout[-6000:]}\n{started.stderr[-3000:]}",
                pytrace=False,
            )
        base_url = f"http://127.0.0.1:{env['GATEWAY_PORT']}"
        e2e._wait_until_routable(base_url)
        yield Stack(base_url=base_url, amqp_url=amqp_url, exchange="", run_dir=run_dir)
    finally:
        e2e._swe_stack("down", env)
        drop_test_database(database_url)
        if vhost:
            e2e._rabbitmqctl("delete_vhost", vhost)
        tag = env["AGENTS_REDIS_PREFIX"].split(":", 1)[0]
        e2e._delete_redis_keys(f"{tag}:*")
        if request.session.testsfailed == failed_before and not os.environ.get("E2E_KEEP_LOGS"):
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            print(f"\nload stack logs kept in {run_dir / 'logs'}")


# -- memory ------------------------------------------------------------------------------------


def _rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _stack_pids(run_dir: Path | None) -> dict[str, int]:
    if run_dir is None:
        return {}
    pids = {}
    for pid_file in sorted(run_dir.glob("*.pid")):
        try:
            pids[pid_file.stem] = int(pid_file.read_text().strip())
        except ValueError:
            continue
    return pids


def _sample(pids: dict[str, int]) -> dict[str, int | None]:
    return {name: _rss_kib(pid) for name, pid in pids.items()}


def _growth(samples: list[tuple[float, dict[str, int | None]]], name: str) -> dict[str, Any]:
    steady = [s[name] for t, s in samples if t >= WARMUP and s.get(name)]
    if len(steady) < 3:
        return {"samples": len(steady), "verdict": "too few samples"}
    third = max(1, len(steady) // 3)
    first = statistics.median(steady[:third]) / 1024
    last = statistics.median(steady[-third:]) / 1024
    allowed = max(first * GROWTH_LIMIT, GROWTH_FLOOR_MIB)
    return {
        "samples": len(steady),
        "first_third_mib": round(first, 1),
        "last_third_mib": round(last, 1),
        "growth_pct": round((last - first) / first * 100, 1),
        "ok": last - first <= allowed,
    }


# -- setup: real accounts with their own projects ----------------------------------------------


async def _retrying(call: Any, *args: Any) -> Any:
    """Setup only: retry a step the gateway answered 503 "could not be reached" (its pooled
    upstream connection was closed under it; see the report). The load itself never retries."""
    for attempt in range(3):
        try:
            return await call(*args)
        except AssertionError as exc:
            if attempt == 2 or "-> 503" not in str(exc) or "could not be reached" not in str(exc):
                raise
            await asyncio.sleep(1)
    raise AssertionError("unreachable")


async def _new_account(stack: Stack, anonymous: httpx.AsyncClient, prefix: str) -> dict[str, Any]:
    user_id, username, _ = await _retrying(register, anonymous, prefix)
    tokens = await _retrying(log_in, anonymous, username)
    return {"id": user_id, "token": tokens["access_token"]}


def _client(stack: Stack, token: str) -> httpx.AsyncClient:
    return gateway_client(stack, headers={"Authorization": f"Bearer {token}"})


async def _post(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async def once() -> dict[str, Any]:
        return expect(await http.post(path, json=body), 201)  # type: ignore[no-any-return]

    return await _retrying(once)  # type: ignore[no-any-return]


async def _project(http: httpx.AsyncClient, name: str, repo_url: str) -> dict[str, Any]:
    return await _post(http, "/api/v1/projects", {"name": name, "repository_url": repo_url})


async def _issue(http: httpx.AsyncClient, project_id: str, n: int) -> str:
    body = {"project_id": project_id, "title": f"seed issue {n}", "priority": "medium"}
    return (await _post(http, "/api/v1/issues", body))["id"]


async def _pr(http: httpx.AsyncClient, project_id: str) -> str:
    body = {"project_id": project_id, "number": 1, "title": "Add spawn()", "head_ref": "feature"}
    return (await _post(http, "/api/v1/prs", body))["id"]


async def _set_up(stack: Stack, repo_url: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    async with gateway_client(stack) as anonymous:
        host = await _new_account(stack, anonymous, "load-host")
    async with _client(stack, host["token"]) as http:
        project = await _project(http, "shared", repo_url)
        shared = {
            "project_id": project["id"],
            "issue_ids": [await _issue(http, project["id"], n) for n in range(5)],
            "pr_id": await _pr(http, project["id"]),
        }

    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(n: int) -> dict[str, Any]:
        async with gate, gateway_client(stack) as anonymous:
            account = await _new_account(stack, anonymous, f"load{n}")
            async with _client(stack, account["token"]) as http:
                mine = await _project(http, f"svc-{n}", repo_url)
                issues = [await _issue(http, mine["id"], k) for k in range(2)]
                pr_id = await _pr(http, mine["id"])
                agent = await _post(
                    http,
                    "/api/v1/agents",
                    {"project_id": mine["id"], "name": "analyzer", "type": "code_analyzer"},
                )
            async with _client(stack, host["token"]) as http:
                await _post(
                    http,
                    f"/api/v1/projects/{shared['project_id']}/members",
                    {"user_id": account["id"], "role": "viewer"},
                )
        return {
            "token": account["token"],
            "project_id": mine["id"],
            "issue_ids": issues,
            "pr_id": pr_id,
            "agent_id": agent["id"],
        }

    users = await asyncio.gather(*(one(n) for n in range(USERS)))
    return shared, list(users)


# -- results -----------------------------------------------------------------------------------


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    index = min(len(sorted_ms) - 1, max(0, round(q / 100 * len(sorted_ms) + 0.5) - 1))
    return round(sorted_ms[index], 1)


def _endpoint_table(samples: list[list[Any]], seconds: float) -> dict[str, dict[str, Any]]:
    from load_driver import MIX

    by_name: dict[str, list[list[Any]]] = {name: [] for name, _ in MIX}
    for sample in samples:
        by_name.setdefault(sample[0], []).append(sample)
    by_name["all"] = samples
    table = {}
    for name, rows in by_name.items():
        if not rows:
            continue
        ms = sorted(r[3] for r in rows if r[1] != 0)
        table[name] = {
            "requests": len(rows),
            "rps": round(len(rows) / seconds, 1),
            "rate_limited": sum(1 for r in rows if r[1] == 429),
            "p50_ms": _percentile(ms, 50),
            "p95_ms": _percentile(ms, 95),
            "p99_ms": _percentile(ms, 99),
            "max_ms": round(ms[-1], 1) if ms else 0.0,
        }
    return table


def _markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Load: {report['users']} users, {report['seconds']:.0f} s, think "
        f"{report['think_seconds'][0]}-{report['think_seconds'][1]} s, "
        f"{report['requests']} requests ({report['mean_rps_all']} req/s), "
        f"errors {report['errors']}, "
        f"deliberate 429s {report['rate_limited']}; load average {report['load_average_before']}"
        f" before, {report['load_average_after']} after ({report['machine']}).",
        "",
        "| endpoint | requests | req/s | 429 | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in report["endpoints"].items():
        lines.append(
            f"| {name} | {row['requests']} | {row['rps']} | {row['rate_limited']} | "
            f"{row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['max_ms']} |"
        )
    memory = report.get("memory", {})
    if memory:
        lines += [
            "",
            "| process | before MiB | during: first third | last third | growth | after MiB |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, row in memory.items():
            lines.append(
                f"| {name} | {row['before_mib']} | {row.get('first_third_mib', '-')} | "
                f"{row.get('last_third_mib', '-')} | {row.get('growth_pct', '-')}% | "
                f"{row['after_mib']} |"
            )
    if report.get("error_kinds"):
        lines += ["", "Errors by kind:", ""]
        lines += [f"- {count} x {kind}" for kind, count in report["error_kinds"].items()]
    runs = report["runs"]
    lines += [
        "",
        f"Runs: {runs['started']} started, by status after the drain {runs['by_status']}, "
        f"drained in {runs['drain_seconds']} s.",
    ]
    return "\n".join(lines)


def _load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _mib(kib: int | None) -> float | None:
    return round(kib / 1024, 1) if kib else None


# -- the test ----------------------------------------------------------------------------------


async def test_a_hundred_users_for_a_minute_leave_no_errors_no_stuck_runs_no_growth(
    load_stack: Stack, tmp_path: Path
) -> None:
    stack = load_stack
    repo = planted_repo(tmp_path / "load-repo")
    setup_started = time.monotonic()
    shared, users = await _set_up(stack, repo.url)
    setup_seconds = time.monotonic() - setup_started

    plan = {
        "base_url": stack.base_url,
        "seconds": SECONDS,
        "think": list(THINK),
        "seed": 20261125,
        "request_timeout": 30,
        "shared": shared,
        "users": users,
    }
    plan_path, out_path = tmp_path / "plan.json", tmp_path / "out.json"
    plan_path.write_text(json.dumps(plan))

    pids = _stack_pids(stack.run_dir)
    before = _sample(pids)
    load_before = _load_average()
    driver = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "load_driver.py"), str(plan_path), str(out_path)
    )
    load_started = time.monotonic()
    during: list[tuple[float, dict[str, int | None]]] = []
    try:
        while True:
            try:
                await asyncio.wait_for(driver.wait(), timeout=SAMPLE_SECONDS)
                break
            except TimeoutError:
                during.append((time.monotonic() - load_started, _sample(pids)))
            if time.monotonic() - load_started > SECONDS + 90:
                pytest.fail("the load driver did not stop by itself", pytrace=False)
    finally:
        if driver.returncode is None:
            driver.kill()
            await driver.wait()
    assert driver.returncode == 0, f"the load driver exited with {driver.returncode}"
    out = json.loads(out_path.read_text())
    load_after = _load_average()

    # Drain: every run of every user's agent reaches a terminal status.
    drain_started = time.monotonic()
    by_status: dict[str, int] = {}
    open_runs: list[str] = []
    async with gateway_client(stack) as http:
        while True:
            by_status, open_runs = {}, []
            for user in users:
                page = expect(
                    await http.get(
                        f"/api/v1/agents/{user['agent_id']}/runs?limit=100",
                        headers={"Authorization": f"Bearer {user['token']}"},
                    ),
                    200,
                )
                for run in page["items"]:
                    by_status[run["status"]] = by_status.get(run["status"], 0) + 1
                    if run["status"] not in TERMINAL:
                        open_runs.append(run["id"])
            if not open_runs or time.monotonic() - drain_started > DRAIN_SECONDS:
                break
            await asyncio.sleep(2)
    drain_seconds = time.monotonic() - drain_started
    await asyncio.sleep(3)  # let the stack settle before the last memory sample
    after = _sample(pids)

    # The figures.
    samples = out["samples"]
    seconds = out["elapsed_seconds"]
    endpoints = _endpoint_table(samples, seconds)
    memory = {
        name: {
            "pid": pids[name],
            "before_mib": _mib(before.get(name)),
            "after_mib": _mib(after.get(name)),
            **_growth(during, name),
            "during_mib": [_mib(s.get(name)) for _, s in during],
        }
        for name in pids
    }
    report = {
        "benchmark": "load",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        "load_average_before": load_before,
        "load_average_after": load_after,
        "users": USERS,
        "seconds": seconds,
        "think_seconds": list(THINK),
        "setup_seconds": round(setup_seconds, 1),
        "requests": len(samples),
        "mean_rps_all": round(len(samples) / seconds, 1),
        "errors": out["error_count"],
        "rate_limited": sum(1 for s in samples if s[1] == 429),
        "error_kinds": out["error_kinds"],
        "error_samples": out["errors"][:20],
        "endpoints": endpoints,
        "memory": memory,
        "memory_rule": {
            "warmup_seconds": WARMUP,
            "growth_limit_pct": GROWTH_LIMIT * 100,
            "growth_floor_mib": GROWTH_FLOOR_MIB,
            "sample_seconds": SAMPLE_SECONDS,
        },
        "runs": {
            "started": sum(len(r["run_ids"]) for r in out["runs"]),
            "by_status": by_status,
            "drain_seconds": round(drain_seconds, 1),
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.json").write_text(json.dumps(report, indent=2) + "\n")
    print("\n" + _markdown(report))

    assert out["error_count"] == 0, (
        f"{out['error_count']} errors other than deliberate 429s, by kind: "
        + json.dumps(out["error_kinds"], indent=1)
        + "\nfirst ones: "
        + json.dumps(out["errors"][:5], indent=1)
    )
    assert not open_runs, (
        f"{len(open_runs)} runs still pending or running {DRAIN_SECONDS:.0f} s after the load: "
        f"{open_runs[:10]} (by status {by_status})"
    )
    grown = {n: m for n, m in memory.items() if m.get("ok") is False}
    assert not grown, f"memory grew over the run: {json.dumps(grown, indent=1)}"
    assert len(samples) > USERS, "the load barely ran"
