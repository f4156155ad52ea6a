"""HTTP routes of /api/v1/issues/{issue_id}/comments and /api/v1/prs/{pr_id}/comments: the
same four on either parent, made by one function."""

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from swe_common.deps import SessionDep
from swe_common.pagination import Page, PageQuery
from swe_common.permissions import Permission
from swe_common.security import api_key_scope, require_permission
from swe_issues.comments import service
from swe_issues.comments.models import Comment
from swe_issues.comments.repository import Parent, ParentKind
from swe_issues.comments.schemas import CommentCreate, CommentOut, CommentUpdate
from swe_issues.deps import CallerDep


def _out(comment: Comment) -> CommentOut:
    return CommentOut.model_validate(comment)


def _page(result: Page[Any]) -> Page[CommentOut]:
    return Page[CommentOut](
        items=[_out(c) for c in result.items],
        total=result.total,
        limit=result.limit,
        offset=result.offset,
    )


def _operation_id(name: str, path: str, method: str) -> str:
    """FastAPI's own default (route name, path, method), written out: the endpoints below are
    made once for both parents, and the console's generated client is named after these ids
    (``listIssueCommentsApiV1IssuesIssueIdCommentsGet``)."""
    return re.sub(r"\W", "_", f"{name}{path}") + f"_{method}"


def _router(kind: ParentKind, collection: str, param: str, slug: str, noun: str) -> APIRouter:
    """The four routes on the comments of one kind of parent, under
    ``/api/v1/{collection}/{param}/comments``; ``slug`` names the operations
    (``list_{slug}_comments``), ``noun`` is the parent in their summaries ("an issue")."""
    prefix = f"/api/v1/{collection}/{{{param}}}/comments"
    one = f"{prefix}/{{comment_id}}"
    # API keys: reading needs issues:read, writing issues:write (the scope guard, by method).
    router = APIRouter(
        prefix=prefix,
        tags=["comments"],
        dependencies=[api_key_scope("issues"), require_permission(Permission.ISSUES_READ)],
    )
    # The path parameter keeps the parent's name (issue_id, pr_id) in the API document.
    ParentId = Annotated[uuid.UUID, Path(alias=param)]

    @router.get(
        "",
        summary=f"{noun[:1].upper()}{noun[1:]}'s comments, oldest first",
        operation_id=_operation_id(f"list_{slug}_comments", prefix, "get"),
    )
    async def list_comments(
        parent_id: ParentId, session: SessionDep, caller: CallerDep, page: PageQuery
    ) -> Page[CommentOut]:
        parent = Parent(kind, parent_id)
        return _page(await service.list_comments(session, caller, parent, page))

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        summary=f"Comment on {noun}",
        operation_id=_operation_id(f"create_{slug}_comment", prefix, "post"),
    )
    async def create_comment(
        parent_id: ParentId, body: CommentCreate, session: SessionDep, caller: CallerDep
    ) -> CommentOut:
        parent = Parent(kind, parent_id)
        return _out(await service.create_comment(session, caller, parent, body.body))

    @router.patch(
        "/{comment_id}",
        summary=f"Edit one's comment on {noun}",
        operation_id=_operation_id(f"update_{slug}_comment", one, "patch"),
    )
    async def update_comment(
        parent_id: ParentId,
        comment_id: uuid.UUID,
        body: CommentUpdate,
        session: SessionDep,
        caller: CallerDep,
    ) -> CommentOut:
        parent = Parent(kind, parent_id)
        return _out(await service.update_comment(session, caller, parent, comment_id, body.body))

    @router.delete(
        "/{comment_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        summary="Delete a comment",
        operation_id=_operation_id(f"delete_{slug}_comment", one, "delete"),
    )
    async def delete_comment(
        parent_id: ParentId, comment_id: uuid.UUID, session: SessionDep, caller: CallerDep
    ) -> None:
        await service.delete_comment(session, caller, Parent(kind, parent_id), comment_id)

    return router


issue_router = _router("issue", "issues", "issue_id", "issue", "an issue")
pr_router = _router("pull_request", "prs", "pr_id", "pr", "a pull request")
