"""Analytics benchmark: one million stored events across 100 projects.

1. load: the events (contract-shaped payloads spread over the past year) are COPYed into the
   event store of a fresh database, except a sample kept for step 3;
2. rebuild: the projections are built by the rebuild path (``ingest.rebuild``, what
   ``swe-analytics rebuild`` runs: the store read entity by entity through the same merge and
   contribution code as live ingest), events per second reported;
3. ingest: two samples of ``ANALYTICS_BENCH_INGEST`` events are published to RabbitMQ and
   consumed by the service's real consumer (inbox + store + projections): once as the service
   runs it (batches of the messages in hand, one transaction per batch), once one transaction
   per event (the consumer without its batch handler); events/s from the consumer's start
   until the last inbox row is committed;
4. queries, p50/p99 through the service's query functions: the dashboard (admin, all 100
   projects; a user with 3 projects) and a one-year daily time series (admin; one project),
   beside the same questions answered from the raw event table without projections.

Run: ``uv run python bench/analytics_bench.py`` (``ANALYTICS_BENCH_EVENTS`` to change the
size). Writes ``bench/results/analytics.json``; the database is dropped afterwards.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import psycopg
import sqlalchemy as sa
import structlog
from aio_pika.abc import ExchangeType

from swe_analytics.access.repository import Scope
from swe_analytics.dashboards import service as dashboards
from swe_analytics.handlers import CONSUMED_TYPES, subscription
from swe_analytics.ingest import service as ingest_service
from swe_analytics.models import event_tables
from swe_analytics.projections.merges import project_of
from swe_analytics.settings import Settings
from swe_analytics.timeseries import service as timeseries
from swe_analytics.timeseries.schemas import Interval, Metric
from swe_common.db import Database
from swe_common.events import CloudEvent, EventRuntime, Subscription
from swe_common.events.broker import QUORUM_QUEUE
from swe_common.events.consumer import dlq_name, retry_queue_name
from swe_common.migrations import upgrade_head
from swe_common.settings import ServiceSettings
from swe_common.testing import create_test_database, drop_test_database, unique_name

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "analytics.json"
TOTAL = int(os.environ.get("ANALYTICS_BENCH_EVENTS", "1000000"))
PROJECTS = 100
INGEST = min(int(os.environ.get("ANALYTICS_BENCH_INGEST", "3000")), TOTAL // 20)
SAMPLE = 2 * INGEST  # one half per ingest mode
AMQP_URL = os.environ.get("ANALYTICS_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REBUILD_BATCH = 20_000
# Enough runs that p99 is not simply the slowest one (the machine is shared and noisy).
QUERY_RUNS = 200
RAW_RUNS = 3
NOW = datetime.now(UTC).replace(microsecond=0)
YEAR = timedelta(days=365)


# -- data ------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.isoformat()


class Generator:
    """Contract-shaped events of one project: issues, runs, reviews, pull requests."""

    def __init__(self, rng: random.Random, project_id: uuid.UUID, owner: uuid.UUID) -> None:
        self.rng = rng
        self.project_id = project_id
        self.pid = str(project_id)
        self.owner = owner
        self.agents = [str(uuid.uuid4()) for _ in range(5)]

    def moment(self) -> datetime:
        return NOW - timedelta(seconds=self.rng.uniform(3600, YEAR.total_seconds()))

    def project(self) -> list[Raw]:
        start = NOW - YEAR - timedelta(days=1)
        data = {
            "id": self.pid,
            "name": f"p-{self.pid[:8]}",
            "description": "",
            "repository_url": "https://github.com/example/repo",
            "default_branch": "main",
            "enabled": True,
            "owner_id": str(self.owner),
            "settings": {"auto_review": True, "review_level": "standard"},
            "members": [],
            "created_at": _iso(start),
            "updated_at": _iso(start),
        }
        agents = [
            _event(
                "agents.agent.created",
                {"agent_id": a, "project_id": self.pid, "type": "pr_reviewer", "name": "a"},
                start,
                a,
            )
            for a in self.agents
        ]
        return [_event("projects.project.created", data, start, self.pid), *agents]

    def issue(self) -> list[Raw]:
        issue_id, created = str(uuid.uuid4()), self.moment()
        snapshot: dict[str, Any] = {
            "id": issue_id,
            "project_id": self.pid,
            "title": "bug",
            "description": "",
            "status": "open",
            "priority": "medium",
            "labels": [],
            "assigned_agent_id": None,
            "created_by": str(self.owner),
            "created_at": _iso(created),
            "updated_at": _iso(created),
            "resolved_at": None,
        }
        events = [_event("issues.issue.created", dict(snapshot), created, issue_id)]
        moment = created
        if self.rng.random() < 0.5:
            moment += timedelta(minutes=self.rng.uniform(1, 120))
            snapshot.update(assigned_agent_id=self.rng.choice(self.agents), updated_at=_iso(moment))
            events.append(_event("issues.issue.assigned", dict(snapshot), moment, issue_id))
        if self.rng.random() < 0.6:
            moment += timedelta(hours=self.rng.uniform(0.5, 72))
            snapshot.update(status="resolved", resolved_at=_iso(moment), updated_at=_iso(moment))
            events.append(_event("issues.issue.resolved", dict(snapshot), moment, issue_id))
        return events

    def run(self) -> list[Raw]:
        run_id, queued = str(uuid.uuid4()), self.moment()
        started = queued + timedelta(seconds=self.rng.expovariate(1 / 20))
        finished = started + timedelta(seconds=self.rng.lognormvariate(4.5, 0.8))
        status = self.rng.choices(["completed", "failed", "cancelled"], [85, 12, 3])[0]
        snapshot: dict[str, Any] = {
            "run_id": run_id,
            "agent_id": self.rng.choice(self.agents),
            "agent_type": "pr_reviewer",
            "project_id": self.pid,
            "status": "running",
            "exit_reason": None,
            "trigger": {"kind": "api"},
            "queued_at": _iso(queued),
            "started_at": _iso(started),
            "finished_at": None,
            "duration_ms": None,
        }
        events = [_event("agents.run.started", dict(snapshot), started, run_id)]
        snapshot.update(
            status=status,
            finished_at=_iso(finished),
            duration_ms=int((finished - started).total_seconds() * 1000),
        )
        if status == "completed":
            snapshot["result"] = {
                "summary": "ok",
                "findings_by_severity": {},
                "quality_score": round(self.rng.uniform(0.4, 1.0), 3),
            }
        events.append(_event(f"agents.run.{status}", snapshot, finished, run_id))
        return events

    def review(self) -> list[Raw]:
        review_id, pr_id, asked = str(uuid.uuid4()), str(uuid.uuid4()), self.moment()
        done = asked + timedelta(minutes=self.rng.uniform(1, 240))
        return [
            _event(
                "issues.pr.review_requested",
                {
                    "review_id": review_id,
                    "pull_request_id": pr_id,
                    "project_id": self.pid,
                    "repository_url": "https://github.com/example/repo",
                    "number": 1,
                    "base_ref": "main",
                    "head_ref": "f",
                    "base_sha": "a" * 40,
                    "head_sha": "b" * 40,
                    "level": "standard",
                    "requested_by": str(self.owner),
                },
                asked,
                review_id,
            ),
            _event(
                "issues.pr.reviewed",
                {
                    "review_id": review_id,
                    "pull_request_id": pr_id,
                    "project_id": self.pid,
                    "approval": "approve",
                    "quality_score": round(self.rng.uniform(0.4, 1), 3),
                    "comment_count": 3,
                },
                done,
                review_id,
            ),
        ]

    def pull_request(self) -> list[Raw]:
        pr_id, created = str(uuid.uuid4()), self.moment()
        snapshot = {
            "id": pr_id,
            "project_id": self.pid,
            "number": 1,
            "title": "change",
            "author": "dev",
            "state": "open",
            "base_ref": "main",
            "head_ref": "f",
            "base_sha": "a" * 40,
            "head_sha": "b" * 40,
            "review_status": "pending",
            "created_at": _iso(created),
            "updated_at": _iso(created),
        }
        merged = created + timedelta(hours=self.rng.uniform(1, 48))
        return [
            _event("issues.pr.tracked", dict(snapshot), created, pr_id),
            _event(
                "issues.pr.updated",
                {**snapshot, "state": "merged", "updated_at": _iso(merged)},
                merged,
                pr_id,
            ),
        ]

    def activity(self) -> list[Raw]:
        kind = self.rng.choices(
            [self.issue, self.run, self.review, self.pull_request], [1500, 2500, 600, 300]
        )[0]
        return kind()


# (type, data, time, subject): a CloudEvent is only built for the sample that goes through
# the ingest path; the bulk is written straight to COPY.
Raw = tuple[str, dict[str, Any], datetime, str]


def _event(type_: str, data: dict[str, Any], moment: datetime, subject: str) -> Raw:
    return (type_, data, moment, subject)


def cloud_event(raw: Raw) -> CloudEvent:
    type_, data, moment, subject = raw
    return CloudEvent(
        source=f"/swe/{type_.split('.')[0]}", type=type_, time=moment, subject=subject, data=data
    )


def generate(total: int, seed: int = 42) -> tuple[list[Generator], Iterator[Raw]]:
    rng = random.Random(seed)
    generators = [Generator(rng, uuid.uuid4(), uuid.uuid4()) for _ in range(PROJECTS)]

    def stream() -> Iterator[Raw]:
        produced = 0
        for generator in generators:
            for event in generator.project():
                produced += 1
                yield event
        while produced < total:
            for event in rng.choice(generators).activity():
                produced += 1
                yield event

    return generators, stream()


# -- steps -----------------------------------------------------------------------------------


SECONDARY_INDEXES = (
    ("ix_events_project_id_time", "(project_id, time)"),
    ("ix_events_type_time", "(type, time)"),
)


def _copy_text(value: str) -> str:
    # COPY text format: backslash, tab and newline are escaped.
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def copy_events(dsn: str, events: Iterator[Raw], count: int) -> float:
    """COPY ``count`` events into the store; seconds taken."""
    started = time.perf_counter()
    columns = "event_id, type, source, subject, project_id, time, data"
    with psycopg.connect(dsn, autocommit=True) as conn:
        # Bulk-load practice: secondary indexes are built once after the load.
        for name, _ in SECONDARY_INDEXES:
            conn.execute(f"DROP INDEX analytics.{name}")
    with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY analytics.events ({columns}) FROM STDIN") as copy:
            lines: list[str] = []
            for _, (type_, data, moment, subject) in zip(range(count), events, strict=False):
                project = project_of(type_, data)
                lines.append(
                    "\t".join(
                        (
                            str(uuid.uuid4()),
                            type_,
                            f"/swe/{type_.split('.')[0]}",
                            subject,
                            str(project) if project else "\\N",
                            moment.isoformat(),
                            _copy_text(json.dumps(data, separators=(",", ":"))),
                        )
                    )
                )
                if len(lines) >= 10_000:
                    copy.write("\n".join(lines) + "\n")
                    lines.clear()
            if lines:
                copy.write("\n".join(lines) + "\n")
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, definition in SECONDARY_INDEXES:
            conn.execute(f"CREATE INDEX {name} ON analytics.events {definition}")
        conn.execute("VACUUM ANALYZE analytics.events")
    return time.perf_counter() - started


async def consume(
    settings: Settings, db: Database, sample: list[CloudEvent], batched: bool
) -> float:
    """Publish ``sample`` to a fresh queue, then let the service's consumer empty it; seconds
    from the consumer's start until the last event's inbox row is committed."""
    queue = unique_name("analytics.bench")
    update: dict[str, Any] = {"events_exchange": unique_name("swe.events.bench")}
    handlers = subscription(queue, settings.events_batch_max)
    if not batched:  # as before batching: per-event handlers, the common default prefetch
        handlers = Subscription(queue=queue, handlers=handlers.handlers)
        update["consumer_prefetch"] = ServiceSettings().consumer_prefetch
    settings = settings.model_copy(update=update)
    connection = await aio_pika.connect(AMQP_URL)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange(
            settings.events_exchange, ExchangeType.TOPIC, durable=True
        )
        declared = await channel.declare_queue(queue, durable=True, arguments=QUORUM_QUEUE)
        for event_type in CONSUMED_TYPES:
            await declared.bind(exchange, event_type)
        for start in range(0, len(sample), 500):
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(body=e.to_json(), message_id=e.id), routing_key=e.type
                    )
                    for e in sample[start : start + 500]
                )
            )
        runtime = EventRuntime(settings, db, event_tables, [handlers])
        ids = [e.id for e in sample]
        watcher = Database(settings)  # its own pool: the consumer may use all of the service's
        started = time.perf_counter()
        await runtime.start()
        try:
            while await _inbox_count(watcher, queue, ids) < len(ids):
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            await runtime.stop()
            await watcher.dispose()
        retries = [retry_queue_name(queue, d) for d in settings.consumer_retry_delays_ms]
        for name in (queue, dlq_name(queue), *retries):
            await channel.queue_delete(name)
        await channel.exchange_delete(settings.events_exchange)
    finally:
        await connection.close()
    return elapsed


async def _inbox_count(db: Database, queue: str, ids: list[str]) -> int:
    async with db.engine.connect() as conn:
        found = await conn.scalar(
            sa.select(sa.func.count()).where(
                event_tables.inbox.c.consumer == queue, event_tables.inbox.c.event_id.in_(ids)
            )
        )
    return int(found or 0)


async def timed(runs: int, call: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    await call()  # warm caches and connections
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p99_index = min(len(samples) - 1, round(0.99 * (len(samples) - 1)))
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(samples[p99_index], 2),
        "max_ms": round(samples[-1], 2),
        "runs": runs,
    }


RAW_DASHBOARD = """
WITH issue AS (
    SELECT DISTINCT ON (data->>'id') data->>'status' AS status,
           (data->>'created_at')::timestamptz AS created_at,
           (data->>'resolved_at')::timestamptz AS resolved_at
    FROM analytics.events
    WHERE type LIKE 'issues.issue.%' AND project_id = ANY(:projects)
    ORDER BY data->>'id', (data->>'updated_at')::timestamptz DESC, event_id DESC
), run AS (
    SELECT DISTINCT ON (data->>'run_id') data->>'status' AS status,
           (data->>'duration_ms')::bigint AS duration_ms,
           (data->'result'->>'quality_score')::float AS quality
    FROM analytics.events
    WHERE type LIKE 'agents.run.%' AND project_id = ANY(:projects)
    ORDER BY data->>'run_id', (type <> 'agents.run.started') DESC, time DESC
), review AS (
    SELECT data->>'review_id' AS id, min(time) FILTER (WHERE type LIKE '%requested') AS asked,
           max(time) FILTER (WHERE type LIKE '%reviewed') AS done
    FROM analytics.events
    WHERE type IN ('issues.pr.review_requested', 'issues.pr.reviewed')
      AND project_id = ANY(:projects)
    GROUP BY 1
)
SELECT (SELECT count(*) FILTER (WHERE status NOT IN ('resolved', 'closed')) FROM issue),
       (SELECT count(*) FILTER (WHERE resolved_at IS NOT NULL) FROM issue),
       (SELECT avg(extract(epoch FROM resolved_at - created_at)) FROM issue),
       (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) n FROM run GROUP BY 1) s),
       (SELECT avg(duration_ms) FROM run), (SELECT avg(quality) FROM run),
       (SELECT count(done) FROM review), (SELECT avg(extract(epoch FROM done - asked)) FROM review)
"""

RAW_SERIES = """
SELECT day, coalesce(n, 0)
FROM generate_series(date_trunc('day', CAST(:start AS timestamptz) AT TIME ZONE 'UTC'),
                     date_trunc('day', CAST(:end AS timestamptz) AT TIME ZONE 'UTC'),
                     interval '1 day') AS day
LEFT JOIN (
    SELECT date_trunc('day', (data->>'created_at')::timestamptz AT TIME ZONE 'UTC') AS d,
           count(DISTINCT data->>'id') AS n
    FROM analytics.events
    WHERE type = 'issues.issue.created' AND project_id = ANY(:projects)
      AND time >= :start AND time < :end
    GROUP BY 1
) counted ON counted.d = day
ORDER BY day
"""


async def measure_queries(db: Database, generators: list[Generator]) -> dict[str, Any]:
    everyone = Scope(None)
    three = Scope(tuple(g.project_id for g in generators[:3]))
    one = Scope((generators[0].project_id,))
    all_ids = [g.project_id for g in generators]
    window = timeseries.make_window(
        range_=None, start=NOW - YEAR, end=NOW, interval=Interval.day, tz="UTC", now=NOW
    )

    async def dashboard(scope: Scope) -> None:
        async with db.sessionmaker() as session:
            await dashboards.scope_figures(session, scope, NOW)

    async def series(scope: Scope) -> None:
        async with db.sessionmaker() as session:
            points = await timeseries.series_points(session, scope, Metric.issues_opened, window)
            assert len(points) == 366

    async def raw(sql: str, projects: list[uuid.UUID]) -> None:
        async with db.engine.connect() as conn:
            await conn.execute(sa.text("SET LOCAL statement_timeout = 0"))
            await conn.execute(
                sa.text(sql), {"projects": projects, "start": NOW - YEAR, "end": NOW}
            )

    return {
        "dashboard_admin_100_projects": await timed(QUERY_RUNS, lambda: dashboard(everyone)),
        "dashboard_user_3_projects": await timed(QUERY_RUNS, lambda: dashboard(three)),
        "series_year_daily_admin": await timed(QUERY_RUNS, lambda: series(everyone)),
        "series_year_daily_1_project": await timed(QUERY_RUNS, lambda: series(one)),
        "raw_dashboard_admin_100_projects": await timed(
            RAW_RUNS, lambda: raw(RAW_DASHBOARD, all_ids)
        ),
        "raw_dashboard_user_3_projects": await timed(
            RAW_RUNS, lambda: raw(RAW_DASHBOARD, list(three.project_ids or ()))
        ),
        "raw_series_year_daily_admin": await timed(RAW_RUNS, lambda: raw(RAW_SERIES, all_ids)),
        "raw_series_year_daily_1_project": await timed(
            RAW_RUNS, lambda: raw(RAW_SERIES, [generators[0].project_id])
        ),
    }


def table(results: dict[str, Any]) -> str:
    q = results["queries"]
    rows = [
        ("dashboard, admin (100 projects)", "dashboard_admin_100_projects"),
        ("dashboard, user (3 projects)", "dashboard_user_3_projects"),
        ("1-year daily series, admin", "series_year_daily_admin"),
        ("1-year daily series, 1 project", "series_year_daily_1_project"),
    ]
    lines = [
        f"Analytics, {results['events']:,} events across {PROJECTS} projects",
        "",
        f"| question | projections p50 / p99 / max (ms), {QUERY_RUNS} runs | raw events p50 / p99 "
        f"(ms), {RAW_RUNS} runs | speed-up (p50) |",
        "|---|---|---|---|",
    ]
    for label, key in rows:
        fast, slow = q[key], q[f"raw_{key}"]
        lines.append(
            f"| {label} | {fast['p50_ms']} / {fast['p99_ms']} / {fast['max_ms']} | "
            f"{slow['p50_ms']} / {slow['p99_ms']} | "
            f"{slow['p50_ms'] / max(fast['p50_ms'], 0.01):.0f}x |"
        )
    load, ingest = results["load"], results["ingest"]
    lines += [
        "",
        "| step | events | seconds | events/s |",
        "|---|---|---|---|",
        f"| generate + COPY into the store (+ indexes, VACUUM ANALYZE) | {load['copied']:,} | "
        f"{load['copy_seconds']} | {load['copy_rate']:,} |",
        f"| rebuild projections (`swe-analytics rebuild` path) | {load['rebuilt']:,} | "
        f"{load['rebuild_seconds']} | {load['rebuild_rate']:,} |",
    ]
    for mode, label in (
        ("batched", "batches of the messages in hand, 1 tx/batch"),
        ("one_by_one", "1 tx/event"),
    ):
        run = ingest[mode]
        lines.append(
            f"| RabbitMQ -> consumer -> inbox + store + projections ({label}) | "
            f"{run['events']:,} | {run['seconds']} | {run['rate']:,} |"
        )
    lines += [
        "",
        f"load average (1/5/15 min) at start {results['load_average']['start']}, "
        f"at end {results['load_average']['end']}; total {results['total_seconds']} s",
    ]
    return "\n".join(lines)


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def main() -> int:
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    began, load_at_start = time.perf_counter(), _load_average()
    url = create_test_database("swe_bench_analytics")
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    settings = Settings(
        database_url=url, amqp_url=AMQP_URL, db_pool_size=10, db_statement_timeout_ms=120_000
    )
    db = Database(settings)
    try:
        upgrade_head(ROOT / "services" / "analytics", url)
        generators, stream = generate(TOTAL)
        bulk = TOTAL - SAMPLE
        copy_seconds = copy_events(dsn, stream, bulk)
        print(f"copied {bulk:,} events in {copy_seconds:.1f} s", file=sys.stderr)
        started = time.perf_counter()
        rebuilt = await ingest_service.rebuild(db, REBUILD_BATCH)
        rebuild_seconds = time.perf_counter() - started
        print(f"rebuilt from {rebuilt:,} events in {rebuild_seconds:.1f} s", file=sys.stderr)
        sample = [cloud_event(raw) for raw in stream]
        ingest = {}
        for mode, part in (("batched", sample[:INGEST]), ("one_by_one", sample[INGEST:])):
            seconds = await consume(settings, db, part, batched=mode == "batched")
            ingest[mode] = {
                "events": len(part),
                "seconds": round(seconds, 1),
                "rate": round(len(part) / seconds),
            }
            print(f"consumed {len(part):,} events ({mode}) in {seconds:.1f} s", file=sys.stderr)
        queries = await measure_queries(db, generators)
        results = {
            "events": bulk + len(sample),
            "projects": PROJECTS,
            "load": {
                "copied": bulk,
                "copy_seconds": round(copy_seconds, 1),
                "copy_rate": round(bulk / copy_seconds),
                "rebuilt": rebuilt,
                "rebuild_seconds": round(rebuild_seconds, 1),
                "rebuild_rate": round(rebuilt / rebuild_seconds),
            },
            "ingest": {
                **ingest,
                "batch_max": settings.events_batch_max,
                "prefetch": settings.consumer_prefetch,
            },
            "queries": queries,
            "goal_ms": 100,
            "load_average": {"start": load_at_start, "end": _load_average()},
            "total_seconds": round(time.perf_counter() - began),
            "cpus": os.cpu_count(),
            "ran_at": datetime.now(UTC).isoformat(),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(table(results))
        return 0
    finally:
        await db.dispose()
        if os.environ.get("ANALYTICS_BENCH_KEEP"):  # to look at plans afterwards
            print(f"kept the database: {url}", file=sys.stderr)
        else:
            drop_test_database(url)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
