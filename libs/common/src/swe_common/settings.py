"""Settings base every service extends.

Each value is read from ``<SERVICE>_<FIELD>`` first (for example ``AUTH_DATABASE_URL``), then
from the platform-wide ``SWE_<FIELD>``, then from the default. A value that does not validate
stops start-up with a message naming the environment variable, never with a traceback.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Self

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class LogFormat(StrEnum):
    json = "json"
    console = "console"


class ServiceSettings(BaseSettings):
    """Configuration shared by every service; a service subclasses it and sets ``env_prefix``."""

    model_config = SettingsConfigDict(env_prefix="SWE_", extra="ignore", frozen=True)
    # The platform-wide prefix read after the service's own one.
    shared_env_prefix: ClassVar[str] = "SWE_"

    service_name: str = "swe"
    environment: Environment = Environment.development
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:5432/swe"
    db_schema: str = Field(default="public", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    # A pooled connection idle this long is pinged (SELECT 1) before use; busier ones are not.
    db_ping_after_idle_seconds: float = Field(default=2.0, ge=0)

    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    events_exchange: str = "swe.events"
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")

    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    # Unset: JSON in production, a readable console elsewhere.
    log_format: LogFormat | None = None
    # Lines below WARNING are written in batches at most this far apart (a write to a pipe
    # wakes its reader: one per access line cost a read by id ~5 % of its CPU); a warning or
    # an error is written at once, with what waited before it. 0: every line at once.
    log_flush_seconds: float = Field(default=0.05, ge=0, le=5)

    jwks_url: str = "http://127.0.0.1:8001/api/v1/auth/.well-known/jwks.json"
    jwt_issuer: str = "swe-auth"
    jwt_audience: str = "swe-platform"
    # Verified tokens are cached for their lifetime (at most this many); a cached token's
    # revocation is re-checked in Redis at most this often (swe_common.security.
    # CachingTokenVerifier; 0: every request, a Redis round trip each). Auth announces each
    # revocation (swe_common.security.follow_revocations), which makes every cached token
    # re-checked at its next use, so a revoked token or API key fails at once; this bounds
    # the time a missed announcement (Redis reconnecting) could let one pass.
    token_cache_size: int = Field(default=10_000, ge=0)
    revocation_recheck_seconds: float = Field(default=1.0, ge=0, le=60)
    cors_origins: list[str] = Field(default_factory=list)
    # The largest request body a service takes (413 problem+json past it, before parsing); a
    # service may allow a path more (ServiceSpec.body_limits).
    max_body_bytes: int = Field(default=1024 * 1024, ge=0)

    outbox_retention_hours: float = Field(default=72.0, gt=0)
    outbox_batch_size: int = Field(default=200, ge=1, le=5000)
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    outbox_relay_lanes: int = Field(default=4, ge=1, le=16)
    consumer_prefetch: int = Field(default=256, ge=1, le=1000)
    consumer_max_attempts: int = Field(default=5, ge=1, le=50)
    consumer_retry_delays_ms: list[int] = Field(default_factory=lambda: [1000, 5000, 30000])
    # How often the queue depths on /metrics (consumer lag, DLQ depth) are read from RabbitMQ.
    queue_metrics_seconds: float = Field(default=15.0, gt=0)
    # /health/detailed names the build: an image sets these (SWE_BUILD_COMMIT, SWE_BUILD_TIME).
    build_commit: str = ""
    build_time: str = ""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("postgresql+psycopg://", "postgresql://")):
            raise ValueError("must be a postgresql:// or postgresql+psycopg:// URL")
        return value.replace("postgresql://", "postgresql+psycopg://", 1)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("env_prefix") != cls.shared_env_prefix:
            sources.append(EnvSettingsSource(settings_cls, env_prefix=cls.shared_env_prefix))
        sources += [dotenv_settings, file_secret_settings]
        return tuple(sources)

    @model_validator(mode="after")
    def _default_log_format(self) -> Self:
        if self.log_format is None:
            chosen = LogFormat.json if self.is_production else LogFormat.console
            object.__setattr__(self, "log_format", chosen)
        return self

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Build settings from the environment, or exit naming every variable that is wrong."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise SystemExit(_describe_invalid(cls, exc)) from None


def _describe_invalid(cls: type[ServiceSettings], exc: ValidationError) -> str:
    prefix = str(cls.model_config.get("env_prefix", ""))
    lines = [f"Invalid configuration for {cls.__name__}:"]
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        variable = f"{prefix}{field}".upper()
        lines.append(f"  {variable} (or SWE_{field.upper()}): {error['msg']}")
    return "\n".join(lines)


def production_secret(key: SecretStr, info: ValidationInfo, placeholder: str) -> SecretStr:
    """For a field validator: a key may keep its development placeholder, but in production it
    must be a real random value (at least 32 characters)."""
    production = info.data.get("environment") == Environment.production
    value = key.get_secret_value()
    if production and (value == placeholder or len(value) < 32):
        raise ValueError("must be a random value of at least 32 characters in production")
    return key
