from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from swe_common.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ISSUES_", extra="ignore", frozen=True)

    service_name: str = "issues"
    port: int = 8004
    db_schema: str = "issues"

    # Consumer queues are "<prefix>.<purpose>"; tests set a unique prefix.
    consumer_queue_prefix: str = Field(
        default="issues", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"
    )

    # The projects service, asked synchronously only when the read model lacks a project.
    projects_url: str = "http://127.0.0.1:8002"
    projects_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    # GitHub's REST API (or a GitHub Enterprise /api/v3 base) for the sync endpoints.
    github_api_url: str = "https://api.github.com"
    github_token: SecretStr | None = None
    github_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
