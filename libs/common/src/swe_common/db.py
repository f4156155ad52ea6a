"""Async SQLAlchemy 2 on psycopg 3: one engine per process, one Postgres schema per service.

The engine is built in the app's lifespan (never at import time). A request gets one session
that commits once when the route has returned, before the response is sent, and rolls back on
any error; domain code never calls ``commit()``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol, TypeVar, cast

import sqlalchemy as sa
import structlog
from psycopg.rows import namedtuple_row
from sqlalchemy import MetaData, event
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry
from sqlalchemy.util import greenlet_spawn

from swe_common.settings import ServiceSettings
from swe_common.tracing import instrument_engine, traces_statements

log = structlog.stdlib.get_logger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def schema_metadata(schema: str) -> MetaData:
    """Metadata whose tables live in ``schema``, with the platform's constraint names."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow, server_default=sa.func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True),
        nullable=False,
        default=utcnow,
        onupdate=utcnow,
        server_default=sa.func.now(),
    )


class ServiceBase(DeclarativeBase):
    """Subclass once per service with ``metadata = schema_metadata("<schema>")``."""

    __abstract__ = True

    def __init_subclass__(cls, **kw: Any) -> None:
        # A service's base gets a registry of its own: the registry is where a class named in a
        # relationship or an annotation ("Project") is looked up, and one shared by every
        # service makes two services' classes of one name ambiguous in any process that imports
        # both (the docs and the tests import every service's events and metrics).
        if cls.__dict__.get("__abstract__", False) and "metadata" in cls.__dict__:
            cls.registry = cls._sa_registry = registry(metadata=cls.metadata)
        super().__init_subclass__(**kw)


class Database:
    """The engine and session factory of one service process."""

    def __init__(self, settings: ServiceSettings, **engine_kwargs: Any) -> None:
        self.schema = settings.db_schema
        connect_args = {
            "options": f"-c statement_timeout={settings.db_statement_timeout_ms}",
            "connect_timeout": 5,
            "application_name": settings.service_name,
        }
        self.engine: AsyncEngine = create_async_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            pool_recycle=1800,
            connect_args=connect_args,
            json_deserializer=json_loads,
            **engine_kwargs,
        )
        ping_idle_connections(self.engine, settings.db_ping_after_idle_seconds)
        instrument_engine(self.engine)  # a span per statement when tracing is on
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session that commits when the block ends and rolls back if it raises."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    def read_session(self) -> AsyncSession:
        """A session for reads outside any transaction (``reader``, ``get_session`` for a
        GET): each statement commits by itself, so no BEGIN and ROLLBACK round trips around a
        lone lookup. Not for writes, except a lone statement that commits as it runs (a read
        model filled on a miss). Nothing is made until it is used: no connection until a
        statement runs, no ORM session until the ORM is asked for. End it with ``close_read``."""
        return _ReadSession(self.engine)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        """``read_session`` as a block: the session closed (nothing committed) when it ends."""
        session = self.read_session()
        try:
            yield session
        finally:
            await close_read(session)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


_JSON = json.JSONDecoder()
# The C scanner JSONDecoder.decode runs (an attribute typeshed does not declare).
_SCAN: Callable[[str, int], tuple[Any, int]] = cast(Any, _JSON).scan_once


def json_loads(data: bytes) -> Any:
    """A JSON or JSONB value as psycopg hands it over (UTF-8 bytes), parsed: ``json.loads``
    on bytes first guesses their encoding in Python, twice the CPU of the parse itself for a
    project's members or settings, read once per row of a list page.

    The value goes to the decoder's C scanner directly: ``JSONDecoder.decode`` around it is
    two Python calls and two regular-expression matches for the whitespace on either side,
    three quarters of the CPU of parsing ``{}`` or ``[]`` (0.6 -> 0.15 µs; a list page of
    projects parses 40 such values, of agents 20). JSONB comes out of PostgreSQL without
    surrounding whitespace; JSON text keeps what it was stored with, so a value the scanner
    does not take whole (leading or trailing whitespace, or not JSON) goes to ``decode``,
    which parses it or raises as before."""
    text = data.decode()
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:  # nothing the scanner starts a value with: whitespace first
        return _JSON.decode(text)
    if end != len(text):
        return _JSON.decode(text)
    return value


def ping_idle_connections(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection with a ``SELECT 1`` before handing it out, but only when it
    lay idle ``idle_seconds`` or longer: a connection the server dropped while nobody used it
    (a restart, a failover, an idle timeout) is replaced before a request meets it, while a
    busy service reuses its connections within milliseconds and pays no round trip for them
    (``pool_pre_ping`` would ping every checkout: a quarter of a read's round trips). A
    connection that dies while in use fails its statement; SQLAlchemy then invalidates the pool
    and the next checkouts connect afresh."""
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect
    clock = time.monotonic

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = clock()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or clock() - since < idle_seconds:
            return  # a connection just made, or one in steady use
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out another (a new one if need be).
            raise sa.exc.DisconnectionError(f"idle connection failed its ping: {exc}") from exc

    event.listen(pool, "checkin", checked_in)
    event.listen(pool, "checkout", checked_out)


_IDLE_SINCE = "swe_idle_since"


class _ReadConnection:
    """The one connection of a read session, checked out when its first statement runs (a
    request that answers from elsewhere, or fails before its read, takes none) and put in
    autocommit on the driver itself. SQLAlchemy's ``isolation_level="AUTOCOMMIT"`` execution
    option did the same at ~2x the CPU of the checkout, set and reset through its connection
    characteristics on every checkout; here the flag is flipped on the psycopg connection (no
    round trip: psycopg only changes whether it sends BEGIN) and back before the connection
    returns to the shared pool, so a writer never gets an autocommit connection."""

    __slots__ = ("_engine", "closed", "connection")

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self.connection: sa.Connection | None = None
        self.closed = False

    def open(self) -> sa.Connection:
        """The connection, checked out now if need be (in SQLAlchemy's greenlet: the ORM asks
        from there, ``read_rows`` through ``greenlet_spawn``)."""
        connection = self.connection
        if connection is None:
            if self.closed:
                raise sa.exc.ResourceClosedError("this read session has been closed")
            connection = self._engine.connect()
            try:
                connection.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            except BaseException:
                connection.close()
                raise
            self.connection = connection
        return connection

    async def release(self) -> None:
        """Back to the pool, out of autocommit; a connection that cannot leave it (a statement
        cut off mid-flight, a dead one) is discarded rather than pooled."""
        self.closed = True
        connection, self.connection = self.connection, None
        if connection is None:
            return
        # No await below suspends for a live idle connection (the flag and the pool's
        # reset-on-return are no round trip in autocommit), so a cancellation cannot stop
        # halfway and nothing needs shielding.
        fairy: Any = connection._dbapi_connection
        try:
            if fairy is not None and fairy.dbapi_connection is not None:
                await fairy.driver_connection.set_autocommit(False)
        except Exception:
            await greenlet_spawn(connection.invalidate)
        await greenlet_spawn(connection.close)


class _ReadSyncSession(Session):
    """The ORM session inside a read session: bound to the read's own connection, checked out
    when the ORM first needs it (``Session.get_bind`` runs in SQLAlchemy's greenlet)."""

    _swe_read: _ReadConnection

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return self._swe_read.open()


class _ReadSession(AsyncSession):
    """``Database.read_session``: an ``AsyncSession`` whose ORM ``Session`` is made when
    first asked for (``sync_session``, ``info``, any ORM call). A read that only runs
    ``read_rows`` makes none: building and dropping one cost a read by id ~5 % of its CPU."""

    sync_session_class = _ReadSyncSession

    def __init__(self, engine: AsyncEngine) -> None:  # AsyncSession.__init__: on first use
        self._swe_engine = engine
        self._swe_read = _ReadConnection(engine.sync_engine)

    def __getattr__(self, name: str) -> Any:
        # Only for attributes not set yet: those AsyncSession.__init__ sets.
        if name.startswith("_swe_") or "sync_session" in self.__dict__:
            raise AttributeError(name)
        AsyncSession.__init__(self, bind=self._swe_engine, expire_on_commit=False)
        cast(_ReadSyncSession, self.sync_session)._swe_read = self._swe_read
        return getattr(self, name)

    @property
    def _swe_orm_made(self) -> bool:
        return "sync_session" in self.__dict__


def _read_connection(session: AsyncSession) -> _ReadConnection | None:
    return session._swe_read if isinstance(session, _ReadSession) else None


async def close_read(session: AsyncSession) -> None:
    """Close a ``Database.read_session`` without committing: the ORM's state let go (when it
    was made: a session never used has nothing to close) and the connection back in the pool."""
    read = _read_connection(session)
    try:
        if not isinstance(session, _ReadSession) or session._swe_orm_made:
            await session.close()
    finally:
        if read is not None:
            await read.release()


async def end_read(session: AsyncSession) -> None:
    """End a ``Database.reader`` session: commit it if the ORM used it (which runs its
    after-commit callbacks), else nothing: a read that only ran ``read_rows`` started no
    session transaction (nor made an ORM session), and making one to commit it cost a read
    by id ~2 % of its CPU."""
    if isinstance(session, _ReadSession) and not session._swe_orm_made:
        return  # no ORM session: no transaction, no callbacks (after_commit makes one)
    if session.in_transaction() or session.info.get(_AFTER_COMMIT):
        await session.commit()


# -- reads without the ORM ----------------------------------------------------------------------


async def read_rows(
    session: AsyncSession, statement: sa.Executable, params: Mapping[str, Any] | None = None
) -> Sequence[sa.Row[Any]]:
    """The rows of a select of columns, run on the session's connection without the ORM: no
    objects built, no identity map, no unit of work (a read by id cost half as much CPU this
    way). Rows read by attribute like the objects (``Out.model_validate(row)`` with
    ``from_attributes``); for what a request only reads and returns. Build ``statement`` once
    (module level, ``sa.bindparam`` for the values): its compiled form is then found by
    identity, and psycopg prepares it on the server after a few runs.

    A plain select (no value SQLAlchemy converts on the way in or out, no expanding IN, tracing
    off) goes to the psycopg cursor directly with SQLAlchemy's compiled SQL and parameters:
    SQLAlchemy's execution machinery (an execution context, a cursor result, two greenlet
    switches) cost more CPU than the statement's own round trip (~580 against ~370 µs on a
    loaded VM). The statement metrics fire as before; an error goes through SQLAlchemy's own
    handling (the same exception classes, a dead connection invalidated)."""
    plain, data = await _read(session, statement, params)
    if plain is None:
        return data  # SQLAlchemy's own rows
    # The rows a Result would build (no processors: see _plain_select), without the Result.
    metadata, key_to_index = plain.metadata, plain.key_to_index
    return [sa.Row(metadata, None, key_to_index, row) for row in data]


async def read_values(
    session: AsyncSession, statement: sa.Executable, params: Mapping[str, Any] | None = None
) -> tuple[Sequence[str], Sequence[Sequence[Any]]]:
    """``read_rows``' column names and its rows' values by position (psycopg's tuples as they
    come), for a caller that makes its own dicts of them (``Listing``): a Row object each was
    a fifth of the CPU of making a page's dicts, thrown away. Without rows, the names may be
    empty (a statement SQLAlchemy ran)."""
    plain, data = await _read(session, statement, params)
    if plain is None:
        return (data[0]._fields if data else ()), data
    return plain.keys, data


async def _read(
    session: AsyncSession, statement: sa.Executable, params: Mapping[str, Any] | None
) -> tuple[_PlainSelect | None, Sequence[Any]]:
    """``statement``'s rows: psycopg's tuples with the direct execution that made them, or
    SQLAlchemy's rows and None when SQLAlchemy ran it (see ``read_rows``)."""
    read = _read_connection(session)
    sync: sa.Connection | None
    if read is not None:
        # A read session's own autocommit connection (no session transaction to start).
        sync = read.connection or await greenlet_spawn(read.open)
    else:
        # The session's transaction's connection.
        sync = (await session.connection()).sync_connection
    if sync is None:
        raise sa.exc.ResourceClosedError("the session's connection is closed")
    if not isinstance(statement, sa.Select) or traces_statements(sync.engine):
        return None, await greenlet_spawn(_execute_all, sync, statement, params)
    compiled, extracted, collected, plain = _compiled(statement, sync, params)
    if plain is None:
        return None, await greenlet_spawn(_execute_all, sync, statement, params)
    values = compiled.construct_params(
        params, escape_names=False, extracted_parameters=extracted, _collected_params=collected
    )
    dispatch = sync.dispatch
    dispatch.before_cursor_execute(sync, None, plain.sql, values, None, False)
    fairy: Any = sync._dbapi_connection or await greenlet_spawn(getattr, sync, "connection")
    driver: Any = fairy.driver_connection
    try:
        async with driver.cursor() as cursor:
            await cursor.execute(plain.sql, values)
            data = await cursor.fetchall()
    except sync.dialect.loaded_dbapi.Error as exc:
        await _raise_as_sqlalchemy(sync, exc, plain.sql, values)
    dispatch.after_cursor_execute(sync, None, plain.sql, values, None, False)
    return plain, data


async def _raise_as_sqlalchemy(
    sync: sa.Connection, exc: BaseException, sql: str, values: Any
) -> NoReturn:
    """Raise a psycopg error of a statement run past SQLAlchemy as SQLAlchemy would: its
    exception classes (DBAPIError and its kinds), the handle_error listeners told, the
    connection invalidated when the error says it is gone."""
    await greenlet_spawn(sync._handle_dbapi_exception, exc, sql, values, None, None)
    raise exc  # not reached: the handler raises


def _execute_all(
    sync: sa.Connection, statement: sa.Executable, params: Mapping[str, Any] | None
) -> Sequence[sa.Row[Any]]:
    return sync.execute(statement, params).all()


_Direct = TypeVar("_Direct")
# A statement's compiled form, the values it carries, and how it runs past SQLAlchemy (None:
# SQLAlchemy must run it).
_Compiled = tuple[Any, Any, Any, _Direct | None]
_CompiledOnce = Callable[
    [sa.Executable, sa.Connection, Mapping[str, Any] | None], _Compiled[_Direct]
]


def _compiled_once(
    direct: Callable[[Any, sa.Connection], _Direct | None],
) -> _CompiledOnce[_Direct]:
    """A lookup of a statement's compiled form, made once per statement object, dialect and
    parameter names, with ``direct(compiled, connection)``: how the caller runs it on psycopg
    itself. A statement built once is compiled once: SQLAlchemy's own cache would make its
    cache key (tens of µs for a join) and look it up on every run. Weak: a statement built per
    call leaves with its last use. The lookup is a closure, so a hit costs what a module-level
    function with its own dict did (``read_rows`` runs it on every read)."""
    by_statement: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], _Compiled[_Direct]]] = (
        weakref.WeakKeyDictionary()
    )

    def compiled_form(
        statement: sa.Executable, sync: sa.Connection, params: Mapping[str, Any] | None
    ) -> _Compiled[_Direct]:
        keys = tuple(sorted(params)) if params else ()
        options = sync._execution_options
        # A per-connection compiled cache or schema map: SQLAlchemy's own lookup each time.
        memo = "compiled_cache" not in options and "schema_translate_map" not in options
        key = (sync.dialect, keys)
        if memo:
            known = by_statement.get(statement)
            if known is not None and (found := known.get(key)) is not None:
                return found
        compiled, extracted, collected, _ = cast(Any, statement)._compile_w_cache(
            dialect=sync.dialect,
            compiled_cache=options.get("compiled_cache", sync.engine._compiled_cache),
            column_keys=list(keys),
            for_executemany=False,
            schema_translate_map=options.get("schema_translate_map"),
        )
        entry: _Compiled[_Direct] = (compiled, extracted, collected, direct(compiled, sync))
        if memo:
            by_statement.setdefault(statement, {})[key] = entry
        return entry

    return compiled_form


def _runs_only_in_sqlalchemy(compiled: Any) -> bool:
    """Whether psycopg cannot run ``compiled.string`` with ``construct_params``' values as
    they are: SQLAlchemy rewrites the SQL or the parameters at execution, or converts the
    result's values."""
    if (
        compiled.positional
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.escaped_bind_names
        or compiled.schema_translate_map
    ):
        return True
    try:
        return any(_converts(rc.type, compiled.dialect) for rc in compiled._result_columns)
    except Exception:  # a type that needs the column's type code to decide
        return True


@dataclass(frozen=True, slots=True)
class _PlainSelect:
    sql: str
    keys: tuple[str, ...]
    metadata: SimpleResultMetaData
    key_to_index: dict[Any, int]


# Per compiled form (kept in SQLAlchemy's compiled cache, so the same object each time): its
# direct execution, or None when SQLAlchemy must run it.
_PLAIN: weakref.WeakKeyDictionary[Any, _PlainSelect | None] = weakref.WeakKeyDictionary()


def _plain_select(compiled: Any, sync: sa.Connection) -> _PlainSelect | None:
    try:
        return _PLAIN[compiled]
    except KeyError:
        pass
    plain = None
    direct = not (
        compiled._bind_processors
        or sync.dispatch.before_execute
        or sync.dispatch.after_execute
        or _runs_only_in_sqlalchemy(compiled)
    )
    if direct:
        keys = tuple(rc.keyname for rc in compiled._result_columns)
        metadata = SimpleResultMetaData(keys)
        plain = _PlainSelect(compiled.string, keys, metadata, metadata._key_to_index)
    _PLAIN[compiled] = plain
    return plain


# read_rows' statements (a select whose direct execution is a _PlainSelect).
_compiled = _compiled_once(_plain_select)


def _converts(column_type: Any, dialect: Any) -> bool:
    """Whether SQLAlchemy changes this column's values on the way out of psycopg. An ARRAY's
    processor only copies psycopg's list when its items need no conversion of their own."""
    if isinstance(column_type, sa.ARRAY) and not column_type.as_tuple:
        return _converts(column_type.item_type, dialect)
    return column_type._cached_result_processor(dialect, None) is not None


async def read_row(
    session: AsyncSession, statement: sa.Executable, params: Mapping[str, Any] | None = None
) -> sa.Row[Any] | None:
    """The first row of ``read_rows`` (None: none)."""
    rows = await read_rows(session, statement, params)
    return rows[0] if rows else None


def insert_of(row: Any) -> sa.Insert:
    """The Core INSERT of a mapped object's row, the object itself kept out of the session:
    for a write sent along with others in one statement (``Outbox.publish(...,
    with_writes=...)``, ``sa.insert(...).add_cte(...)``). Attributes left None are left out,
    so the columns' defaults apply as in a flush."""
    table: sa.Table = type(row).__table__
    values = {c.name: v for c in table.columns if (v := getattr(row, c.key, None)) is not None}
    return sa.insert(table).values(values)


# -- after commit -------------------------------------------------------------------------------

AfterCommit = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "swe_after_commit"
# Running callbacks, kept referenced until they end (a bare task may be collected mid-flight).
_running: set[asyncio.Task[None]] = set()


def after_commit(session: AsyncSession | Session, callback: AfterCommit) -> None:
    """Run ``callback`` once the session's transaction has committed; never if it rolls back.

    For what must not be heard of before it is true, such as a Redis notification of a state
    change: whoever listens then reads committed rows. Whichever code commits the session (the
    request's dependency, ``Database.transaction``, a consumer), the callbacks start right
    after the commit, as tasks of the running loop; a failing one is logged, never raised
    into the code that committed."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


async def after_commit_settled() -> None:
    """Wait for the after-commit callbacks started so far (tests, shutdown)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)


async def _guarded(callback: AfterCommit) -> None:
    try:
        await callback()
    except Exception:
        log.exception("after_commit_failed", callback=getattr(callback, "__qualname__", "?"))


@event.listens_for(Session, "after_commit")
def _start_after_commit(session: Session) -> None:
    callbacks: list[AfterCommit] = session.info.pop(_AFTER_COMMIT, [])
    if not callbacks:
        return
    loop = asyncio.get_running_loop()  # AsyncSession commits inside the loop's thread
    for callback in callbacks:
        task = loop.create_task(_guarded(callback))
        _running.add(task)
        task.add_done_callback(_running.discard)


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


# -- pipelined transactions ---------------------------------------------------------------------


@asynccontextmanager
async def pipelined_transaction(engine: AsyncEngine) -> AsyncIterator[PipelinedTransaction]:
    """One transaction whose statements go to PostgreSQL in psycopg's pipeline mode: a
    statement is sent without waiting for the answers of those before it, and the round trip
    is only waited for when rows are asked for (``rows``) and at the commit. BEGIN goes out
    with the first statement and the statements queued after the last read (``queue``) go out
    with the COMMIT: a transaction of a read and then writes is two round trips instead of
    one per statement plus BEGIN and COMMIT. The block's end commits, an error rolls back.

    For fixed statements built once (``sa.bindparam`` for the values) whose result columns
    SQLAlchemy does not convert; the cursor listeners (statement metrics) are told of each.
    With statement tracing on, SQLAlchemy runs the statements one by one in a plain
    transaction instead (its instrumentation makes a span per statement from its own
    execution context)."""
    async with engine.connect() as connection:
        sync = connection.sync_connection
        if sync is None or traces_statements(engine.sync_engine):
            async with connection.begin():
                yield _SqlAlchemyTransaction(connection)
            return
        fairy: Any = await connection.get_raw_connection()
        transaction = _PsycopgPipeline(sync, fairy.driver_connection)
        try:
            await transaction.begin()
            yield transaction
            await transaction.commit()
        except Exception as exc:
            await transaction.abandon(connection, exc)
            raise
        except BaseException:
            # Cancelled mid-pipeline: the connection's protocol state is unknown and waiting
            # for its answers could take as long as the server does; drop it.
            await connection.invalidate()
            raise
        await transaction.release(connection)


class PipelinedTransaction(Protocol):
    """What ``pipelined_transaction`` yields."""

    async def rows(
        self, statement: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """Send ``statement`` (with whatever is queued) and wait for its rows (attributes
        named as its columns)."""
        ...

    async def queue(
        self, statement: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> None:
        """Send ``statement`` without waiting for its answer: an error in it is raised by the
        next ``rows`` or at the commit."""
        ...


class _SqlAlchemyTransaction:
    def __init__(self, connection: Any) -> None:
        self._connection = connection

    async def rows(
        self, statement: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        return (await self._connection.execute(statement, params)).all()  # type: ignore[no-any-return]

    async def queue(
        self, statement: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> None:
        await self._connection.execute(statement, params)


def _pipelinable(compiled: Any, _sync: sa.Connection) -> bool | None:
    """True when psycopg can run the compiled SQL with its bind processors' values (None:
    SQLAlchemy must run the statement itself)."""
    return None if _runs_only_in_sqlalchemy(compiled) else True


# pipelined_transaction's statements, compiled once as read_rows' are.
_pipelined = _compiled_once(_pipelinable)


class _PsycopgPipeline:
    """The pooled connection's psycopg connection, in autocommit for the block (psycopg sends
    an implicit BEGIN on its own and waits for it: a round trip of its own in pipeline mode),
    with BEGIN and COMMIT sent as statements of the pipeline."""

    def __init__(self, sync: sa.Connection, driver: Any) -> None:
        self._sync = sync
        self._driver = driver
        self._pipeline: Any = None
        self._unanswered: list[tuple[str, Mapping[str, Any]]] = []

    def _prepared(
        self, statement: sa.Executable, params: Mapping[str, Any] | None
    ) -> tuple[str, dict[str, Any]]:
        """The SQL psycopg runs and its values."""
        compiled, extracted, collected, pipelinable = _pipelined(statement, self._sync, params)
        if pipelinable is None:
            raise ValueError("a statement SQLAlchemy must run itself cannot be pipelined")
        values = compiled.construct_params(
            params, escape_names=False, extracted_parameters=extracted, _collected_params=collected
        )
        processors = compiled._bind_processors
        return compiled.string, {
            key: processors[key](value) if key in processors else value
            for key, value in values.items()
        }

    async def begin(self) -> None:
        driver = self._driver
        await driver.set_autocommit(True)
        self._pipeline = driver.pipeline()
        await self._pipeline.__aenter__()
        await self._execute(driver, "BEGIN")

    async def _execute(self, executor: Any, sql: str, values: Any = None) -> None:
        """``executor.execute`` in the pipeline. Each send also reads the answers that have
        arrived (PostgreSQL sends an error at once), so what this raises can be the error of a
        statement sent before: raised as SQLAlchemy raises it, as in ``rows`` and the commit."""
        try:
            await executor.execute(sql, values)
        except self._sync.dialect.loaded_dbapi.Error as exc:
            await self._raise(exc, sql)

    async def _send(self, statement: sa.Executable, params: Mapping[str, Any] | None) -> Any:
        sql, values = self._prepared(statement, params)
        self._sync.dispatch.before_cursor_execute(self._sync, None, sql, values, None, False)
        cursor = self._driver.cursor(row_factory=namedtuple_row)
        await self._execute(cursor, sql, values)
        self._unanswered.append((sql, values))
        return cursor

    def _answered(self) -> None:
        for sql, values in self._unanswered:
            self._sync.dispatch.after_cursor_execute(self._sync, None, sql, values, None, False)
        self._unanswered.clear()

    async def rows(
        self, statement: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        cursor = await self._send(statement, params)
        try:
            rows = await cursor.fetchall()  # flushes the pipeline and waits: one round trip
        except self._sync.dialect.loaded_dbapi.Error as exc:
            await self._raise(exc, "")
        self._answered()
        return rows  # type: ignore[no-any-return]

    async def queue(
        self, statement: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> None:
        await self._send(statement, params)

    async def commit(self) -> None:
        try:
            await self._driver.execute("COMMIT")
            await self._leave_pipeline()  # a Sync: sends and waits for the rest
        except self._sync.dialect.loaded_dbapi.Error as exc:
            await self._raise(exc, "COMMIT")
        self._answered()

    async def _leave_pipeline(self, exc: BaseException | None = None) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:  # after an error, psycopg logs what else failed: not raised
            await pipeline.__aexit__(type(exc) if exc else None, exc, None)

    async def _raise(self, exc: BaseException, sql: str) -> NoReturn:
        """Raise ``exc`` as SQLAlchemy would, naming the last statement sent and not answered
        (else ``sql``): psycopg does not tell which statement of the pipeline failed."""
        sql, values = self._unanswered[-1] if self._unanswered else (sql, {})
        self._unanswered.clear()
        # Out of the pipeline first: SQLAlchemy's handling rolls back, which the aborted
        # pipeline would refuse.
        await self._leave_pipeline(exc)
        await _raise_as_sqlalchemy(self._sync, exc, sql, values)

    async def abandon(self, connection: Any, exc: BaseException) -> None:
        """After an error: out of the pipeline, the transaction rolled back and the connection
        out of autocommit for the pool; a connection that cannot be brought back is dropped."""
        try:
            await self._leave_pipeline(exc)
            await self._driver.rollback()
            await self._driver.set_autocommit(False)
        except Exception:
            await connection.invalidate()

    async def release(self, connection: Any) -> None:
        try:
            await self._driver.set_autocommit(False)
        except Exception:
            await connection.invalidate()
