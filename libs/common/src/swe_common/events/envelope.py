"""The CloudEvents 1.0 envelope every domain event travels in (structured JSON mode).

Extension attributes (lower-case, as CloudEvents requires): ``correlationid`` and
``traceparent`` carry the request that caused the event, ``schemaversion`` the integer version
of the payload (additive changes only within a version), ``partitionkey`` the aggregate whose
events must stay in order.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from swe_common.context import current_trace

EVENT_TYPE_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"
_EVENT_TYPE = re.compile(EVENT_TYPE_PATTERN)
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json"


class CloudEvent(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    source: str
    type: str = Field(pattern=EVENT_TYPE_PATTERN)
    specversion: str = "1.0"
    time: datetime = Field(default_factory=lambda: datetime.now(UTC))
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: dict[str, Any] = Field(default_factory=dict)
    schemaversion: int = 1
    correlationid: str | None = None
    traceparent: str | None = None
    partitionkey: str | None = None

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json(cls, body: bytes) -> CloudEvent:
        return cls.model_validate_json(body)


def build_event(
    *,
    source: str,
    type_: str,
    data: BaseModel | dict[str, Any],
    subject: str | None = None,
    partition_key: str | None = None,
    schema_version: int = 1,
) -> CloudEvent:
    """A new event stamped with the current request's correlation id and trace context."""
    if not _EVENT_TYPE.match(type_):
        raise ValueError(f"event type {type_!r} is not <service>.<entity>.<verb>")
    payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else data
    trace = current_trace()
    return CloudEvent(
        source=source,
        type=type_,
        subject=subject,
        data=payload,
        schemaversion=schema_version,
        correlationid=trace.correlation_id or trace.request_id,
        traceparent=trace.traceparent,
        partitionkey=partition_key or subject,
    )
