"""Clients' own events: checked, rate-limited per caller, stored (no projection)."""

from __future__ import annotations

import json
import time
from typing import Any

import structlog
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from swe_analytics.access.service import require_project
from swe_analytics.custom_events.schemas import CustomEventIn
from swe_analytics.ingest.repository import insert_events
from swe_analytics.ingest.service import store_row
from swe_analytics.settings import Settings
from swe_common.errors import AppError, TooManyRequests, Unprocessable
from swe_common.events import CloudEvent
from swe_common.security import Principal

log = structlog.stdlib.get_logger(__name__)


CUSTOM_SOURCE = "/swe/analytics/clients"


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Content Too Large"


async def check_rate(redis: Any, settings: Settings, principal: Principal) -> None:
    """A fixed window per principal; Redis trouble lets the event through (and is logged)."""
    window = settings.custom_events_window_seconds
    now = time.time()
    window_start = int(now // window) * window
    key = f"{settings.redis_key_prefix}:custom-events:{principal.subject}:{window_start}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window + 1)
            count, _ = await pipe.execute()
    except (RedisError, OSError) as exc:
        log.warning("rate_limit_unavailable", error=str(exc))
        return
    if int(count) > settings.custom_events_per_window:
        retry_after = max(1, int(window_start + window - now) + 1)
        raise TooManyRequests(
            f"At most {settings.custom_events_per_window} custom events per {window} s; "
            f"retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


async def record_custom_event(
    session: AsyncSession,
    redis: Any,
    settings: Settings,
    principal: Principal,
    body: CustomEventIn,
) -> CloudEvent:
    try:
        size = len(json.dumps(body.data, separators=(",", ":"), allow_nan=False))
    except ValueError:
        raise Unprocessable(
            "The event's data may not contain NaN or Infinity",
            errors=[{"field": "body.data", "message": "not representable in JSON"}],
        ) from None
    if size > settings.custom_event_max_bytes:
        raise PayloadTooLarge(
            f"The event's data is {size} bytes; the limit is {settings.custom_event_max_bytes}"
        )
    if "\\u0000" in json.dumps(body.data) or "\x00" in (body.subject or ""):
        raise Unprocessable(
            "The event may not contain NUL characters",
            errors=[{"field": "body.data", "message": "contains a NUL character"}],
        )
    if body.project_id is not None:
        await require_project(session, principal, body.project_id)
    await check_rate(redis, settings, principal)
    event = CloudEvent(source=CUSTOM_SOURCE, type=body.type, subject=body.subject, data=body.data)
    # The project is the checked one, never a project_id the client put inside its data.
    row = {**store_row(event, principal.subject[:200]), "project_id": body.project_id}
    await insert_events(session, [row])
    return event
