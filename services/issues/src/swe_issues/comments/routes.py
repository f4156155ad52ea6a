"""HTTP routes of /api/v1/issues/{issue_id}/comments and /api/v1/prs/{pr_id}/comments: the
same four on either parent."""

import uuid
from typing import Any

from fastapi import APIRouter, status

from swe_common.deps import SessionDep
from swe_common.pagination import Page, PageQuery
from swe_common.permissions import Permission
from swe_common.security import api_key_scope, require_permission
from swe_issues.comments import service
from swe_issues.comments.models import Comment
from swe_issues.comments.repository import Parent
from swe_issues.comments.schemas import CommentCreate, CommentOut, CommentUpdate
from swe_issues.deps import CallerDep

# API keys: reading needs issues:read, writing issues:write (the scope guard, by method).
issue_router = APIRouter(
    prefix="/api/v1/issues/{issue_id}/comments",
    tags=["comments"],
    dependencies=[api_key_scope("issues"), require_permission(Permission.ISSUES_READ)],
)
pr_router = APIRouter(
    prefix="/api/v1/prs/{pr_id}/comments",
    tags=["comments"],
    dependencies=[api_key_scope("issues"), require_permission(Permission.ISSUES_READ)],
)


def _out(comment: Comment) -> CommentOut:
    return CommentOut.model_validate(comment)


def _page(result: Page[Any]) -> Page[CommentOut]:
    return Page[CommentOut](
        items=[_out(c) for c in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


# -- on issues ----------------------------------------------------------------------------------


@issue_router.get("", summary="An issue's comments, oldest first")
async def list_issue_comments(
    issue_id: uuid.UUID, session: SessionDep, caller: CallerDep, page: PageQuery
) -> Page[CommentOut]:
    parent = Parent("issue", issue_id)
    return _page(await service.list_comments(session, caller, parent, page))


@issue_router.post("", status_code=status.HTTP_201_CREATED, summary="Comment on an issue")
async def create_issue_comment(
    issue_id: uuid.UUID, body: CommentCreate, session: SessionDep, caller: CallerDep
) -> CommentOut:
    parent = Parent("issue", issue_id)
    return _out(await service.create_comment(session, caller, parent, body.body))


@issue_router.patch("/{comment_id}", summary="Edit one's comment on an issue")
async def update_issue_comment(
    issue_id: uuid.UUID,
    comment_id: uuid.UUID,
    body: CommentUpdate,
    session: SessionDep,
    caller: CallerDep,
) -> CommentOut:
    parent = Parent("issue", issue_id)
    return _out(await service.update_comment(session, caller, parent, comment_id, body.body))


@issue_router.delete(
    "/{comment_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a comment"
)
async def delete_issue_comment(
    issue_id: uuid.UUID, comment_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> None:
    await service.delete_comment(session, caller, Parent("issue", issue_id), comment_id)


# -- on pull requests ---------------------------------------------------------------------------


@pr_router.get("", summary="A pull request's comments, oldest first")
async def list_pr_comments(
    pr_id: uuid.UUID, session: SessionDep, caller: CallerDep, page: PageQuery
) -> Page[CommentOut]:
    parent = Parent("pull_request", pr_id)
    return _page(await service.list_comments(session, caller, parent, page))


@pr_router.post("", status_code=status.HTTP_201_CREATED, summary="Comment on a pull request")
async def create_pr_comment(
    pr_id: uuid.UUID, body: CommentCreate, session: SessionDep, caller: CallerDep
) -> CommentOut:
    parent = Parent("pull_request", pr_id)
    return _out(await service.create_comment(session, caller, parent, body.body))


@pr_router.patch("/{comment_id}", summary="Edit one's comment on a pull request")
async def update_pr_comment(
    pr_id: uuid.UUID,
    comment_id: uuid.UUID,
    body: CommentUpdate,
    session: SessionDep,
    caller: CallerDep,
) -> CommentOut:
    parent = Parent("pull_request", pr_id)
    return _out(await service.update_comment(session, caller, parent, comment_id, body.body))


@pr_router.delete(
    "/{comment_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a comment"
)
async def delete_pr_comment(
    pr_id: uuid.UUID, comment_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> None:
    await service.delete_comment(session, caller, Parent("pull_request", pr_id), comment_id)
