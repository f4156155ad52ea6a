from pydantic import Field
from pydantic_settings import SettingsConfigDict

from swe_common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore", frozen=True)

    service_name: str = "analytics"
    port: int = 8005
    db_schema: str = "analytics"
    # The queue of every event analytics keeps; a second stack on one broker needs its own.
    events_queue: str = Field(
        default="analytics.events", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$"
    )

    # Consumed events are ingested in batches of the messages in hand, up to this many per
    # transaction; the prefetch bounds the messages in hand.
    events_batch_max: int = Field(default=100, ge=1, le=1000)
    consumer_prefetch: int = Field(default=200, ge=1, le=1000)

    # Custom client events (POST /events): a fixed window per principal, kept in Redis.
    custom_events_per_window: int = Field(default=120, ge=1)
    custom_events_window_seconds: int = Field(default=60, ge=1, le=3600)
    custom_event_max_bytes: int = Field(default=16_384, ge=256, le=1_048_576)
    redis_key_prefix: str = Field(default="swe:analytics", min_length=1, max_length=100)
    # Stored events `swe-analytics rebuild` fetches per round trip (it runs in one transaction).
    rebuild_batch_size: int = Field(default=5_000, ge=1, le=100_000)
    # Rows fetched per round trip when streaming an export.
    export_chunk_rows: int = Field(default=1_000, ge=10, le=50_000)
