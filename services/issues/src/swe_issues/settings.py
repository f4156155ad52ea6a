from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from swe_common.settings import ServiceSettings, production_secret

# Only for development: production refuses to start with it.
PLACEHOLDER_TOKEN_KEY = "dev-only-github-token-key-change-me"  # noqa: S105 (a known placeholder)


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
    # Development and tests only: a project's file:// repository (what the agents worker
    # clones there) stands for the GitHub repository ``local/<its directory's name>`` at
    # github_api_url (a fake of GitHub), so a resolver's pull request can be delivered.
    allow_file_repositories: bool = False
    # Seals the per-project GitHub tokens at rest (AES-256-GCM).
    github_token_key: SecretStr = SecretStr(PLACEHOLDER_TOKEN_KEY)

    @field_validator("github_token_key")
    @classmethod
    def _refuse_placeholder_key(cls, key: SecretStr, info: ValidationInfo) -> SecretStr:
        return production_secret(key, info, PLACEHOLDER_TOKEN_KEY)
