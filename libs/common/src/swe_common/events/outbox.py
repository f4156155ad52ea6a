"""Writing events: the row joins the caller's transaction, so state and event commit together.

The relay is woken when the transaction commits, in one of two ways:

- a relay of the same schema runs in this process (every service process runs one) and is
  connected to the broker: it is woken directly after the commit (SQLAlchemy's
  ``after_commit``), and no other relay needs to be, since any relay publishes any partition;
- otherwise (a CLI, a process whose relay has no broker right now) ``pg_notify`` in the same
  transaction wakes the relays of the other processes at commit (PostgreSQL delivers
  notifications at commit and drops them on rollback).

Not notifying when a local relay can do the work matters under load: PostgreSQL serialises the
commits of transactions that sent a NOTIFY (a global lock held through the commit's flush), so
concurrent writers that all notify commit one at a time (on this machine, 16 writers commit
about 4 times fewer transactions per second with a NOTIFY each).
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from swe_common.events.catalog import EventSpec
from swe_common.events.envelope import CloudEvent, build_event
from swe_common.events.tables import OUTBOX_PARTITIONS, EventTables

# A Core INSERT, UPDATE or DELETE with its values (``Outbox.publish(..., with_writes=...)``).
WriteStatement = sa.Insert | sa.Update | sa.Delete
_NOTIFIED_KEY = "swe_outbox_notified_transaction"
_WAKE_KEY = "swe_outbox_wake_after_commit"


class LocalRelay(Protocol):
    @property
    def publishing(self) -> bool:
        """Whether it runs and its broker is connected, so waking it gets the rows published."""

    def wake(self, partitions: Collection[int] | None = None) -> None:
        """Wake the passes that publish ``partitions`` (all when ``None``)."""


# Per schema, the relays running in this process.
_local_relays: dict[str, set[LocalRelay]] = {}


def register_local_relay(schema: str, relay: LocalRelay) -> None:
    _local_relays.setdefault(schema, set()).add(relay)


def unregister_local_relay(schema: str, relay: LocalRelay) -> None:
    relays = _local_relays.get(schema)
    if relays is not None:
        relays.discard(relay)
        if not relays:
            del _local_relays[schema]


def _local_relay_ready(schema: str) -> bool:
    return any(relay.publishing for relay in _local_relays.get(schema, ()))


@sa_event.listens_for(Session, "after_commit")
def _wake_local_relays(session: Session) -> None:
    wakes: dict[str, set[int]] = session.info.pop(_WAKE_KEY, {})
    for schema, partitions in wakes.items():
        for relay in list(_local_relays.get(schema, ())):
            relay.wake(partitions)


@sa_event.listens_for(Session, "after_rollback")
def _forget_wake(session: Session) -> None:
    # after_rollback fires for savepoints too; only an ended transaction forgets.
    if not session.in_transaction():
        session.info.pop(_WAKE_KEY, None)


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
        # The payload goes in as the JSON text pydantic writes (cast to jsonb by PostgreSQL):
        # no dict built and encoded again by the driver for every event.
        self._insert = sa.insert(self.table).values(
            event_id=sa.bindparam("event_id"),
            event_type=sa.bindparam("event_type"),
            partition=sa.bindparam("partition"),
            partition_key=sa.bindparam("partition_key"),
            payload=sa.cast(sa.bindparam("payload", type_=sa.Text), JSONB),
        )
        self._notify = sa.text("SELECT pg_notify(:channel, '')").bindparams(
            channel=notify_channel(self.schema)
        )

    async def publish(
        self,
        session: AsyncSession,
        spec: EventSpec,
        data: BaseModel | Mapping[str, Any],
        *,
        subject: str | None = None,
        partition_key: str | None = None,
        with_writes: Sequence[WriteStatement] = (),
    ) -> CloudEvent:
        """Add an event to the session's transaction; the payload is validated against the spec.

        ``with_writes``: the change's own writes (Core INSERT/UPDATE/DELETE statements with
        their values) sent in the same statement as the event's row, as data-modifying CTEs:
        one round trip for the change and its event. PostgreSQL runs each exactly once, all on
        one snapshot: none may read what another writes (foreign keys are checked at the
        statement's end, so a parent and its child may go together)."""
        event = self.event(spec, data, subject=subject, partition_key=partition_key)
        await self.add(session, event, with_writes=with_writes)
        return event

    def event(
        self,
        spec: EventSpec,
        data: BaseModel | Mapping[str, Any],
        *,
        subject: str | None = None,
        partition_key: str | None = None,
    ) -> CloudEvent:
        """The event ``publish`` writes (the payload validated against the spec), unwritten."""
        payload = data if isinstance(data, spec.payload) else spec.payload.model_validate(data)
        return build_event(
            source=self.source,
            type_=spec.type,
            data=payload,
            subject=subject,
            partition_key=partition_key,
            schema_version=spec.version,
        )

    def insert_if(self, guard: sa.FromClause) -> sa.Insert:
        """The INSERT of one event's row, written only if ``guard`` (a CTE of the same
        statement, such as an ``UPDATE ... RETURNING`` whose condition must hold) has a row;
        its parameters are ``values(event)``. For a statement of fixed structure built once
        (module level): its compiled form is then found by identity, with no cache key
        computed per call as for ``publish(..., with_writes=...)``. Run it as one
        autocommit statement, then call ``committed``."""
        c = self.table.c
        names = ["event_id", "event_type", "partition", "partition_key"]
        row = sa.select(
            *(sa.bindparam(name, type_=c[name].type) for name in names),
            sa.cast(sa.bindparam("payload", type_=sa.Text), JSONB),
        ).where(sa.exists(sa.select(sa.literal_column("1")).select_from(guard)))
        return sa.insert(self.table).from_select([*names, "payload"], row)

    def values(self, event: CloudEvent) -> dict[str, Any]:
        """The parameters of ``event``'s row (``insert_if``'s, and ``add``'s own)."""
        return {
            "event_id": event.id,
            "event_type": event.type,
            "partition": partition_of(event.partitionkey),
            "partition_key": event.partitionkey,
            "payload": event.model_dump_json(exclude_none=True),
        }

    async def committed(self, connection: AsyncConnection, partitions: Collection[int]) -> None:
        """Rows of ``partitions`` were committed outside a session's transaction (an
        ``insert_if`` statement run in autocommit): wake the relay as ``add`` does at a
        session's commit: this process's own, else the others by a NOTIFY (autocommit, so
        delivered at once)."""
        if _local_relay_ready(self.schema):
            for relay in list(_local_relays.get(self.schema, ())):
                relay.wake(partitions)
            return
        await connection.execute(self._notify)

    async def add(
        self,
        session: AsyncSession,
        event: CloudEvent,
        *,
        with_writes: Sequence[WriteStatement] = (),
    ) -> None:
        values = self.values(event)
        partition = values["partition"]
        # Through the session's connection (the same transaction): a Core insert of a table
        # needs none of the ORM's statement handling, which costs a writer more CPU than the
        # insert itself.
        connection = await session.connection()
        if with_writes:
            ctes = [write.cte(f"write_{n}") for n, write in enumerate(with_writes)]
            await connection.execute(self._insert.add_cte(*ctes), values)
        else:
            await connection.execute(self._insert, values)
        sync = session.sync_session
        if _local_relay_ready(self.schema):
            wakes: dict[str, set[int]] = sync.info.setdefault(_WAKE_KEY, {})
            wakes.setdefault(self.schema, set()).add(partition)
            return
        # One NOTIFY per transaction is enough: each one is a round trip. The innermost
        # transaction counts, because a savepoint rolled back takes its NOTIFY with it.
        transaction = sync.get_nested_transaction() or sync.get_transaction()
        if transaction is None or sync.info.get(_NOTIFIED_KEY) is not transaction:
            await session.execute(self._notify)
            sync.info[_NOTIFIED_KEY] = sync.get_nested_transaction() or sync.get_transaction()
