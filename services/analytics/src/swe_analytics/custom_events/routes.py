"""POST /events: a client's own event, stored in the event store."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from swe_analytics.custom_events import service
from swe_analytics.custom_events.schemas import CustomEventIn, CustomEventOut
from swe_analytics.deps import AnalyticsSettingsDep
from swe_analytics.params import PREFIX
from swe_common.deps import RedisDep, SessionDep
from swe_common.permissions import Permission, require
from swe_common.security import CurrentPrincipal, api_key_scope, require_permission

router = APIRouter(
    prefix=PREFIX,
    tags=["analytics"],
    dependencies=[api_key_scope("analytics"), require_permission(Permission.ANALYTICS_READ)],
)


async def _body_size_cap(request: Request, settings: AnalyticsSettingsDep) -> None:
    # Refuse an oversized body before reading it; the data cap is checked after parsing.
    limit = settings.custom_event_max_bytes * 2 + 4096
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise service.PayloadTooLarge(f"The request body is over {limit} bytes")


@router.post(
    "/events",
    response_model=CustomEventOut,
    status_code=202,
    dependencies=[Depends(_body_size_cap)],
)
async def post_event(
    body: CustomEventIn,
    session: SessionDep,
    redis: RedisDep,
    settings: AnalyticsSettingsDep,
    principal: CurrentPrincipal,
) -> CustomEventOut:
    """Store a client's own event (``custom.<entity>.<verb>``); rate-limited per caller."""
    require(principal, Permission.ANALYTICS_WRITE, "record events")
    event = await service.record_custom_event(session, redis, settings, principal, body)
    return CustomEventOut(id=event.id, type=event.type, time=event.time)
