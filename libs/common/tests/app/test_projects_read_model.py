"""The projects read model every service keeps (issues, agents), tested once on a table of its
own: snapshots applied in any order leave the newest, a deletion is a tombstone no late event
undoes, member events change the members, a fallback lookup and the event bringing the same new
project at once both succeed, and access follows owner, members and the tombstone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

from swe_common import projects_read_model as read_model
from swe_common.db import Database
from swe_common.projects_read_model import (
    MemberAdded,
    MemberRemoved,
    ProjectReadModelMixin,
    ProjectSnapshot,
)
from swe_common.security import Principal
from swe_common.settings import ServiceSettings
from swe_common.testing import eventually

SCHEMA = "readmodeltest"


class Base(DeclarativeBase):
    metadata = sa.MetaData(schema=SCHEMA)


class ProjectView(ProjectReadModelMixin, Base):
    __tablename__ = "project_views"


@pytest.fixture(scope="module")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(ServiceSettings(database_url=database_url, db_schema=SCHEMA))
    async with database.engine.begin() as conn:
        await conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        await conn.run_sync(Base.metadata.create_all)
    yield database
    await database.dispose()


def snapshot(project_id: uuid.UUID, owner: uuid.UUID, at: str, **extra: Any) -> ProjectSnapshot:
    return ProjectSnapshot.model_validate(
        {
            "id": str(project_id),
            "owner_id": str(owner),
            "name": "p",
            "members": [],
            "updated_at": f"2026-11-25T10:00:{at}+00:00",
            **extra,
        }
    )


def user(subject: uuid.UUID, *roles: str) -> Principal:
    return Principal(subject=str(subject), roles=frozenset(roles or ("user",)))


async def row(db: Database, project_id: uuid.UUID) -> ProjectView | None:
    async with db.sessionmaker() as session:
        return await read_model.get(session, ProjectView, project_id)


async def apply(db: Database, *snapshots: ProjectSnapshot) -> None:
    for one in snapshots:
        async with db.transaction() as session:
            await read_model.upsert_snapshot(session, ProjectView, one)


async def test_snapshots_applied_out_of_order_leave_the_newest(db):
    project_id, owner = uuid.uuid4(), uuid.uuid4()
    newer = snapshot(project_id, owner, "02", name="renamed")
    await apply(db, newer, snapshot(project_id, owner, "01", name="first"))
    held = await row(db, project_id)
    assert held is not None and held.name == "renamed"


async def test_a_deleted_project_stays_deleted_when_a_late_snapshot_arrives(db):
    project_id, owner = uuid.uuid4(), uuid.uuid4()
    await apply(db, snapshot(project_id, owner, "01"))
    async with db.transaction() as session:
        await read_model.mark_deleted(session, ProjectView, project_id, owner)
    async with db.transaction() as session:
        late = snapshot(project_id, owner, "05", name="back from the dead")
        assert await read_model.upsert_snapshot(session, ProjectView, late) is None
    held = await row(db, project_id)
    assert held is not None and held.deleted_at is not None and held.name == "p"
    assert read_model.role_in(held, user(owner)) is None


async def test_a_deletion_seen_before_the_project_leaves_a_tombstone(db):
    project_id, owner = uuid.uuid4(), uuid.uuid4()
    async with db.transaction() as session:
        await read_model.mark_deleted(session, ProjectView, project_id, None)
    await apply(db, snapshot(project_id, owner, "01"))
    held = await row(db, project_id)
    assert held is not None and held.deleted_at is not None


async def test_member_events_add_change_and_remove_a_member(db):
    project_id, owner, member = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await apply(db, snapshot(project_id, owner, "01"))
    added = MemberAdded(project_id=project_id, user_id=str(member), role="viewer")
    promoted = MemberAdded(project_id=project_id, user_id=str(member), role="maintainer")
    async with db.transaction() as session:
        assert await read_model.add_member(session, ProjectView, added)
        assert await read_model.add_member(session, ProjectView, promoted)
    held = await row(db, project_id)
    assert held is not None and held.members == [{"user_id": str(member), "role": "maintainer"}]
    assert read_model.role_in(held, user(member)) == "maintainer"
    async with db.transaction() as session:
        gone = MemberRemoved(project_id=project_id, user_id=str(member))
        assert await read_model.remove_member(session, ProjectView, gone)
    held = await row(db, project_id)
    assert held is not None and read_model.role_in(held, user(member)) is None


async def test_a_member_event_for_an_unknown_project_changes_nothing(db):
    unknown = uuid.uuid4()
    event = MemberAdded(project_id=unknown, user_id=str(uuid.uuid4()), role="viewer")
    async with db.transaction() as session:
        assert not await read_model.add_member(session, ProjectView, event)
    assert await row(db, unknown) is None


async def test_a_snapshot_without_members_keeps_the_members_held(db):
    project_id, owner, member = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    members = [{"user_id": str(member), "role": "viewer"}]
    await apply(db, snapshot(project_id, owner, "01", members=members))
    await apply(db, snapshot(project_id, owner, "02", members=None, name="renamed"))
    held = await row(db, project_id)
    assert held is not None and (held.name, held.members) == ("renamed", members)


async def _waits_for_a_lock(db: Database) -> bool:
    """Whether a transaction in this database waits for a lock another one holds."""
    async with db.engine.connect() as conn:
        waiting = await conn.scalar(
            sa.text(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE NOT l.granted AND a.datname = current_database()"
            )
        )
    return bool(waiting)


async def test_the_lookup_and_the_projects_event_bringing_a_new_project_at_once_both_succeed(db):
    """A request's fallback lookup and the projects event can insert the same new project in
    two transactions at the same moment: the second waits and updates, it never fails (a
    failure answered the user's "create agent" with 409 right after creating the project)."""
    project_id, owner = uuid.uuid4(), uuid.uuid4()
    first_seen = snapshot(project_id, owner, "00")
    newer = snapshot(project_id, owner, "01", name="renamed")
    async with db.transaction() as first, db.transaction() as second:
        await read_model.upsert_snapshot(first, ProjectView, first_seen)
        await first.flush()  # the first holds the new row, uncommitted
        waiting = asyncio.ensure_future(read_model.upsert_snapshot(second, ProjectView, newer))
        await eventually(lambda: _waits_for_a_lock(db), timeout=10)
        assert not waiting.done()  # blocked on the first's row, not failed
        await first.commit()
        project = await asyncio.wait_for(waiting, 10)
        assert project is not None and project.name == "renamed"
        assert project.snapshot_updated_at is not None
        assert project.snapshot_updated_at.isoformat() == "2026-11-25T10:00:01+00:00"


async def test_the_visible_projects_are_the_live_ones_owned_or_shared(db):
    owner, member, stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    owned, shared, deleted = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    viewer = [{"user_id": str(member), "role": "viewer"}]
    await apply(
        db,
        snapshot(owned, owner, "01"),
        snapshot(shared, uuid.uuid4(), "01", members=viewer),
        snapshot(deleted, owner, "01"),
    )
    async with db.transaction() as session:
        await read_model.mark_deleted(session, ProjectView, deleted, owner)

    async def visible(subject: str | None) -> set[uuid.UUID]:
        ids = read_model.visible_project_ids(ProjectView, subject)
        mine = sa.select(ProjectView.id).where(
            ProjectView.id.in_([owned, shared, deleted]), ProjectView.id.in_(ids)
        )
        async with db.sessionmaker() as session:
            return set((await session.scalars(mine)).all())

    assert await visible(str(owner)) == {owned}
    assert await visible(str(member)) == {shared}
    assert await visible(str(stranger)) == set()
    assert await visible("not-a-uuid") == set()
    assert await visible(None) == {owned, shared}


def test_a_visibility_worked_out_once_is_a_new_dict_for_each_caller():
    subject = str(uuid.uuid4())
    shape, values = read_model.visibility(subject)
    values["project_id"] = "added by one request"
    again_shape, again = read_model.visibility(subject)
    assert (shape, again_shape) == ("owner", "owner")
    member = f'[{{"user_id": "{subject}"}}]'
    assert again == {"visible_owner": uuid.UUID(subject), "visible_member": member}
    ci = ("other", {"visible_member": '[{"user_id": "service:ci"}]'})
    assert read_model.visibility("service:ci") == ci
    assert read_model.visibility(None) == ("all", {})
