"""Console charts benchmark: is a one-year daily series as smooth as a week, in Debian's Chromium?

An isolated stack (the e2e suite's, through the gateway). A user creates a project through the
API; a year of its history is then published on the stack's event exchange as the issues and
agents services would publish it (issues opened and resolved, agent runs completed, failed and
cancelled with their findings by severity, three agents), and the real analytics consumer
projects it. The console, signed in as that user, then shows:

- the analytics dashboard (issues opened/resolved, runs by status, findings by severity: ten
  series in three synchronised charts) and
- an agent's page (runs by status, success rate, mean duration, mean score: six series in four
  charts),

each once for the last 7 days and once for the last 365 days by day, side by side. Measured per
page: the time from navigation until every chart has drawn; then the mouse swept across the
first chart (one step per frame, 120 steps: the tooltip and the synchronised cursors follow),
with the frame intervals (requestAnimationFrame; 16.7 ms is one per vsync) and the long tasks
(> 50 ms of main-thread work) meanwhile; then the range changed (7 days <-> 365 days) with the
page's own control, timed until the charts show the new range, with its long tasks.

Run: ``uv run python bench/charts_bench.py`` (part of ``make bench``); writes
``bench/results/charts.json``. ``CHARTS_BENCH_HOVERS`` (default 3) sweeps per page.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import httpx
from playwright.async_api import Page, async_playwright
from web_bench import (
    CHROMIUM,
    OBSERVE_LONG_TASKS,
    PASSWORD,
    RECORD_FRAMES,
    STOP_FRAMES,
    build_console,
    percentiles,
    seed_user,
    start_stack,
)

from swe_common.events import CloudEvent

RESULTS = Path(__file__).parent / "results" / "charts.json"
DAYS = 365
HOVERS = int(os.environ.get("CHARTS_BENCH_HOVERS", "3"))
SWEEP_STEPS = 120
SEVERITIES = ("critical", "high", "medium", "low", "info")


# -- a year of history, as the services publish it -------------------------------------------


def _event(type_: str, data: dict[str, Any], at: datetime, subject: str) -> CloudEvent:
    source = f"/swe/{type_.split('.')[0]}"
    return CloudEvent(source=source, type=type_, time=at, subject=subject, data=data)


def year_of_events(project_id: str, now: datetime) -> tuple[list[CloudEvent], dict[str, Any]]:
    """Issues and runs on every day of the last year; the events and what they add up to."""
    rng = random.Random(365)
    agents = [str(uuid.uuid4()) for _ in range(3)]
    events = [
        _event(
            "agents.agent.created",
            {
                "agent_id": a,
                "project_id": project_id,
                "type": "code_analyzer",
                "name": f"bench-{n}",
            },
            now - timedelta(days=DAYS + 1),
            a,
        )
        for n, a in enumerate(agents)
    ]
    issues = runs = 0
    start = (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(DAYS):
        midnight = start + timedelta(days=day)
        for _ in range(rng.randint(1, 6)):
            issues += 1
            issue_id = str(uuid.uuid4())
            opened = midnight + timedelta(minutes=rng.randint(0, 1400))
            data: dict[str, Any] = {
                "id": issue_id,
                "project_id": project_id,
                "title": "bench",
                "status": "open",
                "priority": "medium",
                "created_at": opened.isoformat(),
                "updated_at": opened.isoformat(),
                "resolved_at": None,
            }
            events.append(_event("issues.issue.created", data, opened, issue_id))
            resolved = opened + timedelta(hours=rng.randint(1, 72))
            if rng.random() < 0.7 and resolved < now:
                done = {**data, "status": "resolved", "updated_at": resolved.isoformat()}
                done["resolved_at"] = resolved.isoformat()
                events.append(_event("issues.issue.resolved", done, resolved, issue_id))
        for _ in range(rng.randint(1, 5)):
            runs += 1
            run_id, agent = str(uuid.uuid4()), rng.choice(agents)
            began = midnight + timedelta(minutes=rng.randint(0, 1380))
            finished = began + timedelta(seconds=rng.randint(20, 900))
            verb = rng.choices(("completed", "failed", "cancelled"), (8, 2, 1))[0]
            data = {
                "run_id": run_id,
                "agent_id": agent,
                "agent_type": "code_analyzer",
                "project_id": project_id,
                "status": verb,
                "trigger": {"kind": "api"},
                "queued_at": began.isoformat(),
                "started_at": began.isoformat(),
                "finished_at": finished.isoformat(),
                "duration_ms": int((finished - began).total_seconds() * 1000),
            }
            if verb == "completed":
                data["result"] = {
                    "quality_score": round(rng.uniform(40, 100), 1),
                    "findings_by_severity": {s: rng.randint(0, 6) for s in SEVERITIES},
                }
            events.append(_event(f"agents.run.{verb}", data, finished, run_id))
    return events, {"issues": issues, "runs": runs, "agents": agents}


async def publish(amqp_url: str, exchange_name: str, events: list[CloudEvent]) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        for event in events:
            message = aio_pika.Message(
                body=event.to_json(),
                message_id=event.id,
                content_type="application/cloudevents+json",
            )
            await exchange.publish(message, routing_key=event.type)
    finally:
        await connection.close()


async def seed_year(stack: Any, http: httpx.AsyncClient) -> dict[str, Any]:
    username, token = await seed_user(http)
    headers = {"Authorization": f"Bearer {token}"}
    created = await http.post(
        "/api/v1/projects",
        json={"name": "a-year", "repository_url": "https://github.com/bench/a-year"},
        headers=headers,
    )
    created.raise_for_status()
    project = created.json()
    # Analytics must know the project (from the projects service's event) before it counts it
    # as this user's: wait for that, then publish the year.
    await _until(http, headers, lambda d: d["projects"] == 1)
    events, totals = year_of_events(project["id"], datetime.now(UTC))
    started = time.monotonic()
    await publish(stack.amqp_url, stack.exchange, events)
    await _until(http, headers, lambda d: d["issues"]["total"] == totals["issues"], 300)
    await _until(http, headers, lambda d: d["runs"]["total"] == totals["runs"], 300)
    return {
        "username": username,
        "project_id": project["id"],
        "agent_id": totals["agents"][0],
        "events": len(events),
        "issues": totals["issues"],
        "runs": totals["runs"],
        "ingest_seconds": round(time.monotonic() - started, 1),
    }


async def _until(
    http: httpx.AsyncClient, headers: dict[str, str], done: Any, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        response = await http.get("/api/v1/analytics/dashboard", headers=headers)
        if response.status_code == 200 and done(response.json()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"analytics did not catch up: {response.text[:500]}")
        await asyncio.sleep(0.5)


# -- the page ----------------------------------------------------------------------------------

# Every chart of the page drew its series, for the expected number of buckets.
CHARTS_DRAWN = """([charts, buckets]) => {
  const labels = [...document.querySelectorAll('[role=img][aria-label]')]
    .map((e) => e.getAttribute('aria-label'));
  const drawn = document.querySelectorAll('svg.recharts-surface').length;
  return drawn >= charts && labels.filter((l) => new RegExp(buckets).test(l)).length >= charts;
}"""
LONG_TASKS_SINCE = "(since) => window.__longTasks.filter(([s]) => s >= since)"
NEXT_FRAME = "() => new Promise((done) => requestAnimationFrame(() => done()))"


async def sweep(page: Page) -> list[float]:
    """The mouse across the first chart's plot, one step per frame; the frame intervals."""
    box = await page.locator("svg.recharts-surface").first.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] * 0.45
    await page.mouse.move(box["x"] + 60, y)
    await page.evaluate(RECORD_FRAMES)
    for step in range(SWEEP_STEPS):
        x = box["x"] + 60 + (box["width"] - 80) * step / (SWEEP_STEPS - 1)
        await page.mouse.move(x, y)
        await page.evaluate(NEXT_FRAME)
    frames: list[float] = await page.evaluate(STOP_FRAMES)
    await page.mouse.move(5, 5)
    return frames


async def measure_page(page: Page, path: str, charts: int, buckets: str) -> dict[str, Any]:
    await page.goto(path, wait_until="commit")
    await page.wait_for_function(CHARTS_DRAWN, arg=[charts, buckets], timeout=60_000)
    drawn = await page.evaluate("() => performance.now()")
    load_tasks = await page.evaluate(LONG_TASKS_SINCE, 0)
    frames: list[float] = []
    hover_tasks: list[list[float]] = []
    for _ in range(HOVERS):
        since = await page.evaluate("() => performance.now()")
        frames += await sweep(page)
        hover_tasks += await page.evaluate(LONG_TASKS_SINCE, since)
    return {
        "charts_drawn_ms": round(drawn, 1),
        "load_long_tasks": len(load_tasks),
        "load_long_tasks_total_ms": round(sum(d for _, d in load_tasks), 1),
        "hover_frames": len(frames),
        **percentiles(frames, "hover_frame"),
        "hover_frames_over_50_ms": sum(1 for f in frames if f > 50),
        "hover_long_tasks": len(hover_tasks),
        "hover_long_tasks_total_ms": round(sum(d for _, d in hover_tasks), 1),
    }


async def change_range(page: Page, to: str, charts: int, buckets: str) -> dict[str, Any]:
    """Choose another range with the page's select; the time until the charts show it."""
    since = await page.evaluate("() => performance.now()")
    await page.get_by_label("Range").select_option(to)
    await page.wait_for_function(CHARTS_DRAWN, arg=[charts, buckets], timeout=60_000)
    await page.evaluate(NEXT_FRAME)
    took = await page.evaluate("(since) => performance.now() - since", since)
    tasks = await page.evaluate(LONG_TASKS_SINCE, since)
    return {
        "ms": round(took, 1),
        "long_tasks": len(tasks),
        "long_tasks_total_ms": round(sum(d for _, d in tasks), 1),
        "longest_task_ms": round(max((d for _, d in tasks), default=0), 1),
    }


WEEK, YEAR = r"\b[78] days\b", r"\b36[56] days\b"


async def in_browser(base_url: str, seeded: dict[str, Any]) -> dict[str, Any]:
    pages = {
        "dashboard": ("/analytics?tz=UTC", 3),
        "agent": (f"/analytics/agents/{seeded['agent_id']}?tz=UTC", 4),
    }
    out: dict[str, Any] = {}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = await browser.new_context(
                base_url=base_url, viewport={"width": 1280, "height": 900}
            )
            await context.add_init_script(OBSERVE_LONG_TASKS)
            login = await context.request.post(
                "/api/v1/auth/login",
                data={"username": seeded["username"], "password": PASSWORD, "cookie": True},
            )
            assert login.status == 200, await login.text()
            for name, (path, charts) in pages.items():
                page = await context.new_page()
                week = await measure_page(page, f"{path}&range=week", charts, WEEK)
                week["range_change_to_365_days"] = await change_range(page, "year", charts, YEAR)
                await page.close()
                page = await context.new_page()
                year = await measure_page(page, f"{path}&range=year", charts, YEAR)
                year["range_change_to_7_days"] = await change_range(page, "week", charts, WEEK)
                await page.close()
                out[name] = {
                    "charts": charts,
                    "7_days": week,
                    "365_days": year,
                    # The side-by-side figures: how much a year costs over a week.
                    "ratios": {
                        f"{key}_365_vs_7_days": round(year[key] / week[key], 2)
                        for key in ("charts_drawn_ms", "hover_frame_p50_ms", "hover_frame_p95_ms")
                        if week[key]
                    },
                }
            await context.close()
        finally:
            await browser.close()
    return out


def print_table(result: dict[str, Any]) -> None:
    seeded = result["seeded"]
    print(
        f"{seeded['events']:,} events ({seeded['issues']:,} issues, {seeded['runs']:,} runs) "
        f"over {DAYS} days, projected by analytics in {seeded['ingest_seconds']} s."
    )
    print("| page | measure | 7 days (small) | 365 days by day | ratio |")
    print("|---|---|---|---|---|")
    for name in ("dashboard", "agent"):
        small, year = result[name]["7_days"], result[name]["365_days"]
        rows = [
            ("charts drawn after navigation (ms)", "charts_drawn_ms"),
            ("hover: frame interval p50 (ms)", "hover_frame_p50_ms"),
            ("hover: frame interval p95 (ms)", "hover_frame_p95_ms"),
            ("hover: frame interval max (ms)", "hover_frame_max_ms"),
            ("hover: frames over 50 ms", "hover_frames_over_50_ms"),
            ("hover: long tasks", "hover_long_tasks"),
            ("hover: long tasks total (ms)", "hover_long_tasks_total_ms"),
        ]
        label = f"{name} ({result[name]['charts']} charts)"
        for title, key in rows:
            a, b = small[key], year[key]
            ratio = f"{b / a:.2f}" if a else "—"
            print(f"| {label} | {title} | {a} | {b} | {ratio} |")
        to_year, to_week = small["range_change_to_365_days"], year["range_change_to_7_days"]
        print(
            f"| {label} | range change: ms (long tasks, longest) | "
            f"to 7 days: {to_week['ms']} ({to_week['long_tasks']}, {to_week['longest_task_ms']}) "
            f"| to 365 days: {to_year['ms']} ({to_year['long_tasks']}, "
            f"{to_year['longest_task_ms']}) | — |"
        )


def main() -> int:
    build_console()
    result: dict[str, Any] = {
        "benchmark": "charts",
        "at": datetime.now(UTC).isoformat(),
        "load_average_before": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "chromium": subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip(),
    }
    with start_stack() as stack:

        async def run() -> None:
            async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
                seeded = await seed_year(stack, http)
            result["seeded"] = {k: v for k, v in seeded.items() if k != "username"}
            result.update(await in_browser(stack.base_url, seeded))

        asyncio.run(run())
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print_table(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
