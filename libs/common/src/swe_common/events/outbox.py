"""Writing events: the row joins the caller's transaction, so state and event commit together.

``pg_notify`` inside the same transaction wakes the relay only when the transaction commits
(PostgreSQL delivers notifications at commit and drops them on rollback).
"""

from __future__ import annotations

import zlib
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.events.catalog import EventSpec
from swe_common.events.envelope import CloudEvent, build_event
from swe_common.events.tables import OUTBOX_PARTITIONS, EventTables

_NOTIFIED_KEY = "swe_outbox_notified_transaction"


def notify_channel(schema: str) -> str:
    return f"swe_outbox_{schema}"


def partition_of(key: str | None) -> int:
    return zlib.crc32((key or "").encode()) % OUTBOX_PARTITIONS


class Outbox:
    """A service's outbox: ``await outbox.publish(session, ProjectCreated, payload, ...)``."""

    def __init__(self, tables: EventTables, source: str) -> None:
        self.table = tables.outbox
        self.schema = str(tables.outbox.schema)
        self.source = source
        self._insert = sa.insert(self.table)
        self._notify = sa.text("SELECT pg_notify(:channel, '')").bindparams(
            channel=notify_channel(self.schema)
        )

    async def publish(
        self,
        session: AsyncSession,
        spec: EventSpec,
        data: BaseModel | dict[str, Any],
        *,
        subject: str | None = None,
        partition_key: str | None = None,
    ) -> CloudEvent:
        """Add an event to the session's transaction; the payload is validated against the spec."""
        payload = data if isinstance(data, spec.payload) else spec.payload.model_validate(data)
        event = build_event(
            source=self.source,
            type_=spec.type,
            data=payload,
            subject=subject,
            partition_key=partition_key,
            schema_version=spec.version,
        )
        await self.add(session, event)
        return event

    async def add(self, session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(
            self._insert,
            {
                "event_id": event.id,
                "event_type": event.type,
                "partition": partition_of(event.partitionkey),
                "partition_key": event.partitionkey,
                "payload": event.model_dump(mode="json", exclude_none=True),
            },
        )
        # One NOTIFY per transaction is enough: each one is a round trip. The innermost
        # transaction counts, because a savepoint rolled back takes its NOTIFY with it.
        sync = session.sync_session
        transaction = sync.get_nested_transaction() or sync.get_transaction()
        if transaction is None or sync.info.get(_NOTIFIED_KEY) is not transaction:
            await session.execute(self._notify)
            sync.info[_NOTIFIED_KEY] = sync.get_nested_transaction() or sync.get_transaction()
