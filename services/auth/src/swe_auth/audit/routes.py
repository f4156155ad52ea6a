"""The audit trail, for administrators."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import StringConstraints

from swe_auth.audit import repository
from swe_auth.audit.schemas import AuditEventOut
from swe_auth.deps import AdminDep
from swe_auth.models import AuditEvent
from swe_common.deps import SessionDep
from swe_common.pagination import Page, PageQuery, paginate
from swe_common.security import api_key_scope
from swe_common.types import NulFree

Action = Annotated[str, StringConstraints(max_length=64), NulFree()]

router = APIRouter(prefix="/api/v1/auth/admin", tags=["admin"], dependencies=[api_key_scope(None)])


@router.get("/audit", response_model=Page[AuditEventOut], summary="Security events, newest first")
async def list_audit(
    _admin: AdminDep,
    session: SessionDep,
    page: PageQuery,
    user_id: uuid.UUID | None = None,
    action: Annotated[Action | None, Query()] = None,
    outcome: Literal["success", "failure"] | None = None,
) -> Page[AuditEventOut]:
    return await paginate(
        session,
        repository.list_statement(user_id, action, outcome),
        page,
        allowed_sort=repository.SORTABLE,
        default_sort=[AuditEvent.at.desc(), AuditEvent.id],
        to_item=AuditEventOut.model_validate,
    )
