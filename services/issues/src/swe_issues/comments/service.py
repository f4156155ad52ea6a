"""Comments on issues and pull requests: who may read, write, edit and delete them.

Reading: ``issues.read`` and any relation to the project (else the issue or pull request is a
404, as everywhere). Writing: a writer relation and ``issues.comment``, or
``issues.comment_assigned`` on what is assigned to the caller (the agent role). The author
edits its comment (nobody else: words are not put in someone's mouth) and deletes it under the
rule that let it write one; anyone else deleting it is moderation: ``issues.write`` and a
writer relation (the project's owner and maintainers, admins).
"""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from swe_common.db import utcnow
from swe_common.errors import Forbidden, NotFound
from swe_common.events import EventSpec
from swe_common.pagination import Page, PageParams
from swe_common.permissions import Permission
from swe_common.security import Caller
from swe_issues import events
from swe_issues.comments import repository
from swe_issues.comments.models import Comment
from swe_issues.comments.repository import Parent
from swe_issues.issues.models import Issue
from swe_issues.projects_read_model.service import (
    ensure_may_comment,
    ensure_writer,
    visible_row,
)
from swe_issues.pull_requests.models import PullRequest

# What a comment is on, for messages (404s, 403s).
_LABEL = {"issue": "Issue", "pull_request": "Pull request"}
_WHAT = {"issue": "issues", "pull_request": "pull requests"}
# The name claims an access token may carry, most readable first.
_NAME_CLAIMS = ("name", "preferred_username", "email")
_NAME_MAX = 200


def author_name(caller: Caller) -> str:
    """The caller's name as its token gives it (kept with the comment: a list shows names
    without asking auth); a token naming nobody shows the account id's first characters."""
    for claim in _NAME_CLAIMS:
        value = caller.principal.claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip().replace("\x00", "")[:_NAME_MAX]
    return f"account {caller.subject[:8]}"


async def _parent(
    session: AsyncSession, caller: Caller, parent: Parent, *, lock: bool = False
) -> tuple[Issue | PullRequest, str]:
    """The issue or pull request and the caller's role in its project (404 when hidden)."""
    model: type[Issue] | type[PullRequest] = Issue if parent.kind == "issue" else PullRequest
    row, _, role = await visible_row(
        session, caller, model, parent.id, _LABEL[parent.kind], lock=lock
    )
    return row, role


def _author_id(caller: Caller) -> uuid.UUID:
    if caller.user_id is None:
        raise Forbidden("Only an account can comment; this token names none")
    return caller.user_id


def _ids(comment: Comment) -> dict[str, str | None]:
    return {
        "id": str(comment.id),
        "project_id": str(comment.project_id),
        "issue_id": str(comment.issue_id) if comment.issue_id else None,
        "pull_request_id": str(comment.pull_request_id) if comment.pull_request_id else None,
        "author_id": str(comment.author_id),
    }


def _payload(comment: Comment) -> events.CommentPayload:
    return events.CommentPayload.model_validate(
        {
            **_ids(comment),
            "author_name": comment.author_name,
            "body": comment.body,
            "created_at": comment.created_at,
            "updated_at": comment.updated_at,
        }
    )


async def _publish(
    session: AsyncSession, spec: EventSpec, parent: Parent, payload: Any, comment_id: uuid.UUID
) -> None:
    # Keyed by the parent: a consumer sees an issue's comments in order with the issue's own.
    await events.outbox.publish(
        session, spec, payload, subject=str(comment_id), partition_key=str(parent.id)
    )


async def list_comments(
    session: AsyncSession, caller: Caller, parent: Parent, params: PageParams
) -> Page[Any]:
    await _parent(session, caller, parent)
    return await repository.page(session, parent, params)


async def create_comment(
    session: AsyncSession, caller: Caller, parent: Parent, body: str
) -> Comment:
    # The parent is locked until commit, so it cannot be deleted between this check and the
    # INSERT (which would fail its foreign key).
    row, role = await _parent(session, caller, parent, lock=True)
    ensure_may_comment(role, caller, row.assignee_id, _WHAT[parent.kind])
    now = utcnow()
    comment = await repository.add(
        session,
        Comment(
            project_id=row.project_id,
            issue_id=parent.id if parent.kind == "issue" else None,
            pull_request_id=parent.id if parent.kind == "pull_request" else None,
            author_id=_author_id(caller),
            author_name=author_name(caller),
            body=body,
            # One instant for both: ``edited`` is updated_at > created_at.
            created_at=now,
            updated_at=now,
        ),
    )
    await _publish(session, events.CommentCreated, parent, _payload(comment), comment.id)
    return comment


async def _comment(
    session: AsyncSession, caller: Caller, parent: Parent, comment_id: uuid.UUID
) -> tuple[Comment, Issue | PullRequest, str]:
    row, role = await _parent(session, caller, parent)
    comment = await repository.get_for_update(session, parent, comment_id)
    if comment is None:
        raise NotFound(f"Comment {comment_id} does not exist on {_LABEL[parent.kind].lower()}")
    return comment, row, role


def _is_author(comment: Comment, caller: Caller) -> bool:
    return caller.user_id is not None and comment.author_id == caller.user_id


async def update_comment(
    session: AsyncSession, caller: Caller, parent: Parent, comment_id: uuid.UUID, body: str
) -> Comment:
    comment, row, role = await _comment(session, caller, parent, comment_id)
    if not _is_author(comment, caller):
        raise Forbidden("Only its author can edit a comment")
    ensure_may_comment(role, caller, row.assignee_id, _WHAT[parent.kind])
    if body == comment.body:
        return comment  # nothing changed: not "edited", no event
    comment.body = body
    comment.updated_at = utcnow()
    await session.flush()
    await _publish(session, events.CommentUpdated, parent, _payload(comment), comment.id)
    return comment


async def delete_comment(
    session: AsyncSession, caller: Caller, parent: Parent, comment_id: uuid.UUID
) -> None:
    comment, row, role = await _comment(session, caller, parent, comment_id)
    if _is_author(comment, caller):
        ensure_may_comment(role, caller, row.assignee_id, _WHAT[parent.kind])
    else:
        ensure_writer(role, caller, "others' comments", Permission.ISSUES_WRITE)
    payload = events.CommentDeletedPayload.model_validate(
        {**_ids(comment), "deleted_by": caller.subject}
    )
    await repository.delete(session, comment)
    await _publish(session, events.CommentDeleted, parent, payload, comment.id)
