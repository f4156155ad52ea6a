"""Auth settings: ``AUTH_<NAME>`` then ``SWE_<NAME>`` then the default."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from swe_common.rate_budgets import (
    DEFAULT_ROLE_BUDGETS,
    Budget,
    Requests,
    default_role_budgets,
    strongest_role,
)
from swe_common.settings import ServiceSettings

# Values that mean "nobody set this": refused in production.
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "change_me",
        "secret",
        "dev",
        "development",
        "test",
        "placeholder",
    }
)


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", frozen=True)

    service_name: str = "auth"
    port: int = 8001
    db_schema: str = "auth"

    # Encrypts signing keys and TOTP secrets at rest; a Fernet key or any long random string.
    key_encryption_key: SecretStr = SecretStr("")

    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    api_key_token_ttl_seconds: int = Field(default=300, ge=30, le=3_600)
    # The gateway's per-role request budgets (swe_common.rate_budgets; SWE_RATE_LIMITS sets
    # both): an API key's own budget may not exceed its owner's. A plain number is per minute.
    rate_limits: dict[str, Requests | Budget] = Field(default_factory=default_role_budgets)
    refresh_idle_ttl_seconds: int = Field(default=7 * 86_400, ge=300)
    refresh_absolute_ttl_seconds: int = Field(default=30 * 86_400, ge=300)
    # Two refreshes of one token this close together are a race (two tabs), not a theft.
    refresh_reuse_grace_seconds: float = Field(default=2.0, ge=0, le=60)
    password_reset_ttl_seconds: int = Field(default=1_800, ge=60, le=86_400)
    email_verification_ttl_seconds: int = Field(default=86_400, ge=300, le=30 * 86_400)
    verification_resends_per_minute: int = Field(default=3, ge=1)
    # Old public keys stay in the JWKS this long after a newer key took over.
    retired_key_grace_seconds: int = Field(default=0, ge=0)

    password_min_length: int = Field(default=12, ge=8, le=64)
    password_max_length: int = Field(default=128, ge=64, le=1_024)
    password_require_composition: bool = False
    # Argon2id at OWASP's minimum: 19 MiB, 2 passes, parallelism 1.
    argon2_memory_kib: int = Field(default=19_456, ge=8_192)
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_parallelism: int = Field(default=1, ge=1)
    # Each hash holds argon2_memory_kib of RAM and a core: cap how many run at once.
    hash_concurrency: int = Field(default=2, ge=1, le=64)

    # Failed sign-ins slow down one account+address pair (never lock the account for all):
    # after this many failures within the window, the pair waits login_throttle_delay_seconds,
    # doubling with each further failure up to the maximum.
    login_throttle_failures: int = Field(default=5, ge=1)
    login_throttle_delay_seconds: int = Field(default=30, ge=1)
    login_throttle_max_delay_seconds: int = Field(default=900, ge=1)
    # A distributed guess (this many distinct addresses failing on one account within the
    # window) hard-locks the account for lockout_duration_seconds; a password reset, or the
    # right password from an address this account signed in from within known_address_days,
    # still gets the owner in.
    lockout_distinct_addresses: int = Field(default=10, ge=2)
    lockout_window_seconds: int = Field(default=900, ge=1)
    lockout_duration_seconds: int = Field(default=1_800, ge=1)
    known_address_days: int = Field(default=90, ge=1)
    login_rate_limit_per_minute: int = Field(default=30, ge=1)
    # Peers whose X-Forwarded-For is believed (the gateway); loopback by default, so logins
    # through a local gateway are limited per real client, not all together.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    # Prepended to every Redis key auth writes; empty in deployments (the gateway reads them).
    redis_key_prefix: str = ""
    # After a failed Redis write, how often the background loop copies revocations back.
    revocation_resync_seconds: float = Field(default=5.0, gt=0, le=300)

    github_client_id: str = ""
    github_client_secret: SecretStr = SecretStr("")
    github_base_url: str = "https://github.com"
    github_api_url: str = "https://api.github.com"
    github_redirect_uri: str = "http://127.0.0.1:8001/api/v1/auth/github/callback"
    github_timeout_seconds: float = Field(default=10.0, gt=0)

    # Mail (swe_auth.mail): SMTP to send through; "log" only logs who would get what (no body,
    # no link: those carry tokens). Links in mails point at the web console's pages.
    mail_backend: Literal["smtp", "log"] = "smtp"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65_535)
    # none: plain SMTP (a local relay); starttls: upgrade after EHLO; tls: implicit TLS (465).
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # A PEM bundle to trust instead of the system's (a private CA); empty: the system's.
    smtp_ca_file: str = ""
    # Auth's consumer queues are <prefix>.mail and <prefix>.projects.
    consumer_queue_prefix: str = Field(default="auth", pattern=r"^[A-Za-z0-9_-]+$")
    mail_from: str = "SWE platform <noreply@localhost>"
    console_base_url: str = "http://127.0.0.1:8000"

    # Bootstrap: when both are set and no admin exists, startup creates this admin.
    bootstrap_admin_email: str = ""
    bootstrap_admin_username: str = ""
    bootstrap_admin_password: SecretStr = SecretStr("")

    @field_validator("rate_limits", mode="after")
    @classmethod
    def _over_defaults(cls, value: dict[str, int | Budget]) -> dict[str, int | Budget]:
        return {**DEFAULT_ROLE_BUDGETS, **value}

    def role_budget(self, roles: list[str]) -> dict[str, int]:
        """The budget of the strongest of ``roles`` (window -> requests)."""
        budget = self.rate_limits[strongest_role(roles)]
        if isinstance(budget, int):
            return {"minute": budget}
        return {str(window): limit for window, limit in budget.items()}

    @model_validator(mode="after")
    def _production_secrets(self) -> Self:
        if self.is_production:
            kek = self.key_encryption_key.get_secret_value()
            if kek.strip().lower() in PLACEHOLDER_SECRETS or len(kek) < 32:
                raise ValueError(
                    "AUTH_KEY_ENCRYPTION_KEY must be set to a random value of at least 32 "
                    "characters in production (python -c 'from cryptography.fernet import "
                    "Fernet; print(Fernet.generate_key().decode())')"
                )
        if self.smtp_username and self.smtp_security == "none" and self.is_production:
            raise ValueError(
                "AUTH_SMTP_USERNAME is set but AUTH_SMTP_SECURITY is none: the SMTP password "
                "would cross the network in clear; set AUTH_SMTP_SECURITY to starttls or tls"
            )
        if self.refresh_absolute_ttl_seconds < self.refresh_idle_ttl_seconds:
            raise ValueError("refresh_absolute_ttl_seconds must be >= refresh_idle_ttl_seconds")
        return self

    @property
    def revocation_ttl_seconds(self) -> int:
        """How long a revocation matters: until the longest-lived access token has expired."""
        return max(self.access_token_ttl_seconds, self.api_key_token_ttl_seconds) + 120

    @property
    def github_enabled(self) -> bool:
        return bool(self.github_client_id and self.github_client_secret.get_secret_value())
