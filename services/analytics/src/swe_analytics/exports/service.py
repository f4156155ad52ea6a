"""Exports encoded chunk by chunk: a series' points, or a project's stored events."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from swe_analytics.exports import repository
from swe_analytics.exports.schemas import ExportFormat
from swe_analytics.projections.merges import SEVERITIES
from swe_analytics.timeseries.schemas import Metric, TimeSeries
from swe_analytics.timeseries.service import FINISHED_STATUSES
from swe_common.db import Database

EVENT_COLUMNS = ("event_id", "type", "time", "project_id", "subject", "source", "data")


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.json: "application/json",
    ExportFormat.ndjson: "application/x-ndjson",
}


def _event_record(row: Any) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "type": row.type,
        "time": row.time.isoformat(),
        "project_id": str(row.project_id) if row.project_id else None,
        "subject": row.subject,
        "source": row.source,
        "data": row.data,
    }


class _Encoder:
    """Turns records into one export format, chunk by chunk."""

    def __init__(self, fmt: ExportFormat, columns: Sequence[str]) -> None:
        self.fmt = fmt
        self.columns = columns
        self.first = True

    def head(self) -> bytes:
        if self.fmt is ExportFormat.csv:
            return self._csv([list(self.columns)])
        return b"[" if self.fmt is ExportFormat.json else b""

    def chunk(self, records: Sequence[dict[str, Any]]) -> bytes:
        if not records:
            return b""
        if self.fmt is ExportFormat.csv:
            return self._csv([[_cell(r[c]) for c in self.columns] for r in records])
        lines = [json.dumps(r, separators=(",", ":"), default=str) for r in records]
        if self.fmt is ExportFormat.ndjson:
            return ("\n".join(lines) + "\n").encode()
        text = ("" if self.first else ",") + "\n" + ",\n".join(lines)
        self.first = False
        return text.encode()

    def tail(self) -> bytes:
        return b"\n]\n" if self.fmt is ExportFormat.json else b""

    @staticmethod
    def _csv(rows: list[list[Any]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        return buffer.getvalue().encode()


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    # Spreadsheet formula injection: a cell starting with = + - @ is shown as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


async def export_events(
    db: Database,
    fmt: ExportFormat,
    project_id: uuid.UUID | None,
    start: datetime,
    end: datetime,
    chunk_rows: int,
) -> AsyncIterator[bytes]:
    """The stored events of a project in a range, encoded as they stream from the database."""
    encoder = _Encoder(fmt, EVENT_COLUMNS)
    yield encoder.head()
    async with db.engine.connect() as conn:
        async for rows in repository.stream_events(conn, project_id, start, end, chunk_rows):
            yield encoder.chunk([_event_record(row) for row in rows])
    yield encoder.tail()


POINT_COLUMNS = ("t", "value", "count", "p50", "p90", "p99")


BREAKDOWN_COLUMNS: dict[Metric, tuple[str, tuple[str, ...]]] = {
    Metric.agent_runs: ("by_status", FINISHED_STATUSES),
    Metric.findings: ("by_severity", SEVERITIES),
}


async def export_series(series: TimeSeries, fmt: ExportFormat) -> AsyncIterator[bytes]:
    """The points, a breakdown (runs by status, findings by severity) as a column per part."""
    field, parts = BREAKDOWN_COLUMNS.get(series.metric, ("", ()))
    encoder = _Encoder(fmt, (*POINT_COLUMNS, *parts))
    yield encoder.head()
    records = []
    for p in series.points:
        record = p.model_dump(mode="json", include=set(POINT_COLUMNS))
        breakdown = getattr(p, field, None) if field else None
        records.append(record | {k: (breakdown or {}).get(k, 0) for k in parts})
    for start in range(0, len(records), 1000):
        yield encoder.chunk(records[start : start + 1000])
    yield encoder.tail()
