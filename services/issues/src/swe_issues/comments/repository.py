"""Queries on comments."""

import uuid
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.pagination import Page, PageParams, paginate
from swe_issues.comments.models import Comment

SORTABLE: dict[str, Any] = {"created_at": Comment.created_at}
# Oldest first: a conversation reads from the top (the id orders two of the same instant).
DEFAULT_SORT = (Comment.created_at, Comment.id)

ParentKind = Literal["issue", "pull_request"]


@dataclass(frozen=True, slots=True)
class Parent:
    """What comments are on: an issue or a pull request."""

    kind: ParentKind
    id: uuid.UUID

    def holds(self) -> sa.ColumnElement[bool]:
        column = Comment.issue_id if self.kind == "issue" else Comment.pull_request_id
        return column == self.id


async def page(session: AsyncSession, parent: Parent, params: PageParams) -> Page[Any]:
    return await paginate(
        session,
        sa.select(Comment).where(parent.holds()),
        params,
        allowed_sort=SORTABLE,
        default_sort=DEFAULT_SORT,
    )


async def get_for_update(
    session: AsyncSession, parent: Parent, comment_id: uuid.UUID
) -> Comment | None:
    """The comment, only under its own parent (another parent's comment id is not found)."""
    return await session.scalar(
        sa.select(Comment).where(Comment.id == comment_id, parent.holds()).with_for_update()
    )


async def add(session: AsyncSession, comment: Comment) -> Comment:
    session.add(comment)
    await session.flush()
    return comment


async def delete(session: AsyncSession, comment: Comment) -> None:
    await session.delete(comment)
    await session.flush()
