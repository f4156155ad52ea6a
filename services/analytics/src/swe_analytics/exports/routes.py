"""Exports: a metric's series or a project's stored events, streamed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from swe_analytics.access.service import require_project
from swe_analytics.deps import AnalyticsSettingsDep, DatabaseDep
from swe_analytics.exports import service
from swe_analytics.exports.schemas import ExportFormat
from swe_analytics.params import PREFIX, FromQuery, ProjectQuery, RangeQuery, ToQuery, TzQuery
from swe_analytics.timeseries.schemas import Interval, Metric, RangeName
from swe_analytics.timeseries.service import make_window, resolve_range, timeseries
from swe_common.deps import SessionDep
from swe_common.errors import Unprocessable
from swe_common.permissions import Permission
from swe_common.security import CurrentPrincipal, api_key_scope, require_permission

router = APIRouter(
    prefix=PREFIX,
    tags=["analytics"],
    dependencies=[api_key_scope("analytics"), require_permission(Permission.ANALYTICS_READ)],
)


@router.get("/export", response_class=StreamingResponse)
async def export(
    db: DatabaseDep,
    settings: AnalyticsSettingsDep,
    session: SessionDep,
    principal: CurrentPrincipal,
    format_: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.csv,
    metric: Annotated[Metric | None, Query(description="Export a metric's series")] = None,
    project_id: ProjectQuery = None,
    range_: RangeQuery = None,
    start: FromQuery = None,
    end: ToQuery = None,
    interval: Interval = Interval.day,
    tz: TzQuery = "UTC",
) -> StreamingResponse:
    """A metric's series, or (without ``metric``) the raw events of a project, streamed.

    ``json`` is one JSON array written element by element; ``ndjson`` one event per line.
    """
    window = make_window(range_=range_, start=start, end=end, interval=interval, tz=tz)
    name = f"analytics-{metric.value if metric else 'events'}.{format_.value}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if metric is not None:
        series = await timeseries(session, principal, metric, window, project_id)
        body = service.export_series(series, format_)
    else:
        if project_id is None and not principal.is_admin:
            raise Unprocessable(
                "Exporting events needs a project_id",
                errors=[{"field": "query.project_id", "message": "required"}],
            )
        if project_id is not None:
            await require_project(session, principal, project_id)
        low, high = resolve_range(range_, start, end, default=RangeName.month)
        body = service.export_events(db, format_, project_id, low, high, settings.export_chunk_rows)
    return StreamingResponse(body, media_type=service.MEDIA_TYPES[format_], headers=headers)
