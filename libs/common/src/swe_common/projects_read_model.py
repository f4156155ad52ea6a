"""The projects read model: what a service keeps about projects, fed by ``projects.*`` events
and by the request-time fallback (``swe_common.projects_client``). One implementation for every
service that keeps one (issues, agents); each keeps its own table in its own schema (services
never share tables), declared with :class:`ProjectReadModelMixin`, and passes its model class
to the functions here.

Rules, whoever writes:

* a snapshot replaces the row unless the row holds a newer one (``updated_at``) or a tombstone,
  in ONE ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``: a request's fallback lookup and the
  projects event bringing the same new project at once both succeed (the second waits for the
  first's row lock and updates, it never collides), and two snapshots applied out of order
  leave the newer one;
* a deletion leaves a tombstone (``deleted_at``), so a late created/updated event cannot bring
  the project back, and a deleted project is nobody's to see;
* a member event for an unknown project changes nothing (its snapshot carries the members).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from swe_common.db import read_row, read_values, utcnow
from swe_common.metrics import CacheCounter
from swe_common.pagination import Listing, Page, PageParams
from swe_common.security import Principal

# -- the snapshot P and the member events, as projects publishes and serves them ----------------


class Member(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_id: str
    role: Literal["maintainer", "viewer"]


class ProjectSnapshot(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    owner_id: uuid.UUID
    name: str = ""
    enabled: bool = True
    # None when the source did not say (then the members held are kept).
    members: list[Member] | None = None
    repository_url: str = ""
    default_branch: str = "main"
    settings: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime | None = None


class ProjectDeleted(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID
    owner_id: uuid.UUID | None = None


class MemberAdded(BaseModel):
    model_config = ConfigDict(extra="ignore")

    project_id: uuid.UUID
    user_id: str
    role: Literal["maintainer", "viewer"]


class MemberRemoved(BaseModel):
    model_config = ConfigDict(extra="ignore")

    project_id: uuid.UUID
    user_id: str


# -- the table -----------------------------------------------------------------------------------


class ProjectReadModelMixin:
    """The read model's columns; a service declares ``class ProjectView(ProjectReadModelMixin,
    Base)`` with its own ``__tablename__`` (and a GIN index on ``members``)."""

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    # None only on the tombstone of a project never seen alive here.
    owner_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid, nullable=True, index=True)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    # [{"user_id": "...", "role": "maintainer|viewer"}]; queried with JSONB containment.
    members: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    repository_url: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    default_branch: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="main")
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    # The snapshot's own updated_at: an older snapshot than this one is ignored.
    snapshot_updated_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # A tombstone, so that a late created/updated event cannot bring a deleted project back.
    deleted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    synced_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow
    )


class ProjectRow(Protocol):
    """What the functions below read of a read-model row (an ORM row or a ``ProjectAccess``)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def owner_id(self) -> uuid.UUID | None: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def members(self) -> list[dict[str, Any]]: ...
    @property
    def deleted_at(self) -> datetime | None: ...


View = TypeVar("View", bound=ProjectReadModelMixin)

# A lookup the read model answered (hit), or one that had to ask the projects service (miss: the
# project unknown here, or the caller not yet a member of it).
LOOKUPS = CacheCounter("project_read_model")


# -- reading -------------------------------------------------------------------------------------


async def get(
    session: AsyncSession, model: type[View], project_id: uuid.UUID, *, fresh: bool = False
) -> View | None:
    """``fresh`` reloads a row the session already holds (after an upsert)."""
    return await session.get(model, project_id, populate_existing=fresh)


async def get_for_update(
    session: AsyncSession, model: type[View], project_id: uuid.UUID
) -> View | None:
    return await session.get(model, project_id, with_for_update=True, populate_existing=True)


@dataclass(frozen=True, slots=True)
class ProjectAccess:
    """The read-model columns that decide a caller's role (``role_in``), read along with a
    row of the project (``read_with_project``)."""

    id: uuid.UUID
    owner_id: uuid.UUID | None
    enabled: bool
    members: list[dict[str, Any]]
    deleted_at: datetime | None


_ACCESS_COLUMNS = ("id", "owner_id", "enabled", "members", "deleted_at")
_ACCESS_PREFIX = "project_view_"
_WITH_PROJECT: dict[tuple[type[Any], type[Any]], sa.Select[Any]] = {}


def _with_project_statement(
    model: type[Any], view_model: type[ProjectReadModelMixin]
) -> sa.Select[Any]:
    """Built once per model: the same statement object each time, so its compiled form is
    found by identity and psycopg prepares it."""
    statement = _WITH_PROJECT.get((model, view_model))
    if statement is None:
        table: sa.Table = model.__table__
        view: sa.Table = view_model.__table__  # type: ignore[attr-defined]
        statement = (
            sa.select(table, *(view.c[c].label(_ACCESS_PREFIX + c) for c in _ACCESS_COLUMNS))
            .outerjoin(view, view.c.id == table.c.project_id)
            .where(table.c.id == sa.bindparam("row_id"))
        )
        _WITH_PROJECT[(model, view_model)] = statement
    return statement


async def read_with_project(
    session: AsyncSession,
    model: type[Any],
    view_model: type[ProjectReadModelMixin],
    row_id: uuid.UUID,
) -> tuple[dict[str, Any], ProjectAccess | None] | None:
    """A row of ``model``'s table (which has ``project_id``) and what decides the caller's
    role in its project, in one round trip and without the ORM (for a read that returns the
    row: see ``swe_common.db.read_rows``). None when there is no such row; the access None when the
    read model does not know the project. The row is a dict (column key -> value, the access
    columns among them) for the response's model to validate: pydantic reads a dict in a third
    of the CPU it spends reading the same fields off a row by attribute (~10 µs for an issue)."""
    statement = _with_project_statement(model, view_model)
    keys, rows = await read_values(session, statement, {"row_id": row_id})
    if not rows:
        return None
    values = dict(zip(keys, rows[0], strict=True))
    if values[_ACCESS_PREFIX + "id"] is None:
        return values, None
    access = ProjectAccess(*(values[_ACCESS_PREFIX + c] for c in _ACCESS_COLUMNS))
    return values, access


_ACCESS: dict[type[Any], sa.Select[Any]] = {}


async def read_access(
    session: AsyncSession, view_model: type[ProjectReadModelMixin], project_id: uuid.UUID
) -> ProjectAccess | None:
    """What decides a caller's role in a project, read without the ORM (a statement built once
    per model); None when the read model does not know the project."""
    statement = _ACCESS.get(view_model)
    if statement is None:
        view: sa.Table = view_model.__table__  # type: ignore[attr-defined]
        statement = sa.select(*(view.c[c] for c in _ACCESS_COLUMNS)).where(
            view.c.id == sa.bindparam("project_id")
        )
        _ACCESS[view_model] = statement
    row = await read_row(session, statement, {"project_id": project_id})
    if row is None:
        return None
    values = row._mapping
    return ProjectAccess(*(values[c] for c in _ACCESS_COLUMNS))


_ALONG: dict[type[Any], sa.Select[Any]] = {}


async def page_with_access(
    session: AsyncSession,
    view_model: type[ProjectReadModelMixin],
    project_id: uuid.UUID,
    listing: Listing,
    shape: Hashable,
    values: Mapping[str, Any],
    params: PageParams,
) -> tuple[ProjectAccess | None, Page[Any] | None]:
    """``read_access`` and a page of ``listing`` (a list in that project) in one round trip;
    the page None when the read model does not know the project (then nothing else was read).
    The caller decides from the access whether the page is the caller's to see."""
    along = _ALONG.get(view_model)
    if along is None:
        view: sa.Table = view_model.__table__  # type: ignore[attr-defined]
        along = sa.select(*(view.c[c].label(_ACCESS_PREFIX + c) for c in _ACCESS_COLUMNS)).where(
            view.c.id == sa.bindparam("access_project_id")
        )
        _ALONG[view_model] = along
    key = f"{view_model.__module__}.{view_model.__qualname__}"
    bound = {**values, "access_project_id": project_id}
    found = await listing.page_along(session, along, key, shape, bound, params)
    if found is None:
        return None, None
    head, page = found
    return ProjectAccess(*(head[_ACCESS_PREFIX + c] for c in _ACCESS_COLUMNS)), page


def role_in(project: ProjectRow, principal: Principal) -> str | None:
    """The caller's role in a live project: admin, owner, maintainer, viewer, or None."""
    if principal.is_admin:
        return "admin"
    if project.deleted_at is not None:
        return None
    if project.owner_id is not None and project.owner_id == principal.user_id:
        return "owner"
    for member in project.members:
        if member.get("user_id") == principal.subject:
            return str(member.get("role"))
    return None


def visible_project_ids(model: type[ProjectReadModelMixin], subject: str | None) -> sa.Select[Any]:
    """Ids of the live projects ``subject`` owns or is a member of; every live one for None
    (an admin)."""
    shape, values = visibility(subject)
    return visible_ids_of(model, shape).params(values)


# Who a caller is, as far as ``visible_ids_of`` cares: an admin (all), a subject that is an
# account id (owner or member), or any other subject (member only, or a project without owner).
Visibility = Literal["all", "owner", "other"]


# subject -> its visibility, worked out once per caller (a JSON encoding and a UUID parse on
# every list request); bounded: emptied when it grows past its size.
_VISIBILITY: dict[str, tuple[Visibility, dict[str, Any]]] = {}
_MAX_VISIBILITY = 4096


def visibility(subject: str | None) -> tuple[Visibility, dict[str, Any]]:
    """``subject``'s shape for ``visible_ids_of`` and the values to bind to it (a new dict
    each call: callers add their own values to it)."""
    if subject is None:
        return "all", {}
    known = _VISIBILITY.get(subject)
    if known is None:
        known = _visibility(subject)
        if len(_VISIBILITY) >= _MAX_VISIBILITY:
            _VISIBILITY.clear()
        _VISIBILITY[subject] = known
    return known[0], dict(known[1])


def _visibility(subject: str) -> tuple[Visibility, dict[str, Any]]:
    # The containment as JSON text cast to jsonb in SQL (not a JSONB bind): the statement then
    # has no value SQLAlchemy converts, and a page runs on psycopg directly (``read_rows``).
    member = json.dumps([{"user_id": subject}])
    try:
        owner = uuid.UUID(subject)
    except ValueError:
        return "other", {"visible_member": member}
    return "owner", {"visible_owner": owner, "visible_member": member}


def visible_ids_of(model: type[ProjectReadModelMixin], shape: Visibility) -> sa.Select[Any]:
    """``visible_project_ids`` with the subject bound at execution (``visibility``'s values):
    for a statement built once."""
    statement = sa.select(model.id).where(model.deleted_at.is_(None))
    if shape == "all":
        return statement
    member = sa.cast(sa.bindparam("visible_member", type_=sa.Text), JSONB)
    # A subject that is no account id: ``owner_id = NULL`` was written ``IS NULL`` (a project
    # whose owner is unknown), as comparing to None renders.
    owner = (
        model.owner_id == sa.bindparam("visible_owner", type_=sa.Uuid)
        if shape == "owner"
        else model.owner_id.is_(None)
    )
    return statement.where(sa.or_(owner, model.members.contains(member)))


# -- writing -------------------------------------------------------------------------------------


async def upsert_snapshot(
    session: AsyncSession, model: type[View], snapshot: ProjectSnapshot
) -> View | None:
    """Insert or replace, unless the row holds a newer snapshot or a tombstone (one statement;
    see the module's rules). The row as it is now, or None when it is a tombstone."""
    values: dict[str, Any] = {
        "id": snapshot.id,
        "owner_id": snapshot.owner_id,
        "name": snapshot.name[:200],
        "enabled": snapshot.enabled,
        "repository_url": snapshot.repository_url,
        "default_branch": snapshot.default_branch[:200],
        "settings": snapshot.settings,
        "snapshot_updated_at": snapshot.updated_at,
        "synced_at": utcnow(),
    }
    members = [m.model_dump() for m in snapshot.members] if snapshot.members is not None else None
    insert = pg_insert(model).values(**values, members=members or [])
    updates = {key: insert.excluded[key] for key in values if key != "id"}
    if members is not None:
        updates["members"] = insert.excluded.members
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    newer_or_same = sa.or_(
        table.c.snapshot_updated_at.is_(None),
        insert.excluded.snapshot_updated_at.is_(None),
        table.c.snapshot_updated_at <= insert.excluded.snapshot_updated_at,
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.id],
            set_=updates,
            where=sa.and_(table.c.deleted_at.is_(None), newer_or_same),
        )
    )
    row = await get(session, model, snapshot.id, fresh=True)
    return None if row is None or row.deleted_at is not None else row


async def mark_deleted(
    session: AsyncSession, model: type[View], project_id: uuid.UUID, owner_id: uuid.UUID | None
) -> None:
    """Leave a tombstone, also for a project never seen here (its created event may be late)."""
    insert = pg_insert(model).values(
        id=project_id, owner_id=owner_id, members=[], settings={}, deleted_at=utcnow()
    )
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={"deleted_at": insert.excluded.deleted_at, "synced_at": utcnow()},
        )
    )


async def add_member(session: AsyncSession, model: type[View], event: MemberAdded) -> bool:
    """False when the project is unknown (its snapshot will carry the members)."""
    project = await get_for_update(session, model, event.project_id)
    if project is None:
        return False
    others = [m for m in project.members if m.get("user_id") != event.user_id]
    project.members = [*others, {"user_id": event.user_id, "role": event.role}]
    return True


async def remove_member(session: AsyncSession, model: type[View], event: MemberRemoved) -> bool:
    project = await get_for_update(session, model, event.project_id)
    if project is None:
        return False
    project.members = [m for m in project.members if m.get("user_id") != event.user_id]
    return True
