"""The analytics schema's tables.

``events`` is the append-only event store (a trigger refuses UPDATE and DELETE). Everything else
is a projection of it, rebuilt by ``swe-analytics rebuild``: per-entity state rows (issues, pull
requests, reviews, runs, plus the projects and agents read models used for access), and two
counter tables fed by those rows' contributions: ``metric_totals`` (all time, per project) and
``metric_buckets`` (per project and platform-wide, per 15-minute UTC slot so any real time zone
offset buckets exactly) with its hourly and daily roll-ups.
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from swe_common.db import ServiceBase, schema_metadata
from swe_common.events import define_event_tables


class Base(ServiceBase):
    __abstract__ = True
    metadata = schema_metadata("analytics")


event_tables = define_event_tables(Base.metadata)
metadata = Base.metadata

TS = sa.DateTime(timezone=True)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("event_id", sa.String(200), nullable=False, unique=True),
    sa.Column("type", sa.String(200), nullable=False),
    sa.Column("source", sa.String(500), nullable=False),
    sa.Column("subject", sa.String(200), nullable=True),
    sa.Column("project_id", sa.Uuid, nullable=True),
    sa.Column("time", TS, nullable=False),
    sa.Column("received_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("principal", sa.String(200), nullable=True),
    sa.Column("data", JSONB, nullable=False),
    sa.Index("ix_events_project_id_time", "project_id", "time"),
    sa.Index("ix_events_type_time", "type", "time"),
)


def _guard_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    # The (time, event id) of the event whose snapshot a row holds: later snapshots win, so
    # arrival order does not matter.
    return [sa.Column("as_of", TS, nullable=True), sa.Column("as_of_event", sa.String(200))]


projects = sa.Table(
    "projects",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("owner_id", sa.Uuid, nullable=True, index=True),
    sa.Column("name", sa.String(300), nullable=True),
    sa.Column("enabled", sa.Boolean, nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    # {user_id: {"role", "present", "as_of", "as_of_event"}}: membership with its own guards.
    sa.Column("members", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    *_guard_columns(),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("project_id", sa.Uuid, nullable=True, index=True),
    sa.Column("type", sa.String(100), nullable=True),
    sa.Column("name", sa.String(300), nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    *_guard_columns(),
)

issues = sa.Table(
    "issues",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("project_id", sa.Uuid, nullable=True, index=True),
    sa.Column("status", sa.String(50), nullable=True),
    sa.Column("priority", sa.String(50), nullable=True),
    sa.Column("assigned_agent_id", sa.Uuid, nullable=True, index=True),
    sa.Column("created_at", TS, nullable=True),
    sa.Column("resolved_at", TS, nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    *_guard_columns(),
)

pull_requests = sa.Table(
    "pull_requests",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("project_id", sa.Uuid, nullable=True, index=True),
    sa.Column("state", sa.String(50), nullable=True),
    sa.Column("created_at", TS, nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    *_guard_columns(),
)

reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("project_id", sa.Uuid, nullable=True),
    sa.Column("pull_request_id", sa.Uuid, nullable=True),
    sa.Column("requested_at", TS, nullable=True),
    sa.Column("reviewed_at", TS, nullable=True),
    sa.Column("approval", sa.String(50), nullable=True),
    sa.Column("quality_score", sa.Float, nullable=True),
    *_guard_columns(),
    sa.Index("ix_reviews_project_id_reviewed_at", "project_id", "reviewed_at"),
    sa.Index("ix_reviews_reviewed_at", "reviewed_at"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("agent_id", sa.Uuid, nullable=True, index=True),
    sa.Column("agent_type", sa.String(100), nullable=True),
    sa.Column("project_id", sa.Uuid, nullable=True),
    sa.Column("status", sa.String(50), nullable=True),
    sa.Column("exit_reason", sa.String(200), nullable=True),
    sa.Column("trigger_kind", sa.String(50), nullable=True),
    sa.Column("queued_at", TS, nullable=True),
    sa.Column("started_at", TS, nullable=True),
    sa.Column("finished_at", TS, nullable=True),
    sa.Column("duration_ms", sa.BigInteger, nullable=True),
    sa.Column("quality_score", sa.Float, nullable=True),
    # {severity: count} from the result of a finished run (known severities only).
    sa.Column("findings", JSONB, nullable=True),
    sa.Column("rank", sa.SmallInteger, nullable=True),
    *_guard_columns(),
    sa.Index("ix_runs_project_id_finished_at", "project_id", "finished_at"),
    sa.Index("ix_runs_finished_at", "finished_at"),
)

# Exact sums (numeric), so incremental updates and a rebuild add up to identical figures.
metric_totals = sa.Table(
    "metric_totals",
    metadata,
    sa.Column("metric", sa.String(100), primary_key=True),
    sa.Column("project_id", sa.Uuid, primary_key=True),
    sa.Column("count", sa.BigInteger, nullable=False),
    sa.Column("total", sa.Numeric, nullable=False),
)


def _bucket_table(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("metric", sa.String(100), primary_key=True),
        sa.Column("project_id", sa.Uuid, primary_key=True),
        sa.Column("slot", TS, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("total", sa.Numeric, nullable=False),
    )


# The same counters at three grains: 15-minute slots (exact for every real zone offset), and
# their UTC hour and UTC day roll-ups, kept in the same statement. A long series reads the
# coarsest slots that fit inside each interval: a year of UTC days is 365 rows, not 35,040.
metric_buckets = _bucket_table("metric_buckets")
metric_buckets_hourly = _bucket_table("metric_buckets_hourly")
metric_buckets_daily = _bucket_table("metric_buckets_daily")

PROJECTION_TABLES = (
    projects,
    agents,
    issues,
    pull_requests,
    reviews,
    runs,
    metric_totals,
    metric_buckets,
    metric_buckets_hourly,
    metric_buckets_daily,
)
