"""Every query of the projects domain; visibility scoping happens here, once."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from swe_common.db import read_row
from swe_common.pagination import Listing, Page, PageParams
from swe_projects.models import Project, ProjectMember

SORTABLE = {
    "name": Project.name,
    "created_at": Project.created_at,
    "updated_at": Project.updated_at,
}


class DuplicateRow(Exception):
    """A unique key already exists (name per owner, member per project)."""


def _visible_to(user_id: uuid.UUID | sa.BindParameter[Any] | None) -> sa.ColumnElement[bool]:
    if user_id is None:
        return sa.false()
    is_member = sa.exists().where(
        ProjectMember.project_id == Project.id, ProjectMember.user_id == user_id
    )
    return sa.or_(Project.owner_id == user_id, is_member)


def _members_json() -> sa.Label[Any]:
    """The project's members as one JSON array (oldest first, as ``Project.members``), in the
    project's own row: one round trip for a project and its members."""
    pair = sa.func.jsonb_build_object("user_id", ProjectMember.user_id, "role", ProjectMember.role)
    return (
        sa.select(
            sa.func.coalesce(
                sa.func.jsonb_agg(aggregate_order_by(pair, ProjectMember.created_at)),
                sa.literal_column("'[]'::jsonb"),
            )
        )
        .where(ProjectMember.project_id == Project.id)
        .scalar_subquery()
        .label("members")
    )


# What a read returns: the project's columns but the webhook secret's ciphertext, and its
# members. Rows of these read by attribute like a ``Project`` (``members``: dicts).
_READ_COLUMNS = [
    *(c for c in Project.__table__.c if c.name != "webhook_secret_encrypted"),
    _members_json(),
]
# Built once each, so that their compiled forms are found by identity (see read_rows).
_READ_BY_ID = sa.select(*_READ_COLUMNS).where(Project.id == sa.bindparam("project_id"))
_READ_VISIBLE_BY_ID = _READ_BY_ID.where(
    sa.or_(
        Project.owner_id == sa.bindparam("user_id"),
        sa.exists().where(
            ProjectMember.project_id == Project.id,
            ProjectMember.user_id == sa.bindparam("user_id"),
        ),
    )
)


async def read_visible(
    session: AsyncSession, project_id: uuid.UUID, *, user_id: uuid.UUID | None, see_all: bool
) -> sa.Row[Any] | None:
    """A project the caller may see, as a row with its members (a read: no ORM object)."""
    if see_all:
        return await read_row(session, _READ_BY_ID, {"project_id": project_id})
    if user_id is None:
        return None
    return await read_row(
        session, _READ_VISIBLE_BY_ID, {"project_id": project_id, "user_id": user_id}
    )


async def get_visible(
    session: AsyncSession,
    project_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    see_all: bool,
    for_update: bool = False,
) -> Project | None:
    statement = (
        sa.select(Project).where(Project.id == project_id).options(selectinload(Project.members))
    )
    if not see_all:
        statement = statement.where(_visible_to(user_id))
    if for_update:
        # Serialises concurrent changes to one project so snapshots go out in commit order.
        statement = statement.with_for_update(of=Project)
    return (await session.scalars(statement)).one_or_none()


async def get_by_id(session: AsyncSession, project_id: uuid.UUID) -> Project | None:
    return await session.get(Project, project_id)


# Where GitHub delivers a project's webhooks (the webhooks router's route), made by PostgreSQL
# in a listed project's row (a UUID's text there is Python's ``str``): for a page of 20, the
# paths made in Python and a copy of each row's dict to add them cost ~15 µs of CPU.
WEBHOOK_PATH_PREFIX = "/api/v1/projects/"
WEBHOOK_PATH_SUFFIX = "/webhooks/github"
_WEBHOOK_PATH = sa.type_coerce(
    sa.func.concat(
        sa.literal_column(f"'{WEBHOOK_PATH_PREFIX}'"),
        Project.id,
        sa.literal_column(f"'{WEBHOOK_PATH_SUFFIX}'"),
    ),
    sa.Text,
).label("webhook_path")


def _listed(shape: Any) -> sa.Select[Any]:
    """The projects a list request selects, as ``shape`` says (``(who, enabled, filter
    names...)``: ``who`` is ``all`` (an admin), ``user`` or ``nobody``; ``enabled`` None, True
    or False), the values left to bind; each row with its ``webhook_path``."""
    who, enabled, *used = shape
    statement = sa.select(*_READ_COLUMNS, _WEBHOOK_PATH)
    if who == "user":
        statement = statement.where(_visible_to(sa.bindparam("user_id", type_=sa.Uuid)))
    elif who == "nobody":
        statement = statement.where(_visible_to(None))
    if enabled is not None:
        statement = statement.where(Project.enabled.is_(enabled))
    if "owner_id" in used:
        statement = statement.where(Project.owner_id == sa.bindparam("owner_id"))
    if "q" in used:
        pattern = sa.bindparam("q", type_=sa.Text)
        statement = statement.where(Project.name.ilike(pattern, escape="\\"))
    return statement


# A page of projects, its statements built once per filter shape (see ``Listing``).
LISTING = Listing(
    _listed, allowed_sort=SORTABLE, default_sort=[Project.created_at.desc(), Project.id]
)


async def list_visible(
    session: AsyncSession,
    params: PageParams,
    *,
    user_id: uuid.UUID | None,
    see_all: bool,
    enabled: bool | None,
    owner_id: uuid.UUID | None,
    q: str | None,
) -> Page[Any]:
    """A page of rows with their members (see ``read_visible``) and webhook paths, as dicts."""
    values: dict[str, Any] = {}
    who = "all" if see_all else "user" if user_id is not None else "nobody"
    if who == "user":
        values["user_id"] = user_id
    if owner_id is not None:
        values["owner_id"] = owner_id
    if q:
        values["q"] = f"%{_escape_like(q)}%"
    shape = (who, enabled, *(name for name in ("owner_id", "q") if name in values))
    return await LISTING.page(session, shape, values, params)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def add(session: AsyncSession, row: Project | ProjectMember) -> None:
    session.add(row)
    await _flush(session)


async def flush(session: AsyncSession) -> None:
    await _flush(session)


async def _flush(session: AsyncSession) -> None:
    # Flushing here turns a unique violation into a clear domain error instead of a late
    # failure at commit.
    try:
        await session.flush()
    except IntegrityError as exc:
        raise DuplicateRow(str(exc.orig)) from None


async def delete(session: AsyncSession, row: Project | ProjectMember) -> None:
    await session.delete(row)
    await session.flush()
