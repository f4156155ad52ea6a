"""The outbox and inbox tables, defined on a service's own metadata (so in its own schema).

Each service calls ``define_event_tables(Base.metadata)`` in its models module so Alembic sees
the tables, and its first migration calls ``create_event_tables(op, schema)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from swe_common.db import schema_metadata

OUTBOX_PARTITIONS = 16


@dataclass(frozen=True)
class EventTables:
    outbox: sa.Table
    inbox: sa.Table


def _outbox_columns() -> list[Any]:
    return [
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("event_id", sa.String(200), nullable=False, unique=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("partition", sa.SmallInteger, nullable=False),
        sa.Column("partition_key", sa.String(200), nullable=True),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
    ]


def _inbox_columns() -> list[Any]:
    return [
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column(
            "handled_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    ]


def define_event_tables(metadata: sa.MetaData) -> EventTables:
    outbox = sa.Table("event_outbox", metadata, *_outbox_columns())
    sa.Index(
        "ix_event_outbox_pending",
        outbox.c.partition,
        outbox.c.id,
        postgresql_where=outbox.c.published_at.is_(None),
    )
    sa.Index(
        "ix_event_outbox_published_at",
        outbox.c.published_at,
        postgresql_where=outbox.c.published_at.is_not(None),
    )
    inbox = sa.Table("event_inbox", metadata, *_inbox_columns())
    sa.Index("ix_event_inbox_handled_at", inbox.c.handled_at)
    return EventTables(outbox=outbox, inbox=inbox)


def create_event_tables(op: Any, schema: str) -> None:
    """Alembic helper: create both tables (and their indexes) in ``schema``."""
    tables = define_event_tables(schema_metadata(schema))
    bind = op.get_bind()
    for table in (tables.outbox, tables.inbox):
        table.create(bind)


def drop_event_tables(op: Any, schema: str) -> None:
    op.drop_table("event_inbox", schema=schema)
    op.drop_table("event_outbox", schema=schema)
