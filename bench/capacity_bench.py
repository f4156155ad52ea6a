"""Capacity, as an operator sizes it: the load run's mix, open-loop, at rising rates.

The stack starts as the end-to-end load run starts it (``tests-e2e/conftest.py``:
``isolated_stack`` with ``load_ready_env``: every service, the worker and the gateway as native
processes, a fresh database, vhost and key prefixes), with the per-user request budget raised so
that the limiter (still consulted on every request) never answers for the platform, and a
stand-in console build (the console is not what is measured). ``USERS`` accounts are set up
through the gateway as the load run sets them up (``test_load._set_up``: a project, issues, a
pull request and an agent each, viewers of a shared project).

Then, twice — the mix without agent runs, and the whole mix with its 10 % of run starts
(``load_driver.MIX``) — requests are fired on a fixed clock (``load_driver.open_loop``),
whatever the answers take, for ``STEP_SECONDS`` per rate: ``START`` req/s, doubling while a step
holds, then ``REFINE`` bisections between the last rate that held and the first that did not.
Latency is measured from each request's scheduled send time, so a stack that falls behind is
not flattered by a client that waits for it (coordinated omission). A step holds when its p99
is under ``P99_LIMIT_MS`` and nothing failed (a 429 with Retry-After on an agent start is the
design at work: the stack allows one active run per project and the gateway 10 starts a minute
per caller). The capacity of a mix is the highest rate that held below every rate that did not.

Per step: offered and achieved rates, p50/p95/p99/max, errors by kind, the driver's own send
lag and CPU, and each stack process's CPU (% of a core, ``/proc/<pid>/stat``, the worker with
its analysis tools); the busiest process at the first step that did not hold is the
bottleneck. Capacity per core = capacity / the cores the machine gives the stack (the stack's
processes are not pinned; PostgreSQL, RabbitMQ and Redis run on the same cores and are not in
the per-process figures). From these the sizing table: replicas per service for teams of
``TEAMS`` engineers under the stated assumptions (``RPM_PER_ENGINEER``, ``RUNS_PER_HOUR``).

Knobs: ``CAPACITY_STEP_SECONDS`` (20), ``CAPACITY_START`` (25 req/s), ``CAPACITY_REFINE`` (1),
``CAPACITY_MAX_RATE`` (3200), ``CAPACITY_USERS`` (40). About 4-6 minutes with the defaults.
``--sizing-only`` redoes the sizing from ``capacity.json`` under other assumptions, running
nothing.
Results: ``bench/results/capacity.json`` and ``capacity.png`` (latency percentiles against the
offered rate, both mixes).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests-e2e"))

import conftest as e2e  # noqa: E402 - the e2e stack's start, reused (tests-e2e/conftest.py)
import load_driver  # noqa: E402
import test_load  # noqa: E402
from e2e_support import planted_repo  # noqa: E402

from swe_common.testing import machine_cpu_jiffies  # noqa: E402
from swe_web.testing import write_placeholder_build  # noqa: E402

RESULTS = HERE / "results"
STEP_SECONDS = float(os.environ.get("CAPACITY_STEP_SECONDS", "20"))
START = float(os.environ.get("CAPACITY_START", "25"))
REFINE = int(os.environ.get("CAPACITY_REFINE", "1"))
MAX_RATE = float(os.environ.get("CAPACITY_MAX_RATE", "3200"))
USERS = int(os.environ.get("CAPACITY_USERS", "40"))
P99_LIMIT_MS = 200.0
WARMUP_SECONDS = 5.0  # at the first rate, not measured: pools, caches, the worker's first run
PAUSE_SECONDS = 2.0  # between steps: the previous step's stragglers leave the queues
# After a step that did not hold: a breaker the overload opened stays open for its cooldown
# (the gateway's default, 30 s), and the next step must not be measured against it.
RECOVERY_SECONDS = 32.0
REQUEST_TIMEOUT = 5.0  # seconds; a slower answer is an error (and fails its step anyway)
MAX_IN_FLIGHT = 2000
MIXES = {
    "without agent runs": tuple(m for m in load_driver.MIX if m[0] != "POST /agents/{id}/start"),
    "with agent runs": load_driver.MIX,
}
# Sizing assumptions (README-stated; overridable to size another team profile).
TEAMS = (10, 50, 200, 1000)
RPM_PER_ENGINEER = float(os.environ.get("CAPACITY_RPM_PER_ENGINEER", "20"))
RUNS_PER_HOUR = float(os.environ.get("CAPACITY_RUNS_PER_ENGINEER_HOUR", "2"))
REPLICA_UTILISATION = 0.6  # of a replica's one core, at peak: headroom for bursts
MIN_REPLICAS = 2  # every service's Deployment/HPA minimum (availability, PDB)
WORKER_CORES = 2  # a worker pod's CPU limit (k8s/base/services/agents-worker.yaml)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # stdout is the report's Markdown


def cores() -> int:
    return len(os.sched_getaffinity(0))


TICKS = os.sysconf("SC_CLK_TCK")
# The data stores, by process name: shared with whatever else runs on the machine, so their
# figures are an upper bound of what the platform made them spend.
STORES = {
    "postgres": ("postgres",),
    "rabbitmq": ("beam.smp", "erl_child_setup", "inet_gethost", "epmd"),
    "redis": ("redis-server",),
}


def every_process_cpu() -> dict[int, tuple[str, float]]:
    """(name, CPU seconds so far) of every process on the machine."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                raw = stat.read()
        except OSError:
            continue  # gone meanwhile
        fields = raw.rsplit(")", 1)[1].split()
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        found[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / TICKS)
    return found


def stores_cores(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], wall: float
) -> dict[str, float]:
    """Cores each data store used between two snapshots (a process started meanwhile counts
    from zero; one that ended meanwhile is lost, which PostgreSQL's pooled backends rarely do)."""
    used = dict.fromkeys(STORES, 0.0)
    for pid, (name, seconds) in after.items():
        for store, names in STORES.items():
            if name in names:
                used[store] += seconds - before.get(pid, (name, 0.0))[1]
    return {store: round(v / wall, 2) for store, v in used.items()}


# -- one step -----------------------------------------------------------------------------------


async def run_step(
    http: aiohttp.ClientSession,
    users: list[load_driver.UserState],
    mix: tuple[tuple[str, int], ...],
    rate: float,
    seconds: float,
    pids: dict[str, int],
) -> dict[str, Any]:
    rec = load_driver.Recorder(started=time.monotonic())
    cpu_before, machine_before = test_load._cpu(pids), machine_cpu_jiffies()
    own_before, load_before = time.process_time(), test_load._load_average()
    everything_before = every_process_cpu()
    started = time.monotonic()
    lags = await load_driver.open_loop(
        http, rec, users, rate, seconds, mix, MAX_IN_FLIGHT, REQUEST_TIMEOUT * 1000
    )
    wall = time.monotonic() - started
    cpu_after, machine_after = test_load._cpu(pids), machine_cpu_jiffies()
    everything_after = every_process_cpu()
    step: dict[str, Any] = load_driver.step_summary(rec.samples, rate, seconds, rec.error_count)
    lags.sort()
    busy = (machine_after[0] - machine_before[0]) / max(1, machine_after[1] - machine_before[1])
    cpu_pct = {
        name: test_load._cpu_pct(cpu_before.get(name), cpu_after.get(name), wall) for name in pids
    }
    driver = (time.process_time() - own_before) / wall
    # Where the machine's cores went during the step: the platform's processes, the data
    # stores, this driver, and everything else (the neighbours on a shared machine).
    where = {
        "platform": round(sum(v or 0 for v in cpu_pct.values()) / 100, 2),
        **stores_cores(everything_before, everything_after, wall),
        "driver": round(driver, 2),
    }
    where["rest of the machine"] = round(max(0.0, busy * cores() - sum(where.values())), 2)
    step |= {
        "error_kinds": dict(sorted(rec.kinds.items(), key=lambda kv: -kv[1])),
        "driver_lag_ms_p99": load_driver.percentile(lags, 99),
        "driver_cpu_pct": round(driver * 100, 1),
        "runs_started": sum(
            1 for s in rec.samples if s[0] == "POST /agents/{id}/start" and s[1] == 202
        ),
        "cpu_pct": cpu_pct,
        "machine_cores": where,
        "machine_busy_pct": round(busy * 100, 1),
        "load_average": load_before,
        "holds": False,
    }
    step["holds"] = load_driver.step_passes(step, P99_LIMIT_MS)
    return step


async def run_mix(
    http: aiohttp.ClientSession,
    users: list[load_driver.UserState],
    name: str,
    mix: tuple[tuple[str, int], ...],
    pids: dict[str, int],
) -> dict[str, Any]:
    await run_step(http, users, mix, START, WARMUP_SECONDS, pids)
    steps: list[dict[str, Any]] = []
    while (
        rate := load_driver.next_rate(
            [(s["offered"], s["holds"]) for s in steps], START, REFINE, MAX_RATE
        )
    ) is not None:
        await asyncio.sleep(PAUSE_SECONDS if not steps or steps[-1]["holds"] else RECOVERY_SECONDS)
        step = await run_step(http, users, mix, rate, STEP_SECONDS, pids)
        steps.append(step)
        log(
            f"  {name} {rate:.0f} req/s: achieved {step['rps']}, p50/p95/p99 "
            f"{step['p50_ms']}/{step['p95_ms']}/{step['p99_ms']} ms, errors {step['errors']}, "
            f"load {step['load_average']}"
        )
    capacity = load_driver.capacity(steps, P99_LIMIT_MS)
    at_capacity = next((s for s in steps if s["offered"] == capacity), None)
    failed = sorted((s for s in steps if not s["holds"]), key=lambda s: s["offered"])
    saturating = failed[0] if failed else max(steps, key=lambda s: s["offered"])
    cpu = {k: v for k, v in saturating["cpu_pct"].items() if v is not None}
    bottleneck = max(cpu, key=lambda k: cpu[k]) if cpu else None
    # The cores the platform's own processes used while holding it (not the data stores, not
    # the driver): on a shared machine it may get less than every core.
    used = sum(v or 0 for v in at_capacity["cpu_pct"].values()) / 100 if at_capacity else None
    return {
        "capacity_rps": capacity,
        "stack_cores_used_at_capacity": round(used, 2) if used is not None else None,
        "capacity_per_core_rps": round(capacity / cores(), 1) if capacity else None,
        "bottleneck": bottleneck,
        "saturating_offered": saturating["offered"],
        "saturating_cpu_pct": saturating["cpu_pct"],
        "saturating_machine_cores": saturating["machine_cores"],
        "at_capacity": at_capacity,
        # Lists are series to the summary (bench/report.py): the steps stay out of its table.
        "steps": sorted(steps, key=lambda s: s["offered"]),
    }


# -- sizing -------------------------------------------------------------------------------------


def cpu_ms_per_request(at: dict[str, Any] | None) -> dict[str, float]:
    """Each process's CPU per request of the mix at the capacity step (ms of a core)."""
    if not at or not at["rps"]:
        return {}
    return {
        name: round(pct / 100 / at["rps"] * 1000, 2)
        for name, pct in at["cpu_pct"].items()
        if pct is not None and name != "agents-worker"
    }


def worker_cpu_seconds_per_run() -> tuple[float | None, str]:
    """A realistic analysis's CPU: the agents benchmark's warm run over ~50,000 lines (the load
    mix's repository has three files, so its runs say little about a real one)."""
    try:
        data = json.loads((RESULTS / "agents.json").read_text())
        analysis = data["analysis"]
        return float(analysis["platform_warm_cpu_seconds"]), (
            f"agents bench: {analysis['lines_of_code']:,} lines, "
            f"{analysis['platform_warm_cpu_seconds']} CPU s"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None, "no bench/results/agents.json"


def sizing(without_runs: dict[str, Any]) -> dict[str, Any]:
    at = without_runs["at_capacity"]
    per_request = cpu_ms_per_request(at)
    # PostgreSQL's CPU per request (an upper bound: the server is shared): what the database
    # needs beside the replicas.
    postgres_ms = (
        round(at["machine_cores"]["postgres"] / at["rps"] * 1000, 2) if at and at["rps"] else None
    )
    run_cpu, run_source = worker_cpu_seconds_per_run()
    # How many engineers one replica carries at the planned utilisation: where each service's
    # next replica comes.
    per_replica = {
        name: math.floor(REPLICA_UTILISATION / (ms / 1000) / (RPM_PER_ENGINEER / 60))
        for name, ms in per_request.items()
        if ms > 0
    }
    if run_cpu:
        per_replica["agents-worker"] = math.floor(
            WORKER_CORES * REPLICA_UTILISATION / (RUNS_PER_HOUR / 3600 * run_cpu)
        )
    teams = {}
    for engineers in TEAMS:
        peak_rps = engineers * RPM_PER_ENGINEER / 60
        replicas = {
            name: max(MIN_REPLICAS, math.ceil(peak_rps * ms / 1000 / REPLICA_UTILISATION))
            for name, ms in per_request.items()
        }
        if run_cpu is not None:
            worker_cores = engineers * RUNS_PER_HOUR / 3600 * run_cpu
            replicas["agents-worker"] = max(
                1, math.ceil(worker_cores / (WORKER_CORES * REPLICA_UTILISATION))
            )
        teams[str(engineers)] = {
            "peak_requests_per_s": round(peak_rps, 1),
            "replicas": replicas,
            "postgres_cores": round(peak_rps * postgres_ms / 1000, 2) if postgres_ms else None,
        }
    return {
        "assumptions": {
            "requests_per_engineer_per_minute_at_peak": RPM_PER_ENGINEER,
            "agent_runs_per_engineer_per_hour_at_peak": RUNS_PER_HOUR,
            "replica_cpu_utilisation_at_peak": REPLICA_UTILISATION,
            "min_replicas": MIN_REPLICAS,
            "worker_cores_per_pod": WORKER_CORES,
            "worker_cpu_seconds_per_run": run_cpu,
            "worker_run_source": run_source,
        },
        "cpu_ms_per_request": per_request,
        "postgres_cpu_ms_per_request": postgres_ms,
        "engineers_per_replica": per_replica,
        "teams": teams,
    }


# -- the run ------------------------------------------------------------------------------------


async def measure(stack: Any, work: Path) -> dict[str, Any]:
    repo = planted_repo(work / "capacity-repo")
    started = time.monotonic()
    shared, accounts = await test_load._set_up(stack, repo.url, USERS)
    log(f"set up {USERS} users in {time.monotonic() - started:.0f} s")
    users = [
        load_driver.UserState(
            token=u["token"],
            project_id=u["project_id"],
            issue_ids=list(u["issue_ids"]),
            pr_id=u["pr_id"],
            agent_id=u["agent_id"],
            shared=shared,
        )
        for u in accounts
    ]
    pids = test_load._stack_pids(stack.run_dir)
    random.seed(20261203)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=0)
    mixes = {}
    async with aiohttp.ClientSession(
        base_url=stack.base_url, timeout=timeout, connector=connector
    ) as http:
        for name, mix in MIXES.items():
            mixes[name] = await run_mix(http, users, name, mix, pids)
    return mixes


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Capacity: the load run's mix open-loop through the gateway, {report['users']} users, "
        f"{report['step_seconds']:.0f} s a step; a rate holds with p99 < "
        f"{report['p99_limit_ms']:.0f} ms and no error. {report['cores']} cores, load average "
        f"{report['load_average_before']} before, {report['load_average_after']} after.",
        "",
        "| mix | offered req/s | achieved | p50 ms | p95 ms | p99 ms | errors | holds "
        "| driver lag p99 ms | machine busy % | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    lines += [
        f"| {name} | {s['offered']:.0f} | {s['rps']} | {s['p50_ms']} | "
        f"{s['p95_ms']} | {s['p99_ms']} | {s['errors']} | "
        f"{'yes' if s['holds'] else 'no'} | {s['driver_lag_ms_p99']} | "
        f"{s['machine_busy_pct']} | {s['load_average']} |"
        for name, mix in report["mixes"].items()
        for s in mix["steps"]
    ]
    lines.append("")
    for name, mix in report["mixes"].items():
        cap = mix["capacity_rps"]
        cores_used = ", ".join(f"{k} {v}" for k, v in mix["saturating_machine_cores"].items())
        cpu = ", ".join(
            f"{k} {v}%"
            for k, v in sorted(mix["saturating_cpu_pct"].items(), key=lambda kv: -(kv[1] or 0))
        )
        lines.append(
            f"- **{name}**: capacity **{cap if cap is not None else f'< {START:.0f}'} req/s**"
            f" ({mix['capacity_per_core_rps'] or '-'} per core; the platform's processes used "
            f"{mix['stack_cores_used_at_capacity'] or '-'} cores there); at "
            f"{mix['saturating_offered']:.0f} req/s, CPU % of a core: {cpu} "
            f"(busiest process: {mix['bottleneck']}); the machine's cores there: {cores_used}."
        )
        for s in mix["steps"]:
            if s["error_kinds"]:
                kinds = "; ".join(f"{n} x {k}" for k, n in list(s["error_kinds"].items())[:4])
                lines.append(f"  - errors at {s['offered']:.0f} req/s: {kinds}")
    size = report["sizing"]
    a = size["assumptions"]
    services = sorted({k for t in size["teams"].values() for k in t["replicas"]})
    lines += [
        "",
        f"Sizing ({a['requests_per_engineer_per_minute_at_peak']:.0f} API requests per engineer "
        f"a minute and {a['agent_runs_per_engineer_per_hour_at_peak']:.0f} agent runs an hour at "
        f"peak; a replica planned at {a['replica_cpu_utilisation_at_peak']:.0%} of its core, "
        f"at least {a['min_replicas']}; CPU per request from the capacity step "
        f"{size['cpu_ms_per_request']} ms, PostgreSQL "
        f"{size['postgres_cpu_ms_per_request']} ms (shared: an upper bound); a run "
        f"{a['worker_cpu_seconds_per_run']} CPU s, "
        f"{a['worker_run_source']}):",
        "",
        "| engineers | peak req/s | " + " | ".join(services) + " | PostgreSQL cores |",
        "|---:|---:|" + "---:|" * (len(services) + 1),
    ]
    for engineers, team in size["teams"].items():
        cells = " | ".join(str(team["replicas"].get(s, "-")) for s in services)
        lines.append(
            f"| {engineers} | {team['peak_requests_per_s']} | {cells} | "
            f"{team['postgres_cores'] or '-'} |"
        )
    cells = " | ".join(str(size["engineers_per_replica"].get(s, "-")) for s in services)
    lines.append(f"| engineers per replica | | {cells} | |")
    return "\n".join(lines)


def resize() -> int:
    """``--sizing-only``: the sizing table again from ``capacity.json`` as measured, under the
    assumptions of this run's environment (``CAPACITY_RPM_PER_ENGINEER``,
    ``CAPACITY_RUNS_PER_ENGINEER_HOUR``): another team's profile without another run."""
    path = RESULTS / "capacity.json"
    report = json.loads(path.read_text())
    report["sizing"] = sizing(report["mixes"]["without agent runs"])
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    return 0


def main() -> int:
    if "--sizing-only" in sys.argv[1:]:
        return resize()
    import report as bench_report  # bench/report.py (this directory is on sys.path)

    load_before = test_load._load_average()
    with tempfile.TemporaryDirectory(prefix="capacity-") as tmp:
        work = Path(tmp)
        extra = {
            **e2e.load_ready_env(work),
            # The platform's capacity, not one user's budget: 40 users offer up to hundreds of
            # requests a second each. The limiter still runs its Redis script per request.
            "GATEWAY_RATE_LIMITS": json.dumps(
                dict.fromkeys(("anonymous", "readonly", "user", "agent", "admin"), 10**6)
            ),
            "WEB_DIST_DIR": str(write_placeholder_build(work / "web-dist")),
        }
        log("starting the stack")
        with e2e.isolated_stack(None, extra_env=extra) as stack:
            mixes = asyncio.run(measure(stack, work))
    without, with_runs = mixes["without agent runs"], mixes["with agent runs"]
    report: dict[str, Any] = {
        "benchmark": "capacity",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}",
        "cores": cores(),
        "load_average_before": load_before,
        "load_average_after": test_load._load_average(),
        "users": USERS,
        "step_seconds": STEP_SECONDS,
        "p99_limit_ms": P99_LIMIT_MS,
        "request_timeout_s": REQUEST_TIMEOUT,
        "mixes": mixes,
        "sizing": sizing(without),
    }
    if without["capacity_rps"] and with_runs["capacity_rps"]:
        report["with_runs_vs_without"] = round(
            with_runs["capacity_rps"] / without["capacity_rps"], 2
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "capacity.json").write_text(json.dumps(report, indent=2) + "\n")
    try:
        bench_report.draw_capacity_chart(RESULTS / "capacity.json", RESULTS / "capacity.png")
    except ImportError:
        log("capacity chart skipped: matplotlib is not installed")
    print(markdown(report))
    print("\n![latency against the offered rate](capacity.png)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
