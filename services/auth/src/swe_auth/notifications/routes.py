"""My opt-in mail notices."""

from __future__ import annotations

from fastapi import APIRouter

from swe_auth.deps import ActorDep, RuntimeDep
from swe_auth.notifications import service
from swe_auth.notifications.schemas import NoticePreferences, NoticePreferencesUpdate
from swe_common.deps import SessionDep
from swe_common.security import api_key_scope

router = APIRouter(
    prefix="/api/v1/auth/me/notifications",
    tags=["accounts"],
    dependencies=[api_key_scope(None)],
)


@router.get("", response_model=NoticePreferences, summary="The notices I get by mail")
async def get_preferences(actor: ActorDep, session: SessionDep) -> NoticePreferences:
    return NoticePreferences(**await service.get(session, actor.user_id))


@router.patch("", response_model=NoticePreferences, summary="Turn notices on or off")
async def update_preferences(
    body: NoticePreferencesUpdate, actor: ActorDep, session: SessionDep, runtime: RuntimeDep
) -> NoticePreferences:
    changes = body.model_dump(exclude_unset=True)
    return NoticePreferences(**await service.update(session, runtime, actor.user_id, changes))
