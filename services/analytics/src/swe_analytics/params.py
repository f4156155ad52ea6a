"""Query parameters shared by the analytics routes: the range, the time zone, the project."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import StringConstraints

from swe_analytics.timeseries.schemas import RangeName
from swe_common.types import NulFree

PREFIX = "/api/v1/analytics"

RangeQuery = Annotated[
    RangeName | None, Query(alias="range", description="A window ending now (default month)")
]
FromQuery = Annotated[
    datetime | None, Query(alias="from", description="Start (ISO 8601); overrides range")
]
ToQuery = Annotated[datetime | None, Query(alias="to", description="End (ISO 8601); default now")]
TzQuery = Annotated[
    Annotated[str, StringConstraints(max_length=64), NulFree()],
    Query(description="IANA time zone for bucketing"),
]
ProjectQuery = Annotated[uuid.UUID | None, Query(description="One project (default: all yours)")]
