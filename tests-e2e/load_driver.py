"""The load run's driver: many users' request loops against the gateway, in a process of its own.

``python tests-e2e/load_driver.py <plan.json> <out.json>`` reads a plan written by
``test_load.py`` (the gateway's URL, the duration, the think time and, for each user, a bearer
token, their own project, issues, pull request and agent, plus the shared project they can
read), runs every user as an asyncio task on one aiohttp session for the plan's duration, and
writes every request's outcome to ``out.json``. It stops by itself: each user's loop ends at the
deadline, and every request has a timeout.

A request that does not answer as expected is recorded as an error, except a 429 with
``Retry-After`` on an endpoint in ``DELIBERATE_429``.

The mix per user action: 70% reads (projects, issues, pull requests, the dashboard), 20% writes
(create or update an issue), 10% agent starts (``code_analyzer`` on the user's own project).
It runs outside the test's event loop so that pytest's own work (sampling memory) neither
slows the users down nor is slowed by them.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

# (action, weight): the weights add up to 100.
MIX: tuple[tuple[str, int], ...] = (
    ("GET /projects", 8),
    ("GET /projects/{id}", 10),
    ("GET /issues", 12),
    ("GET /issues/{id}", 12),
    ("GET /prs", 8),
    ("GET /prs/{id}", 8),
    ("GET /analytics/dashboard", 12),
    ("POST /issues", 10),
    ("PATCH /issues/{id}", 10),
    ("POST /agents/{id}/start", 10),
)
EXPECTED = {"GET": 200, "POST": 201, "PATCH": 200}
# Where a 429 is the design at work, not an error: an agent start while the user's previous run
# is still active (the stack caps active runs per project at 1). A 429 anywhere else (a user
# does ~30 requests a minute, far under the per-user limit) is counted as an error.
DELIBERATE_429 = frozenset({"POST /agents/{id}/start"})
ERROR_SAMPLES = 50


@dataclass
class UserState:
    token: str
    project_id: str
    issue_ids: list[str]
    pr_id: str
    agent_id: str
    shared: dict[str, Any]
    runs: list[str] = field(default_factory=list)


@dataclass
class Recorder:
    started: float
    # (endpoint, status, seconds since the start, milliseconds)
    samples: list[tuple[str, int, float, float]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    kinds: dict[str, int] = field(default_factory=dict)  # "endpoint status detail" -> count

    def error(self, name: str, status: int, body: str, path: str) -> None:
        self.error_count += 1
        try:
            detail = str(json.loads(body).get("detail", body[:120]))
        except (ValueError, AttributeError):
            detail = body[:120]
        kind = f"{name} -> {status}: {detail}"
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if len(self.errors) < ERROR_SAMPLES:
            at = round(time.monotonic() - self.started, 1)
            self.errors.append(
                {"at_s": at, "endpoint": name, "path": path, "status": status, "body": body}
            )


async def call(
    http: aiohttp.ClientSession,
    rec: Recorder,
    user: UserState,
    name: str,
    method: str,
    path: str,
    expected: int,
    body: dict[str, Any] | None = None,
) -> Any:
    headers = {"Authorization": f"Bearer {user.token}"}
    t0 = time.monotonic()
    try:
        async with http.request(method, path, json=body, headers=headers) as response:
            text = await response.text()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        ms = (time.monotonic() - t0) * 1000
        rec.samples.append((name, 0, t0 - rec.started, ms))
        rec.error(name, 0, repr(exc), path)
        return None
    ms = (time.monotonic() - t0) * 1000
    rec.samples.append((name, status, t0 - rec.started, ms))
    if status == 429 and name in DELIBERATE_429:
        if "retry-after" not in {k.lower() for k in response.headers}:
            rec.error(name, 429, "429 without Retry-After: " + text[:300], path)
        return None
    if status != expected:
        rec.error(name, status, text[:600], path)
        return None
    return json.loads(text) if text else None


async def act(http: aiohttp.ClientSession, rec: Recorder, user: UserState, action: str) -> None:
    rnd = random.random
    shared = user.shared
    if action == "GET /projects":
        await call(http, rec, user, action, "GET", "/api/v1/projects?limit=20", 200)
    elif action == "GET /projects/{id}":
        pid = shared["project_id"] if rnd() < 0.3 else user.project_id
        await call(http, rec, user, action, "GET", f"/api/v1/projects/{pid}", 200)
    elif action == "GET /issues":
        pid = shared["project_id"] if rnd() < 0.3 else user.project_id
        path = f"/api/v1/issues?project_id={pid}&limit=20&sort=-created_at"
        await call(http, rec, user, action, "GET", path, 200)
    elif action == "GET /issues/{id}":
        iid = random.choice(shared["issue_ids"] if rnd() < 0.3 else user.issue_ids)
        await call(http, rec, user, action, "GET", f"/api/v1/issues/{iid}", 200)
    elif action == "GET /prs":
        pid = shared["project_id"] if rnd() < 0.3 else user.project_id
        await call(http, rec, user, action, "GET", f"/api/v1/prs?project_id={pid}&limit=20", 200)
    elif action == "GET /prs/{id}":
        prid = shared["pr_id"] if rnd() < 0.3 else user.pr_id
        await call(http, rec, user, action, "GET", f"/api/v1/prs/{prid}", 200)
    elif action == "GET /analytics/dashboard":
        await call(http, rec, user, action, "GET", "/api/v1/analytics/dashboard", 200)
    elif action == "POST /issues":
        body: dict[str, Any] = {
            "project_id": user.project_id,
            "title": f"load issue {random.randrange(10**6)}",
            "description": "made by the load run",
            "priority": random.choice(["low", "medium", "high"]),
        }
        made = await call(http, rec, user, action, "POST", "/api/v1/issues", 201, body)
        if made:
            user.issue_ids.append(made["id"])
    elif action == "PATCH /issues/{id}":
        iid = random.choice(user.issue_ids)
        body = {
            "priority": random.choice(["low", "medium", "high", "critical"]),
            "labels": [random.choice(["load", "bug", "perf"])],
        }
        await call(http, rec, user, action, "PATCH", f"/api/v1/issues/{iid}", 200, body)
    elif action == "POST /agents/{id}/start":
        path = f"/api/v1/agents/{user.agent_id}/start"
        run = await call(http, rec, user, action, "POST", path, 202, {})
        if run:
            user.runs.append(run["id"])
    else:  # pragma: no cover - MIX and act() are written together
        raise ValueError(action)


async def user_loop(
    http: aiohttp.ClientSession,
    rec: Recorder,
    user: UserState,
    deadline: float,
    think: tuple[float, float],
) -> None:
    actions = [a for a, _ in MIX]
    weights = [w for _, w in MIX]
    # Spread the users' first requests over the first think interval (no thundering herd).
    await asyncio.sleep(random.uniform(0, think[1]))
    while time.monotonic() < deadline:
        await act(http, rec, user, random.choices(actions, weights)[0])
        pause = random.uniform(*think)
        if time.monotonic() + pause >= deadline:
            break
        await asyncio.sleep(pause)


async def main(plan_path: str, out_path: str) -> None:
    with open(plan_path) as f:
        plan = json.load(f)
    random.seed(plan.get("seed", 1))
    users = [
        UserState(
            token=u["token"],
            project_id=u["project_id"],
            issue_ids=list(u["issue_ids"]),
            pr_id=u["pr_id"],
            agent_id=u["agent_id"],
            shared=plan["shared"],
        )
        for u in plan["users"]
    ]
    think = (float(plan["think"][0]), float(plan["think"][1]))
    timeout = aiohttp.ClientTimeout(total=float(plan.get("request_timeout", 30)))
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    started = time.monotonic()
    rec = Recorder(started=started)
    deadline = started + float(plan["seconds"])
    async with aiohttp.ClientSession(
        base_url=plan["base_url"], timeout=timeout, connector=connector
    ) as http:
        await asyncio.gather(*(user_loop(http, rec, u, deadline, think) for u in users))
    elapsed = time.monotonic() - started
    result = {
        "elapsed_seconds": round(elapsed, 2),
        "samples": rec.samples,
        "error_count": rec.error_count,
        "errors": rec.errors,
        "error_kinds": dict(sorted(rec.kinds.items(), key=lambda kv: -kv[1])),
        "runs": [{"token_index": i, "run_ids": u.runs} for i, u in enumerate(users)],
    }
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
