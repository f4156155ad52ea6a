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

The capacity run (``bench/capacity_bench.py``) drives the same mix open-loop instead
(``open_loop``: requests on a fixed clock whatever the answers take, latency from the scheduled
time) at rising rates (``next_rate``) and keeps the highest that held (``capacity``).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sys
import time
from collections.abc import Sequence
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


async def _call(
    http: aiohttp.ClientSession,
    rec: Recorder,
    user: UserState,
    name: str,
    method: str,
    path: str,
    expected: int,
    body: dict[str, Any] | None = None,
    since: float | None = None,
) -> Any:
    headers = {"Authorization": f"Bearer {user.token}"}
    # The capacity run's open loop passes the request's scheduled send time: a request its
    # driver sent late is then measured from when it was due, not as faster than it was (no
    # coordinated omission). The closed loop measures from the send.
    t0 = time.monotonic() if since is None else since
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


async def act(
    http: aiohttp.ClientSession,
    rec: Recorder,
    user: UserState,
    action: str,
    since: float | None = None,
) -> None:
    rnd = random.random
    shared = user.shared

    async def call(
        name: str, method: str, path: str, expected: int, body: dict[str, Any] | None = None
    ) -> Any:
        return await _call(http, rec, user, name, method, path, expected, body, since)

    if action == "GET /projects":
        await call(action, "GET", "/api/v1/projects?limit=20", 200)
    elif action == "GET /projects/{id}":
        pid = shared["project_id"] if rnd() < 0.3 else user.project_id
        await call(action, "GET", f"/api/v1/projects/{pid}", 200)
    elif action == "GET /issues":
        pid = shared["project_id"] if rnd() < 0.3 else user.project_id
        path = f"/api/v1/issues?project_id={pid}&limit=20&sort=-created_at"
        await call(action, "GET", path, 200)
    elif action == "GET /issues/{id}":
        iid = random.choice(shared["issue_ids"] if rnd() < 0.3 else user.issue_ids)
        await call(action, "GET", f"/api/v1/issues/{iid}", 200)
    elif action == "GET /prs":
        pid = shared["project_id"] if rnd() < 0.3 else user.project_id
        await call(action, "GET", f"/api/v1/prs?project_id={pid}&limit=20", 200)
    elif action == "GET /prs/{id}":
        prid = shared["pr_id"] if rnd() < 0.3 else user.pr_id
        await call(action, "GET", f"/api/v1/prs/{prid}", 200)
    elif action == "GET /analytics/dashboard":
        await call(action, "GET", "/api/v1/analytics/dashboard", 200)
    elif action == "POST /issues":
        body: dict[str, Any] = {
            "project_id": user.project_id,
            "title": f"load issue {random.randrange(10**6)}",
            "description": "made by the load run",
            "priority": random.choice(["low", "medium", "high"]),
        }
        made = await call(action, "POST", "/api/v1/issues", 201, body)
        if made:
            user.issue_ids.append(made["id"])
    elif action == "PATCH /issues/{id}":
        iid = random.choice(user.issue_ids)
        body = {
            "priority": random.choice(["low", "medium", "high", "critical"]),
            "labels": [random.choice(["load", "bug", "perf"])],
        }
        await call(action, "PATCH", f"/api/v1/issues/{iid}", 200, body)
    elif action == "POST /agents/{id}/start":
        path = f"/api/v1/agents/{user.agent_id}/start"
        run = await call(action, "POST", path, 202, {})
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


# -- the capacity run's open loop (bench/capacity_bench.py) ------------------------------------


def send_times(rate: float, seconds: float) -> list[float]:
    """The open-loop schedule of one step: each request's send time (seconds from the step's
    start) on a fixed clock, ``rate`` a second, whatever the answers take."""
    return [i / rate for i in range(round(rate * seconds))]


def percentile(sorted_ms: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``th percentile of values sorted ascending (0 for none): the
    smallest value with at least q % of them at or below it."""
    if not sorted_ms:
        return 0.0
    # ceil, not round(x + 0.5): Python rounds halves to even, which took p99 of 100 values
    # from the 100th instead of the 99th.
    index = min(len(sorted_ms) - 1, max(0, math.ceil(q * len(sorted_ms) / 100) - 1))
    return round(sorted_ms[index], 1)


async def open_loop(
    http: aiohttp.ClientSession,
    rec: Recorder,
    users: Sequence[UserState],
    rate: float,
    seconds: float,
    mix: Sequence[tuple[str, int]],
    max_in_flight: int,
    timeout_ms: float,
) -> list[float]:
    """Fire the mix's requests at ``rate`` a second for ``seconds``, each at its scheduled time
    (``send_times``), from a random user, without waiting for earlier answers; answer once
    every request has answered or failed. Latencies are measured from the scheduled time.

    Beyond ``max_in_flight`` unanswered requests a due request is not sent but recorded as a
    timeout (the stack is past saturation by then; unbounded connections would only take the
    machine with it). Returns how late each request left (ms): the driver's own lag, which
    shows when the client rather than the stack could not keep the rate.
    """
    actions = [a for a, _ in mix]
    weights = [w for _, w in mix]
    pending: set[asyncio.Task[None]] = set()
    lags: list[float] = []
    start = time.monotonic()
    for offset in send_times(rate, seconds):
        due = start + offset
        # sleep(0) when behind still yields: the requests already sent get to progress.
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        lags.append((time.monotonic() - due) * 1000)
        action = random.choices(actions, weights)[0]
        if len(pending) >= max_in_flight:
            rec.samples.append((action, 0, due - rec.started, timeout_ms))
            rec.error(action, 0, f"not sent: {max_in_flight} requests in flight", "")
            continue
        task = asyncio.create_task(act(http, rec, random.choice(users), action, since=due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    return lags


def step_summary(
    samples: Sequence[tuple[str, int, float, float]],
    offered: float,
    seconds: float,
    errors: int,
    deliberate: frozenset[str] = DELIBERATE_429,
) -> dict[str, Any]:
    """One open-loop step's figures from its samples (endpoint, status, scheduled offset s,
    ms): ``rps``, requests answered per second over the step (until its last answer, if later), the
    latency percentiles of every request (failed ones too: a timeout is a slow answer), the
    errors and the deliberate 429s."""
    answered = [s for s in samples if s[1] != 0]
    last = max((s[2] + s[3] / 1000 for s in samples), default=seconds)
    ms = sorted(s[3] for s in samples)
    return {
        "offered": offered,
        "sent": len(samples),
        "rps": round(len(answered) / max(seconds, last), 1),  # achieved
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": round(ms[-1], 1) if ms else 0.0,
        "errors": errors,
        "deliberate_429": sum(1 for s in samples if s[1] == 429 and s[0] in deliberate),
    }


def step_passes(step: dict[str, Any], p99_limit_ms: float) -> bool:
    return step["errors"] == 0 and step["p99_ms"] < p99_limit_ms


def capacity(steps: Sequence[dict[str, Any]], p99_limit_ms: float) -> float | None:
    """The highest offered rate that kept p99 under the limit with no error, below every rate
    that did not (a pass above a failure is luck an operator cannot plan on). None: even the
    lowest rate tried failed."""
    ceiling = min(
        (s["offered"] for s in steps if not step_passes(s, p99_limit_ms)), default=math.inf
    )
    return max(
        (s["offered"] for s in steps if step_passes(s, p99_limit_ms) and s["offered"] < ceiling),
        default=None,
    )


def next_rate(
    tried: Sequence[tuple[float, bool]], start: float, refine: int, max_rate: float
) -> float | None:
    """The rising-rate search: ``start``, then doubling while every step passes; after the
    first failure, ``refine`` bisections between the highest pass below the lowest failure (or
    0) and that failure. None when done (or the next doubling passes ``max_rate``)."""
    if not tried:
        return start
    failures = [rate for rate, ok in tried if not ok]
    if not failures:
        doubled = max(rate for rate, _ in tried) * 2
        return doubled if doubled <= max_rate else None
    first_failure = next(i for i, (_, ok) in enumerate(tried) if not ok)
    if len(tried) - first_failure - 1 >= refine:
        return None
    ceiling = min(failures)
    floor = max((rate for rate, ok in tried if ok and rate < ceiling), default=0.0)
    middle = float(round((floor + ceiling) / 2))
    if middle <= floor or middle >= ceiling:
        return None
    return middle


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
