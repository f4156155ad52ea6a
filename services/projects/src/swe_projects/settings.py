"""Configuration of the projects service (environment prefix ``PROJECTS_``)."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import SettingsConfigDict

from swe_common.settings import ServiceSettings, production_secret

# GitHub caps webhook payloads at 25 MB; the gateway's webhook route takes the same (routes.toml).
GITHUB_MAX_PAYLOAD = 25 * 1024 * 1024

# Only for development: production refuses to start with it (see _refuse_placeholder_key).
PLACEHOLDER_SECRET_KEY = "dev-only-webhook-secret-key-change-me"  # noqa: S105 (a known placeholder)
_HOST = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROJECTS_", extra="ignore", frozen=True)

    service_name: str = "projects"
    port: int = 8002
    db_schema: str = "projects"

    # file:// repositories are for development and tests only.
    allow_file_repositories: bool = False
    # JSON list of GitHub Enterprise host names, e.g. ["ghe.example.com"].
    github_enterprise_hosts: list[str] = Field(default_factory=list)
    # Key that encrypts per-project webhook secrets at rest (any long random string).
    webhook_secret_key: SecretStr = SecretStr(PLACEHOLDER_SECRET_KEY)
    # A delivery GitHub sends is never refused for its size: GitHub does not resend it.
    webhook_max_body_bytes: int = Field(default=GITHUB_MAX_PAYLOAD, ge=1024, le=GITHUB_MAX_PAYLOAD)
    # Signed deliveries one project may send per minute (checked after the signature; GitHub
    # does not retry a refused delivery, so this is far above what a busy repository sends).
    webhook_rate_limit_per_minute: int = Field(default=600, ge=1)
    # How long delivery ids are remembered for de-duplication.
    webhook_delivery_retention_days: float = Field(default=30.0, gt=0, le=3650)

    @field_validator("github_enterprise_hosts")
    @classmethod
    def _valid_hosts(cls, hosts: list[str]) -> list[str]:
        cleaned = [host.strip().lower() for host in hosts]
        bad = [host for host in cleaned if not _HOST.match(host)]
        if bad:
            raise ValueError(f"not host names: {', '.join(bad)}")
        return cleaned

    @field_validator("webhook_secret_key")
    @classmethod
    def _refuse_placeholder_key(cls, key: SecretStr, info: ValidationInfo) -> SecretStr:
        return production_secret(key, info, PLACEHOLDER_SECRET_KEY)

    @property
    def repository_hosts(self) -> tuple[str, ...]:
        return ("github.com", *self.github_enterprise_hosts)
